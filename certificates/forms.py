"""Forms for schemes, requirements, design, waivers and certificate decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from certificates import operations as ops
from certificates.models import RenewalRule
from lms.forms import strip


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _text(label, limit, required=False, area=False):
    validators = [DataRequired() if required else Optional(), Length(max=limit)]
    field = TextAreaField if area else StringField
    kwargs = {"render_kw": {"rows": 3}} if area else {}
    return field(label, validators, filters=[strip], **kwargs)


class SchemeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        [
            DataRequired(),
            Length(max=32),
            Regexp(
                r"^[A-Z0-9][A-Z0-9._-]*$",
                message=_l("Use only letters A-Z, digits, dots, dashes and underscores."),
            ),
        ],
        filters=[_upper],
    )
    title_en = _text(_l("Title (English)"), 200, required=True)
    title_bg = _text(_l("Title (Bulgarian)"), 200)
    description_en = _text(_l("Description (English)"), 5000, area=True)
    description_bg = _text(_l("Description (Bulgarian)"), 5000, area=True)
    criteria_en = _text(_l("Criteria (English)"), 5000, area=True)
    criteria_bg = _text(_l("Criteria (Bulgarian)"), 5000, area=True)
    programme = SelectField(_l("Programme"), coerce=int, validators=[Optional()])
    validity_months = IntegerField(
        _l("Validity (months)"),
        [Optional(), NumberRange(min=1, max=600)],
        description=_l("Leave empty if the certificate does not expire."),
    )
    renewal_rule = SelectField(
        _l("Renewal rule"),
        choices=[
            SelectChoice("", _l("No renewal")),
            SelectChoice(RenewalRule.EXAM.value, _l("Pass the certification exam again")),
            SelectChoice(RenewalRule.RECENT_EVIDENCE.value, _l("Recent competency evidence")),
        ],
    )
    renewal_evidence_months = IntegerField(
        _l("Evidence newer than (months)"), [Optional(), NumberRange(min=1, max=600)]
    )
    eqf_level = IntegerField(_l("EQF level"), [Optional(), NumberRange(min=1, max=8)])
    workload_hours = IntegerField(
        _l("Workload (hours), used only without a programme: otherwise its courses add up"),
        [Optional(), NumberRange(min=0, max=100000)],
        default=0,
    )
    assessment_form_en = _text(_l("Form of assessment (English)"), 500)
    assessment_form_bg = _text(_l("Form of assessment (Bulgarian)"), 500)
    participation_form = SelectField(
        _l("Form of participation"),
        choices=[
            SelectChoice("online", _l("Online")),
            SelectChoice("onsite", _l("On site")),
            SelectChoice("blended", _l("Blended")),
        ],
    )
    identity_check = _text(_l("Identity check"), 200)
    quality_assurance_en = _text(_l("Quality assurance (English)"), 500)
    quality_assurance_bg = _text(_l("Quality assurance (Bulgarian)"), 500)
    prerequisites_en = _text(_l("Prerequisites (English)"), 500)
    prerequisites_bg = _text(_l("Prerequisites (Bulgarian)"), 500)
    esco_uris = TextAreaField(
        _l("ESCO skills"),
        [Optional(), Length(max=5000)],
        description=_l("One URI per line: http://data.europa.eu/esco/skill/<uuid>"),
        render_kw={"rows": 3},
    )
    ecf_codes = StringField(
        _l("e-CF competences"),
        [Optional(), Length(max=200)],
        description=_l("Codes such as E.2 A.4, separated by spaces."),
    )
    active = BooleanField(_l("Open for certification"), default=True)

    def __init__(self, *args, scheme=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._scheme = scheme

    def validate_code(self, field):
        if ops.scheme_code_taken(field.data, exclude=self._scheme):
            raise ValidationError(_l("A scheme with this code exists already."))

    def validate_esco_uris(self, field):
        try:
            ops.parse_alignments(field.data or "", "")
        except ops.CertificationError as error:
            raise ValidationError(error.message) from error

    def validate_ecf_codes(self, field):
        try:
            ops.parse_alignments("", field.data or "")
        except ops.CertificationError as error:
            raise ValidationError(error.message) from error

    def validate_renewal_evidence_months(self, field):
        if self.renewal_rule.data == RenewalRule.RECENT_EVIDENCE and not field.data:
            raise ValidationError(_l("Say how recent the evidence must be."))

    def values(self) -> dict:
        data = {name: field.data for name, field in self._fields.items()}
        for name in ("csrf_token", "code", "programme"):
            data.pop(name, None)
        return data


class RequirementForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("course", _l("Course with a minimum grade")),
            SelectChoice("competency", _l("Competency at a minimum level")),
            SelectChoice("exam", _l("Certification exam")),
        ],
    )
    course = SelectField(_l("Course"), coerce=int, validators=[Optional()])
    competency = SelectField(_l("Competency"), coerce=int, validators=[Optional()])
    assessment = SelectField(_l("Exam (a quiz)"), coerce=int, validators=[Optional()])
    min_grade = DecimalField(
        _l("Minimum grade or percentage"), [Optional(), NumberRange(min=0, max=100)], places=2
    )
    min_level = IntegerField(_l("Minimum level"), [Optional(), NumberRange(min=1, max=100)])

    def validate_course(self, field):
        if self.kind.data == "course" and not field.data:
            raise ValidationError(_l("Choose the course."))

    def validate_competency(self, field):
        if self.kind.data == "competency" and not field.data:
            raise ValidationError(_l("Choose the competency."))

    def validate_assessment(self, field):
        if self.kind.data == "exam" and not field.data:
            raise ValidationError(_l("Choose the exam."))

    def validate_min_level(self, field):
        if self.kind.data == "competency" and not field.data:
            raise ValidationError(_l("Give the minimum level."))

    def validate_min_grade(self, field):
        if self.kind.data == "exam" and field.data is None:
            raise ValidationError(_l("Give the minimum percentage for the exam."))


class DesignForm(FlaskForm):
    colour = StringField(
        _l("Colour"),
        [
            DataRequired(),
            Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Write the colour as #RRGGBB, e.g. #0b5394.")),
        ],
        filters=[strip],
    )
    logo = FileField(_l("Logo (PNG or JPEG, at most 512 KB)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    signatory_name = _text(_l("Signatory's name"), 200)
    signatory_title = _text(_l("Signatory's title"), 200)
    signature = FileField(_l("Signature image (PNG or JPEG, at most 512 KB)"))
    remove_signature = BooleanField(_l("Remove the signature image"))

    def validate_signature(self, field):
        self.validate_logo(field)

    def validate_logo(self, field):
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            field.data = None
            return
        try:
            data = upload.read(ops.MAX_LOGO_BYTES + 1)
        finally:
            upload.close()  # a large upload is spooled to a temporary file
        try:
            ops.check_logo(data)
        except ops.CertificationError as error:
            raise ValidationError(error.message) from error
        field.data = data


class WaiverForm(FlaskForm):
    certifier_email = EmailField(
        _l("Certifier's e-mail"), [DataRequired(), Email(), Length(max=254)], filters=[strip]
    )
    trainee_email = EmailField(
        _l("Trainee's e-mail"), [DataRequired(), Email(), Length(max=254)], filters=[strip]
    )
    reason = _text(_l("Reason"), ops.MAX_REASON, required=True, area=True)


class ReasonForm(FlaskForm):
    reason = _text(_l("Reason"), ops.MAX_REASON, required=True, area=True)


class RevokeForm(FlaskForm):
    reason = _text(_l("Reason"), ops.MAX_REASON, required=True, area=True)
    in_error = BooleanField(
        _l("Issued in error: the trainee cannot be certified again until a certifier clears them")
    )


class OptionalReasonForm(FlaskForm):
    reason = _text(_l("Note"), ops.MAX_REASON, area=True)
