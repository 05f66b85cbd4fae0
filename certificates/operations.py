"""Writes for certification: schemes, waivers, issuance, status changes, renewal, batches.

Operations take models and plain values, flush, audit and return; they never
commit, except issuance and renewal, which sign and render between two short
committed writes so that no write lock is held meanwhile (see "issuance" below).
``actor=None`` means the system itself (the command line without
``--as``); a person acting must hold the certifier role (or be an admin).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask_babel import gettext as _

from certificates import eligibility, issuer, queries, reissue
from certificates.achievements import achievement_snapshot, result_id
from certificates.credentials import openbadges, signing
from certificates.credentials import status_list as bitstring
from certificates.credentials.codes import generate_code
from certificates.credentials.openbadges import (
    CredentialSnapshot,
    Result,
    SubjectSnapshot,
)
from certificates.eligibility import COMPETENCY, COURSE, EXAM, number
from certificates.models import (
    LIVE_STATUSES,
    Certificate,
    CertificateStatus,
    ImpartialityWaiver,
    IssuanceBatch,
    RenewalRule,
    RequirementKind,
    Scheme,
    SchemeRequirement,
    StatusList,
)
from certificates.pdf import (
    CertificatePDF,
    CertificateSnapshot,
    CompetencyLine,
    embed_credential,
    level_label,
    level_name_bg,
)
from certificates.verify.register import record_issued
from courses.assessments.models import Assessment, Grade, GradeChange
from courses.assessments.quizzes import operations as quiz_ops
from courses.competencies import rules
from courses.competencies.framework_csv import normalise_ecf_code, normalise_esco_uri
from courses.competencies.models import Competency
from courses.models import Course, Programme
from lms import audit
from lms.db import utcnow, writing
from lms.exceptions import UserError
from lms.extensions import db
from lms.i18n import format_day
from lms.metrics import CERTIFICATES_ISSUED
from lms.models import Role, User
from lms.pdfsign import sign_pdf
from lms.storage import put_bytes, storage

logger = logging.getLogger(__name__)

TEMPLATE_VERSION = 1
MAX_LOGO_BYTES = 512 * 1024
MAX_REASON = 500
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_SCHEME_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
PARTICIPATION_FORMS = ("online", "onsite", "blended")


class CertificationError(UserError):
    """A certification action that cannot be done; the message says why."""


class NotAllowed(CertificationError):
    """The actor may not do this."""


class NotEligible(CertificationError):
    """The trainee does not meet the scheme's requirements."""

    def __init__(self, message: str, result: eligibility.Eligibility) -> None:
        super().__init__(message)
        self.result = result


class ImpartialityConflict(NotAllowed):
    """The certifier graded the trainee's work and holds no waiver."""


def _require_certifier(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.CERTIFIER, Role.ADMIN):
        raise NotAllowed(_("Only certifiers may do this."))


def _reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise CertificationError(_("Give a reason."))
    if len(text) > MAX_REASON:
        raise CertificationError(
            _("The reason is too long (at most %(n)s characters).", n=MAX_REASON)
        )
    return text


