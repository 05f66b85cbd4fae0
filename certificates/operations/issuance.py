"""Issuing a certificate: it commits, in three steps (see below)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask_babel import gettext as _

from certificates import eligibility, issuer, queries, reissue
from certificates.achievements import achievement_snapshot, result_id
from certificates.credentials import openbadges
from certificates.credentials import status_list as bitstring
from certificates.credentials.codes import generate_code
from certificates.credentials.openbadges import CredentialSnapshot, Result, SubjectSnapshot
from certificates.eligibility import COMPETENCY, COURSE, EXAM, number
from certificates.models import LIVE_STATUSES, Certificate, CertificateStatus, IssuanceBatch, Scheme
from certificates.operations.common import (
    CertificationError,
    ImpartialityConflict,
    NotEligible,
    _require_certifier,
    add_months,
)
from certificates.operations.status_lists import allocate_status_index
from certificates.pdf import (
    CertificatePDF,
    CertificateSnapshot,
    CompetencyLine,
    embed_credential,
    level_label,
    level_name_bg,
)
from certificates.verify.register import record_issued
from courses.assessments.quizzes import operations as quiz_ops
from lms import audit
from lms.db import utcnow, writing
from lms.extensions import db
from lms.metrics import CERTIFICATES_ISSUED
from lms.models import User
from lms.pdfsign import sign_pdf
from lms.storage import put_bytes, storage

logger = logging.getLogger(__name__)

TEMPLATE_VERSION = 1

# Issuing takes three steps, so that no write lock is held across the slow work:
#
# 1. a short write (committed) checks the actor, the scheme and the trainee, stores
#    the quiz attempts left past their deadline, allocates a status-list entry and
#    fixes the code and timestamps, and gathers everything the next step needs as
#    plain values (a _Draft);
# 2. with no transaction open, the credential is signed and the PDF rendered,
#    signed and given the credential (about 15 ms a certificate);
# 3. a second short write re-checks what can have changed meanwhile (a certificate
#    issued by someone else, the scheme closed, the trainee's record or the scheme's
#    content changed) and inserts the certificate.
#
# If the re-check fails nothing is stored: the allocated status entry stays unused,
# its bit 0 for ever, which no verifier ever looks at. So these operations, unlike
# the others, commit.

#: Times issuance starts again when the record it was made from changed meanwhile.
ISSUE_ATTEMPTS = 3


class _Retry(Exception):
    """The second write found the draft out of date (or its code taken): start again."""


def _live(scheme_id: int, user_id: int) -> Certificate | None:
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.scheme_id == scheme_id,
            Certificate.user_id == user_id,
            Certificate.status.in_(LIVE_STATUSES),
        )
    )


def live_certificate(scheme: Scheme, trainee: User) -> Certificate | None:
    return _live(scheme.id, trainee.id)


def check_impartiality(actor: User | None, trainee: User) -> None:
    """Refuse a certifier who graded the trainee's work, unless an admin waived it."""
    if actor is None:
        return
    if actor.id == trainee.id:
        raise ImpartialityConflict(_("Nobody certifies themselves."))
    if queries.has_graded(actor, trainee) and queries.waiver_for(actor, trainee) is None:
        raise ImpartialityConflict(
            _(
                "You graded work of %(name)s, so another certifier must decide"
                " (or an admin may allow it).",
                name=trainee.name,
            )
        )


def _require_open(scheme: Scheme) -> None:
    if not scheme.active:
        raise CertificationError(
            _("The scheme %(code)s is closed to new certificates.", code=scheme.code)
        )


def _record(scheme: Scheme, trainee: User, now: datetime):
    item = queries.scheme_rules([scheme])[scheme.id]
    return item, queries.load_records([item], [trainee.id], now)[trainee.id]


def _require_eligible(trainee: User, item: queries.SchemeRules, record) -> None:
    result = eligibility.evaluate(item.requirements, record)
    if not result.eligible:
        reasons = "; ".join(r.explanation for r in result.unmet) or _(
            "the scheme has no requirements"
        )
        raise NotEligible(
            _("%(name)s is not eligible: %(reasons)s", name=trainee.name, reasons=reasons), result
        )


def issue_certificate(
    scheme: Scheme,
    trainee: User,
    *,
    actor: User | None,
    now: datetime | None = None,
    batch: IssuanceBatch | None = None,
) -> Certificate:
    """Issue ``scheme``'s certificate to ``trainee``, or return the live one they hold.

    Checks the actor's role, impartiality and eligibility; freezes the snapshot,
    signs the credential and renders the PDF once, outside any transaction.
    Concurrent calls give one certificate. Commits (see the steps above).
    """
    return issue_or_get(scheme, trainee, actor=actor, now=now, batch=batch)[0]


