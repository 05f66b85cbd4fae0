"""Writes for schemes (fields, design, requirements) and for impartiality waivers."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from certificates import queries
from certificates.models import (
    ImpartialityWaiver,
    RenewalRule,
    RequirementKind,
    Scheme,
    SchemeRequirement,
)
from certificates.operations.common import CertificationError, _reason
from courses.assessments.models import Assessment
from courses.competencies.framework_csv import normalise_ecf_code, normalise_esco_uri
from courses.competencies.models import Competency
from courses.models import Course, Programme
from lms import audit
from lms.extensions import db
from lms.models import Role, User

logger = logging.getLogger(__name__)

MAX_LOGO_BYTES = 512 * 1024
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_SCHEME_CODE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
PARTICIPATION_FORMS = ("online", "onsite", "blended")

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