def add_months(moment: datetime, months: int) -> datetime:
    """Return the same moment ``months`` calendar months later (day clamped to the month)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --- schemes -----------------------------------------------------------------

SCHEME_TEXT_FIELDS = {
    "title_en": 200,
    "title_bg": 200,
    "assessment_form_en": 500,
    "assessment_form_bg": 500,
    "identity_check": 200,
    "quality_assurance_en": 500,
    "quality_assurance_bg": 500,
    "prerequisites_en": 500,
    "prerequisites_bg": 500,
}
SCHEME_LONG_FIELDS = ("description_en", "description_bg", "criteria_en", "criteria_bg")


def parse_alignments(esco_text: str, ecf_text: str) -> tuple[list[str], list[str]]:
    """Return canonical ESCO skill URIs and e-CF codes, or raise naming the bad ones."""
    esco, ecf, bad_esco, bad_ecf = [], [], [], []
    for item in re.split(r"[\s|,;]+", esco_text or ""):
        if item:
            uri = normalise_esco_uri(item)
            (esco.append(uri) if uri else bad_esco.append(item))
    for item in re.split(r"[\s|,;]+", ecf_text or ""):
        if item:
            code = normalise_ecf_code(item)
            (ecf.append(code) if code else bad_ecf.append(item))
    if bad_esco:
        raise CertificationError(
            _(
                "Not ESCO skill URIs (http://data.europa.eu/esco/skill/<uuid>): %(items)s",
                items=", ".join(bad_esco[:5]),
            )
        )
    if bad_ecf:
        raise CertificationError(
            _("Not e-CF competence codes (A.1 to E.9): %(items)s", items=", ".join(bad_ecf[:5]))
        )
    return list(dict.fromkeys(esco)), list(dict.fromkeys(ecf))


def _apply_scheme(scheme: Scheme, values: dict[str, Any]) -> None:
    if not (values.get("title_en") or "").strip():
        raise CertificationError(_("Give the scheme an English title."))
    for name, limit in SCHEME_TEXT_FIELDS.items():
        text = (values.get(name) or "").strip()
        if len(text) > limit:
            raise CertificationError(_("%(field)s is too long.", field=name))
        setattr(scheme, name, text)
    for name in SCHEME_LONG_FIELDS:
        setattr(scheme, name, (values.get(name) or "").strip())
    esco, ecf = parse_alignments(values.get("esco_uris", ""), values.get("ecf_codes", ""))
    if len(" ".join(ecf)) > 200:
        raise CertificationError(_("Too many e-CF codes."))
    scheme.esco_uris = " ".join(esco)
    scheme.ecf_codes = " ".join(ecf)
    programme = values.get("programme")
    scheme.programme_id = programme.id if isinstance(programme, Programme) else None
    validity = values.get("validity_months")
    if validity is not None and validity <= 0:
        raise CertificationError(_("The validity must be a positive number of months."))
    scheme.validity_months = validity
    rule = values.get("renewal_rule") or None
    if rule is not None and rule not in {r.value for r in RenewalRule}:
        raise CertificationError(_("Unknown renewal rule."))
    evidence_months = values.get("renewal_evidence_months")
    if rule == RenewalRule.RECENT_EVIDENCE and not evidence_months:
        raise CertificationError(
            _("Say how recent the competency evidence must be (in months) for a renewal.")
        )
    if evidence_months is not None and evidence_months <= 0:
        raise CertificationError(_("The evidence age must be a positive number of months."))
    scheme.renewal_rule = rule
    scheme.renewal_evidence_months = evidence_months
    eqf = values.get("eqf_level")
    if eqf is not None and not 1 <= eqf <= 8:
        raise CertificationError(_("The EQF level is between 1 and 8."))
    scheme.eqf_level = eqf
    workload = values.get("workload_hours") or 0
    if workload < 0:
        raise CertificationError(_("The workload cannot be negative."))
    scheme.workload_hours = workload
    participation = values.get("participation_form") or "online"
    if participation not in PARTICIPATION_FORMS:
        raise CertificationError(_("Unknown form of participation."))
    scheme.participation_form = participation
    scheme.active = bool(values.get("active", True))


def scheme_code_taken(code: str, exclude: Scheme | None = None) -> bool:
    query = sa.select(Scheme.id).where(Scheme.code == code.strip().upper())
    if exclude is not None:
        query = query.where(Scheme.id != exclude.id)
    return db.session.scalar(query) is not None


def create_scheme(*, code: str, actor: User | None, **values: Any) -> Scheme:
    """Create a certification scheme."""
    code = (code or "").strip().upper()
    if not _SCHEME_CODE.fullmatch(code):
        raise CertificationError(
            _("A scheme code has up to 32 letters, digits, dots, dashes or underscores.")
        )
    if scheme_code_taken(code):
        raise CertificationError(_("A scheme with the code %(code)s exists already.", code=code))
    scheme = Scheme(code=code)
    _apply_scheme(scheme, values)
    db.session.add(scheme)
    db.session.flush()
    audit.record("scheme.create", scheme, actor=actor, code=code)
    logger.info("scheme %s created", code)
    return scheme


def update_scheme(scheme: Scheme, *, actor: User | None, **values: Any) -> Scheme:
    """Change a scheme's descriptive fields; issued certificates keep what they froze."""
    _apply_scheme(scheme, values)
    db.session.flush()
    audit.record("scheme.update", scheme, actor=actor, code=scheme.code)
    return scheme