def issue_or_get(
    scheme: Scheme,
    trainee: User,
    *,
    actor: User | None,
    now: datetime | None = None,
    batch: IssuanceBatch | None = None,
) -> tuple[Certificate, bool]:
    """Like :func:`issue_certificate`, and say whether this call issued it (False: held)."""
    now = now or utcnow()
    for _attempt in range(ISSUE_ATTEMPTS):
        with writing(db.session):
            existing, item, record = _check_issue(scheme, trainee, actor, now, first=True)
            if existing is not None:
                return existing, False
            draft = _prepare(scheme, trainee, item, record, actor=actor, now=now, batch=batch)
        credential, pdf = _make(draft)
        try:
            with writing(db.session):
                existing, item, record = _check_issue(scheme, trainee, actor, now, first=False)
                if existing is not None:
                    logger.info(
                        "certificate for user %s on %s issued concurrently", trainee.id, scheme.code
                    )
                    return existing, False
                _require_unchanged(draft, scheme, trainee, item, record)
                return _store(draft, credential, pdf, actor)
        except _Retry:
            continue
    raise CertificationError(_changed_meanwhile())


def _changed_meanwhile() -> str:
    return _(
        "The trainee's record or the scheme changed while the certificate was being made;"
        " try again."
    )


def _check_issue(scheme: Scheme, trainee: User, actor: User | None, now: datetime, *, first: bool):
    """Return ``(live certificate, None, None)``, or check that one may be issued.

    Raises when it may not; else returns ``(None, rules, record)`` as read now. Run by
    both writes: what the first allowed may have changed before the second.
    """
    _require_certifier(actor)
    existing = live_certificate(scheme, trainee)
    if existing is not None:
        return existing, None, None
    _require_open(scheme)
    check_impartiality(actor, trainee)
    if first:
        # Store the quiz attempts the trainee left past their deadline: pages only show
        # them as expired, and eligibility reads stored grades.
        quiz_ops.expire_all_due(user=trainee, now=now)
    item, record = _record(scheme, trainee, now)
    _require_eligible(trainee, item, record)
    reissue.refuse_if_blocked(scheme, trainee)
    return None, item, record


@dataclass(frozen=True)
class _Draft:
    """A certificate prepared by the first write: all the slow step needs, as plain values.

    No models: the slow step runs with no transaction open, and reading a model's
    expired attribute there would open one (on SQLite, in a POST, a write-locking one).
    """

    scheme_id: int
    scheme_code: str
    user_id: int
    actor_id: int | None
    batch_id: int | None
    code: str
    now: datetime
    valid_until: datetime | None
    status_list_id: int
    status_index: int
    signing_key_id: int
    verification_method: str
    public_multikey: str
    private_key: Ed25519PrivateKey = field(repr=False)
    snapshot: dict[str, Any] = field(repr=False)
    #: What the credential and the PDF say; the second write compares it afresh.
    content: tuple = field(repr=False)
    credential: CredentialSnapshot = field(repr=False)
    document: CertificateSnapshot = field(repr=False)


def _content(scheme: Scheme, trainee: User, item, record, now, valid_until) -> tuple:
    """Return everything the credential and PDF are made of, for comparison."""
    return (
        _snapshot(scheme, trainee, item, record, now, valid_until),
        achievement_snapshot(scheme, item),
        _results(scheme, item, record),
        trainee.name,
        trainee.email,
        scheme.title_en,
        scheme.design_logo,
    )


