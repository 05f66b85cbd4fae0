"""Writes for certification: schemes, waivers, issuance, status changes, renewal, batches.

Operations take models and plain values, flush, audit and return; they never
commit. ``actor=None`` means the system itself (the command line without
``--as``); a person acting must hold the certifier role (or be an admin).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from certificates import eligibility, issuer, queries
from certificates.achievements import achievement_snapshot, result_id
from certificates.credentials import openbadges, signing
from certificates.credentials import status_list as bitstring
from certificates.credentials.codes import generate_code
from certificates.credentials.openbadges import (
    CredentialSnapshot,
    IssuerSnapshot,
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
from certificates.pdf import CertificatePDF, CertificateSnapshot, CompetencyLine, embed_credential
from courses.assessments.grades import grade_changed
from courses.assessments.models import Assessment, Grade, GradeChange
from courses.competencies import rules
from courses.competencies.framework_csv import normalise_ecf_code, normalise_esco_uri
from courses.competencies.models import Competency
from courses.models import Course, Programme
from lms import audit
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User

logger = logging.getLogger(__name__)

TEMPLATE_VERSION = 1
MAX_LOGO_BYTES = 512 * 1024
MAX_REASON = 500
#: A status list is replaced by a new one once this share of its entries is used.
STATUS_LIST_FILL = 0.5
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_SCHEME_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
PARTICIPATION_FORMS = ("online", "onsite", "blended")


class CertificationError(Exception):
    """A certification action that cannot be done; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


def _sign_status_list(row: StatusList, bits: bitstring.StatusList, now: datetime) -> None:
    key = issuer.current_signing_key()
    url = issuer.status_list_url(row.id)
    unsigned = bitstring.build_status_list_credential(url, issuer.issuer_url(), bits, now)
    row.bits = bits.to_bytes()
    row.credential = signing.sign(unsigned, key.private_key, key.verification_method, now)


def current_status_list(now: datetime | None = None) -> StatusList:
    """Return the status list new certificates go on, starting a new one when needed."""
    now = now or utcnow()
    row = db.session.scalar(sa.select(StatusList).order_by(StatusList.id.desc()).limit(1))
    if row is not None:
        used = db.session.scalar(
            sa.select(sa.func.count()).where(Certificate.status_list_id == row.id)
        )
        if used < bitstring.MIN_ENTRIES * STATUS_LIST_FILL:
            return row
    bits = bitstring.StatusList(bitstring.MIN_ENTRIES, bitstring.STATUS_SIZE)
    row = StatusList(bits=bits.to_bytes())
    db.session.add(row)
    db.session.flush()
    _sign_status_list(row, bits, now)
    db.session.flush()
    logger.info("started status list %s", row.id)
    return row


def _set_status(cert: Certificate, value: int, now: datetime) -> None:
    """Set the certificate's entry and re-sign its list (the row is locked meanwhile)."""
    row = db.session.get(
        StatusList, cert.status_list_id, with_for_update=True, populate_existing=True
    )
    bits = bitstring.StatusList.from_bytes(row.bits, bitstring.STATUS_SIZE)
    bits.set(cert.status_index, value)
    _sign_status_list(row, bits, now)
    db.session.flush()


# --- issuance ------------------------------------------------------------------


