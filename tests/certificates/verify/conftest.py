"""Fixtures: certificates in the register, built from the pure core with the issuer's key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from certificates import issuer
from certificates import operations as ops
from certificates.credentials import codes
from certificates.credentials import status_list as bits
from certificates.credentials.openbadges import (
    AchievementSnapshot,
    CredentialSnapshot,
    IssuerSnapshot,
    Result,
    ResultDescription,
    SubjectSnapshot,
    ecf_alignment,
    issue_credential,
    new_salt,
)
from certificates.models import Certificate, CertificateStatus, Scheme, StatusList
from certificates.pdf import CertificatePDF, CertificateSnapshot, CompetencyLine, embed_credential
from certificates.verify.register import record_issued
from lms.db import utcnow
from lms.pdfsign import sign_pdf

HOLDER = 'Иван Петров <b>&</b> "Ivo"'


@dataclass
class Issued:
    """A certificate in the register, with the bytes a holder would have."""

    certificate: Certificate
    credential: dict
    pdf: bytes
    rendered: bytes  # the page as drawn, before the credential was attached and signed

    @property
    def code(self) -> str:
        return self.certificate.code

    @property
    def credential_bytes(self) -> bytes:
        return json.dumps(self.credential, ensure_ascii=False).encode()


@pytest.fixture
def status_list_row(db):
    """The current revocation list, published and signed."""
    return ops.current_status_list()


@pytest.fixture
def legacy_status_list_row(db):
    """A two-bit ``message`` list as issued before the DID, published and signed."""
    row = StatusList(
        purpose=bits.MESSAGE_PURPOSE,
        bits=bits.StatusList(bits.MIN_ENTRIES, bits.MESSAGE_STATUS_SIZE).to_bytes(),
    )
    db.session.add(row)
    db.session.flush()
    ops.refresh_status_list(row)  # an unsigned list is due: this signs it
    return row


@pytest.fixture
def scheme(db):
    row = Scheme(code="SC-PM", title_en="Smart City Project Manager", title_bg="Мениджър")
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def make_certificate(db, make_user, scheme, status_list_row, legacy_status_list_row):
    """Issue a certificate from the pure core: ``make_certificate(name=..., valid_until=...)``.

    Its check is recorded in the register as issuance records it, unless ``recorded=False``.
    With ``legacy=True`` it is one issued before the DID: issuer ``<BASE_URL>/issuer``,
    key ``<BASE_URL>/issuer#z6Mk...`` and a two-bit entry on a ``message`` list.
    """

    def make(
        *,
        name: str = HOLDER,
        email: str | None = None,
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | str | None = "default",
        legacy: bool = False,
        recorded: bool = True,
    ) -> Issued:
        user = make_user(name=name, email=email)
        now = utcnow()
        valid_from = valid_from or now - timedelta(days=1)
        if valid_until == "default":
            valid_until = valid_from + timedelta(days=3 * 365)
        code = codes.generate_code()
        key = issuer.current_signing_key()
        if legacy:
            list_row = legacy_status_list_row
            used = {c.status_index for c in db.session.query(Certificate).all()}
            index = max(used | {0}) + 1
            issuer_id = issuer.issuer_url()
            method = issuer.legacy_verification_method_url(key.public_multikey)
            entry = bits.status_entry(
                issuer.status_list_url(list_row.id),
                index,
                purpose=bits.MESSAGE_PURPOSE,
                status_size=bits.MESSAGE_STATUS_SIZE,
            )
        else:
            list_row, index = ops.allocate_status_index(now)
            issuer_id, method = issuer.issuer_did(), key.verification_method
            entry = bits.status_entry(issuer.status_list_url(list_row.id), index)
        achievement_id = issuer.achievement_url(scheme.code)
        snapshot = CredentialSnapshot(
            id=issuer.credential_url(code),
            name=scheme.title_en,
            issuer=IssuerSnapshot(id=issuer_id, name="Skills4Cities Centre", url=issuer.base_url()),
            achievement=AchievementSnapshot(
                id=achievement_id,
                name=scheme.title_en,
                description="Plans and manages smart-city projects.",
                criteria="Pass the course and reach level 3 in E.2.",
                human_code=scheme.code,
                result_descriptions=(
                    ResultDescription(
                        id=f"{achievement_id}#competency-E.2",
                        name="E.2: Project and Portfolio Management",
                        result_type="PerformanceLevel",
                        required_value="3",
                        alignments=(ecf_alignment("E.2", "Project Management", achievement_id),),
                    ),
                ),
            ),
            subject=SubjectSnapshot(
                name=name,
                email=user.email,
                salt=new_salt(),
                results=(Result(f"{achievement_id}#competency-E.2", value="4"),),
            ),
            valid_from=valid_from,
            valid_until=valid_until,
            awarded=valid_from,
            credential_status=entry,
        )
        credential = issue_credential(snapshot, key.private_key, method, now)
        pdf = CertificatePDF(
            CertificateSnapshot(
                code=code,
                base_url=issuer.base_url(),
                holder_name=name,
                scheme_code=scheme.code,
                scheme_title_bg=scheme.title_bg,
                scheme_title_en=scheme.title_en,
                issued_on=valid_from.date(),
                valid_until=valid_until.date() if valid_until else None,
                competencies=(CompetencyLine("E.2", "Project Management", "4"),),
            )
        ).render()
        rendered = pdf
        pdf = sign_pdf(embed_credential(pdf, json.dumps(credential, ensure_ascii=False).encode()))
        certificate = Certificate(
            code=code,
            scheme=scheme,
            user=user,
            status=CertificateStatus.ACTIVE,
            status_list_id=list_row.id,
            status_index=index,
            valid_from=valid_from,
            valid_until=valid_until,
            signing_key_id=key.row.id,
            snapshot={"holder_name": name},
            credential=credential,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        )
        db.session.add(certificate)
        db.session.flush()
        if recorded:  # as issuance records it; without, as before the record existed
            record_issued(certificate, key.public_multikey, now)
            db.session.flush()
        return Issued(certificate, credential, pdf, rendered)

    return make


@pytest.fixture
def issued(make_certificate) -> Issued:
    return make_certificate()


@pytest.fixture
def legacy_issued(make_certificate) -> Issued:
    """A certificate issued before the DID, in the register as it was stored then."""
    return make_certificate(legacy=True)


@pytest.fixture
def set_status(db):
    """Suspend or revoke a certificate in the register and publish it in its status list."""

    def change(issued: Issued, status: str, reason: str = "") -> None:
        certificate = issued.certificate
        ops.publish_status(certificate, status, utcnow())
        certificate.status = status
        certificate.revocation_reason = reason if status == "revoked" else ""
        if status == "revoked":
            certificate.revoked_at = utcnow()
        db.session.flush()

    return change