def _prepare(
    scheme: Scheme,
    trainee: User,
    item: queries.SchemeRules,
    record,
    *,
    actor: User | None,
    now: datetime,
    batch: IssuanceBatch | None,
) -> _Draft:
    """Allocate the status entry and the code, and gather the slow step's input."""
    key = issuer.current_signing_key()
    status_row, index = allocate_status_index(now)
    valid_until = add_months(now, scheme.validity_months) if scheme.validity_months else None
    content = _content(scheme, trainee, item, record, now, valid_until)
    snapshot, achievement, results = content[0], content[1], content[2]
    code = generate_code()
    while db.session.scalar(sa.select(Certificate.id).where(Certificate.code == code)):
        logger.warning("verification code collided; drawing another")
        code = generate_code()
    return _Draft(
        scheme_id=scheme.id,
        scheme_code=scheme.code,
        user_id=trainee.id,
        actor_id=actor.id if actor else None,
        batch_id=batch.id if batch else None,
        code=code,
        now=now,
        valid_until=valid_until,
        status_list_id=status_row.id,
        status_index=index,
        signing_key_id=key.row.id,
        verification_method=key.verification_method,
        public_multikey=key.public_multikey,
        private_key=key.private_key,
        snapshot=snapshot,
        content=content,
        credential=CredentialSnapshot(
            id=issuer.credential_url(code),
            name=scheme.title_en,
            issuer=issuer.issuer_snapshot(),
            achievement=achievement,
            subject=SubjectSnapshot(
                name=trainee.name,
                email=trainee.email,
                salt=openbadges.new_salt(),
                results=results,
            ),
            valid_from=now,
            valid_until=valid_until,
            awarded=now,
            credential_status=bitstring.status_entry(issuer.status_list_url(status_row.id), index),
        ),
        document=_pdf_snapshot(code, snapshot, scheme),
    )


def _make(draft: _Draft) -> tuple[dict[str, Any], bytes]:
    """Sign the credential and render and sign the PDF: the slow step, no database."""
    credential = openbadges.issue_credential(
        draft.credential, draft.private_key, draft.verification_method, draft.now
    )
    rendered = CertificatePDF(draft.document).render()
    # The credential goes in first so that the signature covers it with the page. The
    # PDF signing identity is read from files (made on first use), never the database.
    pdf = sign_pdf(embed_credential(rendered, credential_bytes(credential)))
    return credential, pdf


def _require_unchanged(draft: _Draft, scheme: Scheme, trainee: User, item, record) -> None:
    """Start again if what the draft shows changed since the first write."""
    if _content(scheme, trainee, item, record, draft.now, draft.valid_until) != draft.content:
        logger.info(
            "record of user %s on %s changed during issuance; starting again",
            draft.user_id,
            draft.scheme_code,
        )
        raise _Retry