def check_logo(data: bytes) -> str:
    """Return the logo's media type if it is a PNG or JPEG of at most 512 KB."""
    if len(data) > MAX_LOGO_BYTES:
        raise CertificationError(_("The logo may be at most 512 KB."))
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "PNG"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "JPEG"
    else:
        raise CertificationError(_("The logo must be a PNG or JPEG image."))
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != kind:
                raise CertificationError(_("The logo must be a PNG or JPEG image."))
            if image.width * image.height > 4096 * 4096:
                raise CertificationError(_("The logo is too large in pixels."))
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CertificationError(_("The logo image is damaged or unreadable.")) from exc
    return "image/png" if kind == "PNG" else "image/jpeg"


def set_design(
    scheme: Scheme,
    *,
    colour: str,
    signatory_name: str,
    signatory_title: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
    actor: User | None,
) -> Scheme:
    """Set the printed certificate's colour, logo and signatory."""
    colour = (colour or "").strip()
    if not _COLOUR.fullmatch(colour):
        raise CertificationError(_("The colour must be written as #RRGGBB, e.g. #0b5394."))
    name, title = (signatory_name or "").strip(), (signatory_title or "").strip()
    if len(name) > 200 or len(title) > 200:
        raise CertificationError(_("The signatory's name and title are at most 200 characters."))
    if logo:
        check_logo(logo)
    scheme.design_colour = colour.lower()
    scheme.signatory_name = name
    scheme.signatory_title = title
    if logo:
        scheme.design_logo = logo
    elif remove_logo:
        scheme.design_logo = None
    db.session.flush()
    audit.record(
        "scheme.design",
        scheme,
        actor=actor,
        colour=scheme.design_colour,
        logo=hashlib.sha256(scheme.design_logo).hexdigest() if scheme.design_logo else None,
    )
    return scheme