def live_certificate(scheme: Scheme, trainee: User) -> Certificate | None:
    return db.session.scalar(
        sa.select(Certificate).where(
            Certificate.scheme_id == scheme.id,
            Certificate.user_id == trainee.id,
            Certificate.status.in_(LIVE_STATUSES),
        )
    )


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
    signs the credential and renders the PDF once. Concurrent calls give one
    certificate: the database's one-live-certificate index decides.
    """
    now = now or utcnow()
    _require_certifier(actor)
    existing = live_certificate(scheme, trainee)
    if existing is not None:
        return existing
    if not scheme.active:
        raise CertificationError(
            _("The scheme %(code)s is closed to new certificates.", code=scheme.code)
        )
    check_impartiality(actor, trainee)
    item = queries.scheme_rules([scheme])[scheme.id]
    record = queries.load_records([item], [trainee.id], now)[trainee.id]
    result = eligibility.evaluate(item.requirements, record)
    if not result.eligible:
        reasons = "; ".join(r.explanation for r in result.unmet) or _(
            "the scheme has no requirements"
        )
        raise NotEligible(
            _("%(name)s is not eligible: %(reasons)s", name=trainee.name, reasons=reasons), result
        )
    return _issue(scheme, trainee, item, record, actor=actor, now=now, batch=batch)


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
            "workload_hours": scheme.workload_hours,
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
            f"{c['level']}" + (f" — {c['level_name']}" if c["level_name"] else ""),
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
    )


def _issue(
    scheme: Scheme,
    trainee: User,
    item: queries.SchemeRules,
    record,
    *,
    actor: User | None,
    now: datetime,
    batch: IssuanceBatch | None,
    attempts: int = 5,
) -> Certificate:
    key = issuer.current_signing_key()
    status_row = current_status_list(now)
    valid_until = add_months(now, scheme.validity_months) if scheme.validity_months else None
    snapshot = _snapshot(scheme, trainee, item, record, now, valid_until)
    achievement = achievement_snapshot(scheme, item)
    results = _results(scheme, item, record)
    for _attempt in range(attempts):
        code = generate_code()
        used = set(
            db.session.scalars(
                sa.select(Certificate.status_index).where(
                    Certificate.status_list_id == status_row.id
                )
            )
        )
        index = bitstring.allocate_index(used)
        credential = openbadges.issue_credential(
            CredentialSnapshot(
                id=issuer.credential_url(code),
                name=scheme.title_en,
                issuer=IssuerSnapshot(
                    id=issuer.issuer_url(),
                    name=current_app.config["CENTRE_NAME"],
                    url=issuer.base_url(),
                ),
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
                credential_status=bitstring.status_entry(
                    issuer.status_list_url(status_row.id), index
                ),
            ),
            key.private_key,
            key.verification_method,
            now,
        )
        rendered = CertificatePDF(_pdf_snapshot(code, snapshot, scheme)).render()
        pdf = embed_credential(rendered, credential_bytes(credential))
        cert = Certificate(
            code=code,
            scheme_id=scheme.id,
            user_id=trainee.id,
            status=CertificateStatus.ACTIVE,
            status_list_id=status_row.id,
            status_index=index,
            issued_at=now,
            valid_from=now,
            valid_until=valid_until,
            issued_by_id=actor.id if actor else None,
            signing_key_id=key.row.id,
            snapshot=snapshot,
            credential=credential,
            pdf=pdf,
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            batch_id=batch.id if batch else None,
        )
        try:
            with db.session.begin_nested():
                db.session.add(cert)
                db.session.flush()
        except sa.exc.IntegrityError:
            winner = live_certificate(scheme, trainee)
            if winner is not None:
                logger.info(
                    "certificate for user %s on %s issued concurrently", trainee.id, scheme.code
                )
                return winner
            logger.warning("verification code or status index collided; retrying")
            continue
        audit.record(
            "certificate.issue",
            cert,
            actor=actor,
            code=code,
            scheme=scheme.code,
            user=trainee.id,
            batch=batch.id if batch else None,
        )
        logger.info("issued certificate %s (%s) to user %s", code, scheme.code, trainee.id)
        return cert
    raise CertificationError(_("Could not allocate a unique code; try again."))


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
    _set_status(cert, bitstring.SUSPENDED, now)
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
    _set_status(cert, bitstring.ACTIVE, now)
    audit.record("certificate.reinstate", cert, actor=actor, code=cert.code, reason=reason or None)
    return cert


def revoke(
    cert: Certificate, *, reason: str, actor: User | None, now: datetime | None = None
) -> Certificate:
    """Revoke a certificate for good; the row, its PDF and the reason stay."""
    now = now or utcnow()
    _require_certifier(actor)
    reason = _reason(reason, required=True)
    if cert.status == CertificateStatus.REVOKED:
        raise CertificationError(_("This certificate is revoked already."))
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = now
    cert.revocation_reason = reason
    _set_status(cert, bitstring.REVOKED, now)
    audit.record("certificate.revoke", cert, actor=actor, code=cert.code, reason=reason)
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
                date=cert.issued_at.date().isoformat(),
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
    """Issue a new certificate that supersedes ``cert``; both stay in the register."""
    now = now or utcnow()
    _require_certifier(actor)
    trainee = cert.user
    check_impartiality(actor, trainee)
    problem = renewal_due_reason(cert, now)
    if problem:
        raise CertificationError(problem)
    scheme = cert.scheme
    item = queries.scheme_rules([scheme])[scheme.id]
    record = queries.load_records([item], [trainee.id], now)[trainee.id]
    cert.status = CertificateStatus.SUPERSEDED
    db.session.flush()  # frees the one-live-certificate slot
    new = _issue(scheme, trainee, item, record, actor=actor, now=now, batch=None)
    cert.superseded_by_id = new.id
    db.session.flush()
    audit.record("certificate.renew", cert, actor=actor, code=cert.code, new=new.code)
    return new


# --- grade changes after issue -----------------------------------------------------


def flag_for_review(grade: Grade, change: GradeChange | None = None) -> list[Certificate]:
    """Flag live certificates that rest on ``grade``; the certificates themselves never change."""
    assessment = db.session.get(Assessment, grade.assessment_id)
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


@grade_changed.connect
def _on_grade_changed(grade: Grade, change: GradeChange | None = None, **_extra) -> None:
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

    After each chunk the batch's position is flushed and ``on_chunk(batch)`` runs;
    the caller commits there, so a crash loses at most the chunk in progress,
    which the next run repeats (issuance is idempotent per trainee and scheme).
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
            if user is None or live_certificate(scheme, user) is not None:
                batch.skipped += 1
                continue
            try:
                with db.session.begin_nested():
                    issue_certificate(scheme, user, actor=actor, now=now, batch=batch)
            except CertificationError as error:
                logger.info("batch %s: user %s skipped: %s", batch.id, user_id, error)
                batch.skipped += 1
            else:
                batch.issued += 1
        batch.position += len(chunk)
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