def _store(
    draft: _Draft, credential: dict[str, Any], pdf: bytes, actor: User | None
) -> tuple[Certificate, bool]:
    """Insert the certificate; return the live one instead if another issuer won.

    The PDF is written to the file store first: if the process dies before the row
    commits, the file is an orphan that the cleanup job removes, never a row without it.
    """
    pdf_key = put_bytes(storage(), pdf)
    cert = Certificate(
        code=draft.code,
        scheme_id=draft.scheme_id,
        user_id=draft.user_id,
        status=CertificateStatus.ACTIVE,
        status_list_id=draft.status_list_id,
        status_index=draft.status_index,
        issued_at=draft.now,
        valid_from=draft.now,
        valid_until=draft.valid_until,
        issued_by_id=draft.actor_id,
        signing_key_id=draft.signing_key_id,
        snapshot=draft.snapshot,
        credential=credential,
        pdf_key=pdf_key,
        pdf_sha256=pdf_key,
        batch_id=draft.batch_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(cert)
            db.session.flush()
    except sa.exc.IntegrityError:
        # On PostgreSQL two second writes can both pass the check; the index decides.
        winner = _live(draft.scheme_id, draft.user_id)
        if winner is not None:
            logger.info(
                "certificate for user %s on %s issued concurrently",
                draft.user_id,
                draft.scheme_code,
            )
            return winner, False
        logger.warning("verification code %s taken meanwhile; starting again", draft.code)
        raise _Retry from None
    # signing.sign checked the signature it made: code look-ups may rely on that.
    record_issued(cert, draft.public_multikey, draft.now)
    audit.record(
        "certificate.issue",
        cert,
        actor=actor,
        code=cert.code,
        scheme=draft.scheme_code,
        user=draft.user_id,
        batch=draft.batch_id,
    )
    logger.info("issued certificate %s (%s) to user %s", cert.code, draft.scheme_code, cert.user_id)
    CERTIFICATES_ISSUED.inc()
    return cert, True


def _snapshot(
    scheme: Scheme, trainee: User, item: queries.SchemeRules, record, now, valid_until
) -> dict[str, Any]:
    courses, competencies, exams = [], [], []
    for req in item.requirements:
        if req.kind == COURSE:
            course, done = item.courses[req.target_id], record.courses.get(req.target_id)
            courses.append(
                {
                    "code": course.code,
                    "title_en": course.title_en,
                    "title_bg": course.title_bg,
                    "grade": None if done is None or done.grade is None else number(done.grade),
                    "completed_at": done.completed_at.isoformat()
                    if done and done.completed_at
                    else None,
                }
            )
        elif req.kind == COMPETENCY:
            competency, level = item.competencies[req.target_id], record.levels.get(req.target_id)
            competencies.append(
                {
                    "code": competency.code,
                    "title_en": competency.title_en,
                    "title_bg": competency.title_bg,
                    "level": level.rank if level else None,
                    "level_name": level.name if level else "",
                    "level_name_bg": level_name_bg(competency, level.rank) if level else "",
                    "esco": competency.esco_uris,
                    "ecf": competency.ecf_codes,
                }
            )
        elif req.kind == EXAM:
            assessment, exam = item.assessments[req.target_id], record.exams.get(req.target_id)
            exams.append(
                {
                    "id": assessment.id,
                    "title_en": assessment.title_en,
                    "title_bg": assessment.title_bg,
                    "percent": number(exam.percent) if exam else None,
                    "released_at": exam.released_at.isoformat()
                    if exam and exam.released_at
                    else None,
                }
            )
    return {
        "template_version": TEMPLATE_VERSION,
        "holder_name": trainee.name,
        "centre_name": current_app.config["CENTRE_NAME"],
        "scheme": {
            "code": scheme.code,
            "title_en": scheme.title_en,
            "title_bg": scheme.title_bg or scheme.title_en,
            "eqf_level": scheme.eqf_level,
            "workload_hours": queries.workload_hours(scheme),
        },
        "courses": courses,
        "competencies": competencies,
        "exams": exams,
        "issued_at": now.isoformat(),
        "valid_from": now.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else None,
        "design": {
            "colour": scheme.design_colour,
            "signatory_name": scheme.signatory_name,
            "signatory_title": scheme.signatory_title,
            "logo_sha256": hashlib.sha256(scheme.design_logo).hexdigest()
            if scheme.design_logo
            else None,
        },
    }


def _results(scheme: Scheme, item: queries.SchemeRules, record) -> tuple[Result, ...]:
    results = []
    for req in item.requirements:
        if req.kind == COURSE:
            done = record.courses.get(req.target_id)
            code = item.courses[req.target_id].code
            results.append(
                Result(
                    result_id(scheme, "course", code),
                    value=number(done.grade) if done and done.grade is not None else None,
                    status="Completed",
                )
            )
        elif req.kind == COMPETENCY:
            level = record.levels.get(req.target_id)
            code = item.competencies[req.target_id].code
            results.append(
                Result(
                    result_id(scheme, "competency", code), value=str(level.rank) if level else None
                )
            )
        elif req.kind == EXAM:
            exam = record.exams.get(req.target_id)
            results.append(
                Result(
                    result_id(scheme, "exam", str(req.target_id)),
                    value=number(exam.percent) if exam else None,
                )
            )
    return tuple(results)


def credential_bytes(credential: dict[str, Any]) -> bytes:
    """Return the credential as the UTF-8 JSON file embedded in the PDF and downloaded."""
    return json.dumps(credential, ensure_ascii=False, indent=2).encode("utf-8")


def _pdf_snapshot(code: str, snapshot: dict[str, Any], scheme: Scheme) -> CertificateSnapshot:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))
    issued = datetime.fromisoformat(snapshot["issued_at"]).astimezone(zone).date()
    until = snapshot["valid_until"]
    lines = tuple(
        CompetencyLine(
            c["code"],
            c["title_bg"] or c["title_en"],
            level_label(c["level"], c.get("level_name_bg", ""), c["level_name"]),
        )
        for c in snapshot["competencies"]
    )
    design = snapshot["design"]
    return CertificateSnapshot(
        code=code,
        base_url=issuer.base_url(),
        holder_name=snapshot["holder_name"],
        scheme_code=snapshot["scheme"]["code"],
        scheme_title_bg=snapshot["scheme"]["title_bg"],
        scheme_title_en=snapshot["scheme"]["title_en"],
        issued_on=issued,
        valid_until=datetime.fromisoformat(until).astimezone(zone).date() if until else None,
        eqf_level=snapshot["scheme"]["eqf_level"],
        workload_hours=snapshot["scheme"]["workload_hours"] or None,
        competencies=lines,
        centre_name=snapshot["centre_name"],
        signatory_name=design["signatory_name"],
        signatory_title=design["signatory_title"],
        primary_colour=design["colour"],
        logo=scheme.design_logo,
        signature=scheme.signature_image,
    )