def _decimal(value: Any, *, label: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number_ = Decimal(str(value))
    except InvalidOperation as exc:
        raise CertificationError(_("%(label)s must be a number.", label=label)) from exc
    if not number_.is_finite() or number_ < 0 or number_ > 100:
        raise CertificationError(_("%(label)s must be between 0 and 100.", label=label))
    return number_


def add_requirement(
    scheme: Scheme,
    *,
    kind: str,
    actor: User | None,
    course: Course | None = None,
    competency: Competency | None = None,
    assessment: Assessment | None = None,
    min_grade: Any = None,
    min_level: int | None = None,
) -> SchemeRequirement:
    """Add a requirement: a course with a minimum grade, a competency level or an exam."""
    existing = list(scheme.requirements)
    row = SchemeRequirement(kind=kind)
    if kind == RequirementKind.COURSE:
        if course is None:
            raise CertificationError(_("Choose the course."))
        if any(r.kind == kind and r.course_id == course.id for r in existing):
            raise CertificationError(_("The scheme already requires this course."))
        row.course = course
        row.min_grade = _decimal(min_grade, label=_("The minimum grade"))
    elif kind == RequirementKind.COMPETENCY:
        if competency is None:
            raise CertificationError(_("Choose the competency."))
        if any(r.kind == kind and r.competency_id == competency.id for r in existing):
            raise CertificationError(_("The scheme already requires this competency."))
        ranks = {level.rank for level in competency.framework.levels}
        if min_level is None or min_level not in ranks:
            raise CertificationError(
                _(
                    "Choose a level of the competency's scale (%(ranks)s).",
                    ranks=", ".join(map(str, sorted(ranks))) or "-",
                )
            )
        row.competency_id = competency.id
        row.min_level = min_level
    elif kind == RequirementKind.EXAM:
        if assessment is None:
            raise CertificationError(_("Choose the exam."))
        if assessment.kind != "quiz":
            raise CertificationError(_("The certification exam must be a quiz."))
        if any(r.kind == kind and r.assessment_id == assessment.id for r in existing):
            raise CertificationError(_("The scheme already requires this exam."))
        row.assessment = assessment
        row.min_grade = _decimal(min_grade, label=_("The minimum percentage"))
        if row.min_grade is None:
            raise CertificationError(_("Give the minimum percentage for the exam."))
    else:
        raise CertificationError(_("Unknown kind of requirement."))
    scheme.requirements.append(row)
    db.session.flush()
    audit.record("scheme.requirement.add", scheme, actor=actor, kind=kind, requirement=row.id)
    return row


def remove_requirement(row: SchemeRequirement, *, actor: User | None) -> None:
    """Remove a requirement; certificates already issued keep their snapshot."""
    scheme = row.scheme
    scheme.requirements.remove(row)
    db.session.flush()
    audit.record("scheme.requirement.remove", scheme, actor=actor, requirement=row.id)


def grant_waiver(
    certifier: User, trainee: User, *, reason: str, actor: User | None
) -> ImpartialityWaiver:
    """Allow ``certifier`` to certify ``trainee`` although they graded the trainee's work."""
    if not certifier.has_role(Role.CERTIFIER):
        raise CertificationError(_("%(name)s is not a certifier.", name=certifier.name))
    if certifier.id == trainee.id:
        raise CertificationError(_("Nobody certifies themselves."))
    reason = _reason(reason, required=True)
    if queries.waiver_for(certifier, trainee) is not None:
        raise CertificationError(_("This waiver exists already."))
    waiver = ImpartialityWaiver(
        certifier_id=certifier.id,
        trainee_id=trainee.id,
        granted_by_id=actor.id if actor else None,
        reason=reason,
    )
    db.session.add(waiver)
    db.session.flush()
    audit.record(
        "impartiality.waiver", waiver, actor=actor, certifier=certifier.id, trainee=trainee.id
    )
    return waiver


# --- status lists --------------------------------------------------------------

#: Hours a signed status list stays valid unless ``LMS_STATUS_LIST_VALIDITY_HOURS`` says.
DEFAULT_STATUS_LIST_VALIDITY_HOURS = 24


def status_list_validity() -> timedelta:
    """Return how long a signed status list stays valid (a short window: a day by default).

    Verifiers refuse a list past its ``validUntil``, so a revocation reaches every copy
    within this time; a list is re-signed once less than half of it remains.
    """
    hours = current_app.config.get("STATUS_LIST_VALIDITY_HOURS", DEFAULT_STATUS_LIST_VALIDITY_HOURS)
    try:
        window = timedelta(hours=float(hours))
    except (TypeError, ValueError) as exc:
        raise CertificationError("STATUS_LIST_VALIDITY_HOURS must be a number of hours") from exc
    if window <= timedelta(0):
        raise CertificationError("STATUS_LIST_VALIDITY_HOURS must be more than zero")
    return window


def _list_bits(row: StatusList) -> bitstring.StatusList:
    """Return the bits of a list: one per certificate, or two on an earlier message list."""
    size = bitstring.MESSAGE_STATUS_SIZE if row.purpose == bitstring.MESSAGE_PURPOSE else 1
    return bitstring.StatusList.from_bytes(row.bits, size)


def _sign_status_list(row: StatusList, bits: bitstring.StatusList, now: datetime) -> None:
    """Store the bits and sign the list credential, valid from now for the window.

    A list of the earlier message kind is signed under the issuer id its certificates
    name (``<BASE_URL>/issuer``), the others under the DID.
    """
    key = issuer.current_signing_key()
    if row.purpose == bitstring.MESSAGE_PURPOSE:
        issuer_id = issuer.issuer_url()
        method = issuer.legacy_verification_method_url(key.public_multikey)
    else:
        issuer_id, method = issuer.issuer_did(), key.verification_method
    valid_until = now + status_list_validity()
    unsigned = bitstring.build_status_list_credential(
        issuer.status_list_url(row.id),
        issuer_id,
        bits,
        now,
        purpose=row.purpose,
        valid_until=valid_until,
    )
    row.bits = bits.to_bytes()
    row.valid_until = valid_until
    row.credential = signing.sign(unsigned, key.private_key, method, now)


def _new_status_list(now: datetime) -> StatusList:
    bits = bitstring.StatusList(bitstring.MIN_ENTRIES)
    row = StatusList(
        purpose=bitstring.REVOCATION_PURPOSE,
        bits=bits.to_bytes(),
        allocated=0,
        index_key=secrets.token_hex(32),
    )
    db.session.add(row)
    db.session.flush()
    _sign_status_list(row, bits, now)
    db.session.flush()
    logger.info("started status list %s", row.id)
    return row


def current_status_list(now: datetime | None = None) -> StatusList:
    """Return the revocation list new certificates go on, starting one when none has room."""
    now = now or utcnow()
    row = db.session.scalar(
        sa.select(StatusList)
        .where(StatusList.purpose == bitstring.REVOCATION_PURPOSE)
        .order_by(StatusList.id.desc())
        .limit(1)
    )
    if row is None or row.allocated >= bitstring.MIN_ENTRIES:
        row = _new_status_list(now)
    return row


def allocate_status_index(now: datetime) -> tuple[StatusList, int]:
    """Hand out the next entry of the current revocation list, starting a list when full.

    O(1) whatever the number of certificates: one atomic increment of the list's
    counter (which also holds the row until commit, so concurrent issuers queue),
    and a keyed permutation turns the position into a random-looking index.
    """
    for _attempt in range(3):
        row = current_status_list(now)
        taken = db.session.execute(
            sa.update(StatusList)
            .where(StatusList.id == row.id, StatusList.allocated < bitstring.MIN_ENTRIES)
            .values(allocated=StatusList.allocated + 1)
            .returning(StatusList.allocated)
            .execution_options(synchronize_session=False)
        ).scalar()
        # The session's copy of the counter is stale now; read it afresh when next needed.
        db.session.expire(row, ["allocated"])
        if taken is not None:
            assert row.index_key is not None, "revocation lists are started with a key"
            return row, bitstring.permuted_index(bytes.fromhex(row.index_key), taken - 1)
    raise CertificationError(_("Could not allocate a status list entry; try again."))


def publish_status(cert: Certificate, status: str, now: datetime) -> None:
    """Publish the certificate's new status in its list and re-sign it (row locked meanwhile).

    A revocation list has one bit, set when revoked: suspension is the register's
    alone and changes nothing there. An earlier message list records both.
    """
    row = db.session.get(
        StatusList, cert.status_list_id, with_for_update=True, populate_existing=True
    )
    assert row is not None, "only certificates on a status list change status"
    bits = _list_bits(row)
    if row.purpose == bitstring.MESSAGE_PURPOSE:
        values: dict[str, int] = {
            CertificateStatus.ACTIVE: bitstring.ACTIVE,
            CertificateStatus.SUSPENDED: bitstring.SUSPENDED,
            CertificateStatus.REVOKED: bitstring.REVOKED,
        }
        value = values[status]
    else:
        value = 1 if status == CertificateStatus.REVOKED else 0
    if bits.get(cert.status_index) == value:
        return
    bits.set(cert.status_index, value)
    _sign_status_list(row, bits, now)
    db.session.flush()


def status_list_due(row: StatusList, now: datetime) -> bool:
    """Return whether a list is unsigned or has less than half of its window left."""
    return (
        row.credential is None
        or row.valid_until is None
        or row.valid_until - now < status_list_validity() / 2
    )


def refresh_status_list(row: StatusList, now: datetime | None = None) -> bool:
    """Re-sign a list whose validity is running out, with the same bits; return whether.

    Called when a list is served or read by the verifier, and by
    :func:`refresh_status_lists`, so a published list never lapses.
    """
    now = now or utcnow()
    if not status_list_due(row, now):
        return False
    locked = db.session.get(StatusList, row.id, with_for_update=True, populate_existing=True)
    assert locked is not None, "status lists are never deleted"
    row = locked
    if not status_list_due(row, now):
        return False  # another process re-signed it meanwhile
    _sign_status_list(row, _list_bits(row), now)
    db.session.flush()
    logger.info("re-signed status list %s, valid until %s", row.id, row.valid_until)
    return True


def published_status_list(list_id: int) -> dict[str, Any] | None:
    """Return list ``list_id``'s signed credential as published, re-signed first when due.

    For the read paths (the served list, the online verifier), so unlike the other
    operations this commits the re-signing. If another writer holds the database, the
    current credential, which still has up to half of its window, is returned as is.
    """
    row = db.session.get(StatusList, list_id)
    if row is None:
        return None
    if not status_list_due(row, utcnow()):
        return row.credential
    try:
        # A declared write: the read paths take the write lock only when a list is due.
        with writing(db.session):
            current = db.session.get(StatusList, list_id)
            assert current is not None, "status lists are never deleted"
            refresh_status_list(current)
    except (sa.exc.OperationalError, sa.orm.exc.StaleDataError):
        logger.warning("status list %s not re-signed now: the database is busy", list_id)
    current = db.session.get(StatusList, list_id)
    assert current is not None, "status lists are never deleted"
    return current.credential


def refresh_status_lists(now: datetime | None = None) -> int:
    """Re-sign every list due for it; return how many (for a scheduled job)."""
    now = now or utcnow()
    soon = now + status_list_validity() / 2
    due = db.session.scalars(
        sa.select(StatusList)
        .where(sa.or_(StatusList.valid_until.is_(None), StatusList.valid_until < soon))
        .order_by(StatusList.id)
    ).all()
    return sum(refresh_status_list(row, now) for row in due)


# --- issuance ------------------------------------------------------------------
#
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


# --- status changes --------------------------------------------------------------


def suspend(
    cert: Certificate, *, reason: str, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Suspend an active certificate (reversible)."""
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=True)
    if cert.status != CertificateStatus.ACTIVE:
        raise CertificationError(_("Only an active certificate can be suspended."))
    cert.status = CertificateStatus.SUSPENDED
    cert.suspended_at = now
    publish_status(cert, CertificateStatus.SUSPENDED, now)
    audit.record("certificate.suspend", cert, actor=actor, code=cert.code, reason=reason)
    return cert


def reinstate(
    cert: Certificate, *, actor: User | None, reason: str = "", now: datetime | None = None
) -> Certificate:
    """Lift a suspension."""
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=False)
    if cert.status != CertificateStatus.SUSPENDED:
        raise CertificationError(_("Only a suspended certificate can be reinstated."))
    cert.status = CertificateStatus.ACTIVE
    cert.suspended_at = None
    publish_status(cert, CertificateStatus.ACTIVE, now)
    audit.record("certificate.reinstate", cert, actor=actor, code=cert.code, reason=reason or None)
    return cert


def revoke(
    cert: Certificate,
    *,
    reason: str,
    actor: User | None,
    now: datetime | None = None,
    in_error: bool = False,
) -> Certificate:
    """Revoke a certificate for good; the row, its PDF and the reason stay.

    ``in_error``: it should never have been issued, which bars a new one until a
    certifier clears the trainee (:mod:`certificates.reissue`).
    """
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=True)
    if cert.status == CertificateStatus.REVOKED:
        raise CertificationError(_("This certificate is revoked already."))
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = now
    cert.revocation_reason = reason
    cert.revoked_in_error = bool(in_error)
    publish_status(cert, CertificateStatus.REVOKED, now)
    audit.record(
        "certificate.revoke",
        cert,
        actor=actor,
        code=cert.code,
        reason=reason,
        in_error=cert.revoked_in_error,
    )
    return cert


def expire_certificates(*, now: datetime | None = None, actor: User | None = None) -> int:
    """Mark live certificates whose validity has ended as expired; return how many."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Certificate).where(
            Certificate.status.in_(LIVE_STATUSES),
            Certificate.valid_until.is_not(None),
            Certificate.valid_until <= now,
        )
    ).all()
    for cert in due:
        cert.status = CertificateStatus.EXPIRED
        audit.record("certificate.expire", cert, actor=actor, code=cert.code)
    db.session.flush()
    if due:
        logger.info("%s certificates expired", len(due))
    return len(due)


