"""What the register knows about a credential it issued: that its signature was checked.

A certificate's credential is signed once, when it is issued, and its signature is
checked then (``signing.sign`` verifies what it signed). The register records that
check: the sha256 of the credential as stored, the key whose signature it carries and
when. A code lookup then answers from the register without any JSON-LD or
cryptographic work: the check still holds while the stored credential has the same
digest and its key is still one of the issuer's. Anything else (a credential changed
in the database, a key taken out of the key set, a certificate issued before the
record existed) is verified in full, as an uploaded file always is.

Existing certificates get their record with ``lms certificates record-checks``, which
verifies each in full first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.orm import Mapped, mapped_column

from certificates.cli import certificates_group
from certificates.credentials.checks import (
    FORMAT,
    ISSUER_KEY,
    N_,
    PROOF,
    SCHEMA,
    Check,
    VerificationResult,
)
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model, db

logger = logging.getLogger(__name__)


class CredentialCheck(Model):
    """The register's record that a certificate's stored credential verified."""

    __tablename__ = "credential_checks"

    certificate_id: Mapped[int] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    #: sha256 of the credential as stored (see :func:`credential_sha256`).
    credential_sha256: Mapped[str] = mapped_column(sa.String(64))
    #: The Multikey of the key whose signature was checked.
    public_multikey: Mapped[str] = mapped_column(sa.String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<CredentialCheck {self.certificate_id}>"


def credential_sha256(credential: Mapping[str, Any]) -> str:
    """Return the sha256 of a credential's content (its JSON with sorted keys, compact)."""
    text = json.dumps(credential, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def proof_method(credential: Mapping[str, Any]) -> str | None:
    """Return the verificationMethod of the credential's one proof, if it has exactly one."""
    proof = credential.get("proof")
    if isinstance(proof, list):
        proof = proof[0] if len(proof) == 1 else None
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    return method if isinstance(method, str) else None


def record_issued(certificate: Any, public_multikey: str, now: datetime | None = None) -> None:
    """Record that a certificate being issued carries a checked signature of this key.

    For issuance, right after the certificate row is flushed: ``signing.sign`` has just
    verified the signature and the credential passed the schema.
    """
    _record(certificate.id, certificate.credential, public_multikey, now or utcnow())


def _record(certificate_id: int, credential: Mapping, public_multikey: str, now: datetime) -> None:
    row = db.session.get(CredentialCheck, certificate_id)
    if row is None:
        row = CredentialCheck(certificate_id=certificate_id)
        db.session.add(row)
    row.credential_sha256 = credential_sha256(credential)
    row.public_multikey = public_multikey
    row.checked_at = now


def recorded_authenticity(
    credential: Mapping[str, Any],
    recorded_sha256: str | None,
    trusted_methods: Mapping[str, str],
    issuer_ids: frozenset[str],
) -> VerificationResult | None:
    """Return the authenticity checks a record vouches for, or None to verify in full.

    The record (``recorded_sha256``, and the key the caller found still in the key set,
    whose methods ``trusted_methods`` maps to it) holds only if the stored credential
    still has the digest checked, names one of this centre's issuer ids, and its
    proof's method is one of that key's methods under that issuer.
    """
    if recorded_sha256 is None:
        return None
    method = proof_method(credential)
    issuer = credential.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if (
        method is None
        or method not in trusted_methods
        or issuer not in issuer_ids
        or not method.startswith(f"{issuer}#")
        or credential_sha256(credential) != recorded_sha256
    ):
        return None
    return VerificationResult(
        (
            Check.said(FORMAT, True, N_("every property is defined by a pinned context")),
            Check.said(SCHEMA, True, N_("valid against the Open Badges 3.0 schema")),
            Check.said(
                ISSUER_KEY, True, N_("signed with the issuer's key %(method)s"), method=method
            ),
            Check.said(PROOF, True, N_("the signature matches the content")),
        )
    )


def record_checks(*, batch: int = 200) -> tuple[int, int]:
    """Verify in full every certificate without a current record and record those that pass.

    Return (recorded, failed). Certificates whose credential fails are left unrecorded:
    a lookup keeps verifying them in full and reporting why they fail.
    """
    from certificates import issuer, keys
    from certificates.credentials.verification import check_authenticity
    from certificates.models import Certificate

    methods = issuer.trusted_methods(row.public_multikey for row in keys.all_keys())
    from certificates.credentials import signing

    resolve = signing.key_set_resolver(methods)
    ids = issuer.issuer_ids()
    recorded = failed = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(Certificate.id, Certificate.credential, CredentialCheck)
            .outerjoin(CredentialCheck, CredentialCheck.certificate_id == Certificate.id)
            .where(Certificate.id > last_id)
            .order_by(Certificate.id)
            .limit(batch)
        ).all()
        if not rows:
            return recorded, failed
        for certificate_id, credential, record in rows:
            last_id = certificate_id
            if (
                record is not None
                and record.public_multikey in methods.values()
                and recorded_authenticity(
                    credential,
                    record.credential_sha256,
                    {m: k for m, k in methods.items() if k == record.public_multikey},
                    ids,
                )
                is not None
            ):
                continue
            if check_authenticity(credential, resolve).valid:
                method = proof_method(credential)
                assert method is not None, "an authentic credential has one proof"
                _record(certificate_id, credential, methods[method], utcnow())
                recorded += 1
            else:
                logger.warning("certificate %s does not verify; not recorded", certificate_id)
                failed += 1
        db.session.commit()


@certificates_group.command("record-checks")
@with_appcontext
def record_checks_command() -> None:
    """Verify and record the certificates issued before verification records existed."""
    recorded, failed = record_checks()
    click.echo(f"recorded {recorded} verified credentials; {failed} failed and were not recorded")