def mark_reviewed(cert: Certificate, *, actor: User | None, note: str = "") -> Certificate:
    """Record that a certifier looked at the grade changes behind a certificate."""
    _require_certifier(actor)
    note = _reason(note, required=False)
    cert.needs_review = False
    db.session.flush()
    audit.record("certificate.reviewed", cert, actor=actor, code=cert.code, note=note or None)
    return cert


# --- renewal -------------------------------------------------------------------


def renewal_due_reason(cert: Certificate, now: datetime) -> str | None:
    """Return why ``cert`` cannot be renewed now, or None when its renewal rule holds."""
    scheme = cert.scheme
    if cert.status not in (CertificateStatus.ACTIVE, CertificateStatus.EXPIRED):
        return _("Only an active or expired certificate can be renewed.")
    if cert.superseded_by_id is not None:
        return _("This certificate was renewed already.")
    item = queries.scheme_rules([scheme])[scheme.id]
    if scheme.renewal_rule == RenewalRule.EXAM:
        record = queries.load_records([item], [cert.user_id], now)[cert.user_id]
        if not eligibility.exam_renewed(item.requirements, record, cert.issued_at):
            return _(
                "The certification exam has not been passed again since %(date)s.",
                date=format_day(cert.issued_at),
            )
        return None
    if scheme.renewal_rule == RenewalRule.RECENT_EVIDENCE:
        competency_ids = [r.target_id for r in item.requirements if r.kind == COMPETENCY]
        rows = queries.evidence_rows([cert.user_id], competency_ids).get(cert.user_id, [])
        months = scheme.renewal_evidence_months or 12
        if not competency_ids or not rules.evidence_newer_than(rows, months, now):
            return _("No competency evidence newer than %(months)s months.", months=months)
        return None
    return _("The scheme %(code)s has no renewal rule.", code=scheme.code)


def renew_certificate(
    cert: Certificate, *, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Issue a new certificate that supersedes ``cert``; both stay in the register.

    In the steps of issuance (so it commits): the second write re-checks the renewal
    rule and the old certificate's state, then supersedes it and inserts the new one.
    """
    now = now or utcnow()
    for _attempt in range(ISSUE_ATTEMPTS):
        with writing(db.session):
            trainee, scheme, item, record = _check_renewal(cert, actor, now)
            draft = _prepare(scheme, trainee, item, record, actor=actor, now=now, batch=None)
        credential, pdf = _make(draft)
        try:
            with writing(db.session):
                # Lock the old certificate, so two renewals of it queue (PostgreSQL).
                db.session.refresh(cert, with_for_update=True)
                trainee, scheme, item, record = _check_renewal(cert, actor, now)
                _require_unchanged(draft, scheme, trainee, item, record)
                cert.status = CertificateStatus.SUPERSEDED
                db.session.flush()  # frees the one-live-certificate slot
                new, _created = _store(draft, credential, pdf, actor)
                cert.superseded_by_id = new.id
                db.session.flush()
                audit.record("certificate.renew", cert, actor=actor, code=cert.code, new=new.code)
                return new
        except _Retry:
            continue
    raise CertificationError(_changed_meanwhile())


def _check_renewal(cert: Certificate, actor: User | None, now: datetime):
    """Check that ``cert`` may be renewed now; return its trainee, scheme, rules and record."""
    _require_certifier(actor)
    trainee, scheme = cert.user, cert.scheme
    check_impartiality(actor, trainee)
    problem = renewal_due_reason(cert, now)
    if problem:
        raise CertificationError(problem)
    item, record = _record(scheme, trainee, now)
    return trainee, scheme, item, record


# --- grade changes after issue -----------------------------------------------------


def flag_for_review(grade: Grade, change: GradeChange | None = None) -> list[Certificate]:
    """Flag live certificates that rest on ``grade``; the certificates themselves never change."""
    assessment = db.session.get(Assessment, grade.assessment_id)
    assert assessment is not None, "a grade's assessment_id is a foreign key"
    relevant = sa.exists().where(
        SchemeRequirement.scheme_id == Certificate.scheme_id,
        sa.or_(
            sa.and_(
                SchemeRequirement.kind == RequirementKind.EXAM,
                SchemeRequirement.assessment_id == grade.assessment_id,
            ),
            sa.and_(
                SchemeRequirement.kind == RequirementKind.COURSE,
                SchemeRequirement.course_id == assessment.course_id,
            ),
        ),
    )
    query = sa.select(Certificate).where(
        Certificate.user_id == grade.user_id, Certificate.status.in_(LIVE_STATUSES), relevant
    )
    flagged = list(db.session.scalars(query))
    for cert in flagged:
        cert.needs_review = True
        audit.record(
            "certificate.needs_review",
            cert,
            actor=change.changed_by if change is not None else None,
            code=cert.code,
            grade=grade.id,
            change=change.id if change is not None else None,
            old=None if change is None or change.old_points is None else str(change.old_points),
            new=None if change is None or change.new_points is None else str(change.new_points),
        )
    if flagged:
        db.session.flush()
        logger.info("grade %s changed: %s certificates flagged for review", grade.id, len(flagged))
    return flagged


def on_grade_changed(grade: Grade, change: GradeChange | None = None, **_extra) -> None:
    """Flag the live certificates that counted a grade which has now changed."""
    flag_for_review(grade, change)


# --- bulk issuance ---------------------------------------------------------------

ChunkHook = Callable[[IssuanceBatch], None]


def start_batch(
    scheme: Scheme, *, actor: User | None, now: datetime | None = None
) -> IssuanceBatch:
    """Fix the list of eligible trainees for a bulk run."""
    _require_certifier(actor)
    ids = queries.eligible_ids(scheme, now)
    batch = IssuanceBatch(
        scheme_id=scheme.id, started_by_id=actor.id if actor else None, user_ids=ids
    )
    db.session.add(batch)
    db.session.flush()
    audit.record("certificate.batch.start", batch, actor=actor, scheme=scheme.code, size=len(ids))
    return batch


def issue_batch(
    scheme: Scheme,
    actor: User | None,
    batch: IssuanceBatch | None = None,
    *,
    chunk_size: int = 25,
    on_chunk: ChunkHook | None = None,
    now: datetime | None = None,
) -> IssuanceBatch:
    """Issue to every eligible trainee, chunk by chunk; resume a run that stopped half-way.

    Each certificate is committed as it is issued (see issuance above). After each
    chunk the batch's position and counts are flushed and ``on_chunk(batch)`` runs;
    the caller commits there. A run that stopped half-way repeats its last chunk:
    trainees certified meanwhile are passed over, and the counts are read from the
    register, so nobody is issued or counted twice.
    """
    _require_certifier(actor)
    if batch is None:
        batch = queries.running_batch(scheme) or start_batch(scheme, actor=actor, now=now)
    ids = list(batch.user_ids)
    while batch.position < len(ids):
        chunk = ids[batch.position : batch.position + chunk_size]
        users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(chunk)))}
        for user_id in chunk:
            user = users.get(user_id)
            if user is None:
                continue
            try:
                # Returns the live certificate of a trainee who holds one: counted as
                # skipped, since only the batch's own certificates count as issued.
                issue_certificate(scheme, user, actor=actor, now=now, batch=batch)
            except CertificationError as error:
                logger.info("batch %s: user %s skipped: %s", batch.id, user_id, error)
        batch.position += len(chunk)
        _count_batch(batch)
        db.session.flush()
        if on_chunk is not None:
            on_chunk(batch)
    batch.state = "finished"
    batch.finished_at = utcnow()
    db.session.flush()
    audit.record(
        "certificate.batch.finish",
        batch,
        actor=actor,
        scheme=scheme.code,
        issued=batch.issued,
        skipped=batch.skipped,
    )
    return batch


def _count_batch(batch: IssuanceBatch) -> None:
    """Set the batch's counts from the register: its certificates, and the rest skipped."""
    batch.issued = db.session.execute(
        sa.select(sa.func.count()).select_from(Certificate).where(Certificate.batch_id == batch.id)
    ).scalar_one()
    batch.skipped = batch.position - batch.issued
