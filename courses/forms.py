"""Forms for curriculum authoring and the catalogue search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from courses import operations as ops
from courses.models import CourseState
from courses.queries import all_course_codes
from lms.forms import strip


def _code(value):
    return ops.normalise_code(value) if isinstance(value, str) else value


_CODE_VALIDATORS = [
    DataRequired(),
    Length(max=ops.CODE_MAX),
    Regexp(
        ops.CODE_PATTERN,
        message=_l("Use only letters A-Z, digits, dots, dashes and underscores."),
    ),
]


def _title(label):
    return StringField(label, [DataRequired(), Length(max=ops.TITLE_MAX)], filters=[strip])


def _title_bg(label):
    return StringField(label, [Optional(), Length(max=ops.TITLE_MAX)], filters=[strip])


def _summary(label):
    return TextAreaField(
        label, [Optional(), Length(max=ops.SUMMARY_MAX)], filters=[strip], render_kw={"rows": 4}
    )


def instructor_choice(user) -> SelectChoice:
    """Return the option for a user in the instructors list."""
    return SelectChoice(user.id, f"{user.display_name} <{user.email}>")


class CourseForm(FlaskForm):
    """Create or edit a course; the instructors field is kept for admins only."""

    code = StringField(
        _l("Code"),
        _CODE_VALIDATORS,
        filters=[_code],
        description=_l("For example SC-PM-101. Stored in capitals; unique."),
    )
    title_en = _title(_l("Title (English)"))
    title_bg = _title_bg(_l("Title (Bulgarian)"))
    summary_en = _summary(_l("Summary (English)"))
    summary_bg = _summary(_l("Summary (Bulgarian)"))
    workload_hours = IntegerField(
        _l("Workload (hours)"),
        [
            InputRequired(),
            NumberRange(
                min=0,
                max=ops.WORKLOAD_HOURS_MAX,
                message=_l(
                    "Enter a number of hours from 0 to %(max)s.", max=ops.WORKLOAD_HOURS_MAX
                ),
            ),
        ],
        default=0,
    )
    instructors = SelectMultipleField(
        _l("Instructors"),
        coerce=int,
        validators=[DataRequired(message=_l("Choose at least one instructor."))],
        render_kw={"size": 6},
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, course=None, instructor_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        if instructor_choices is None:
            del self.instructors
        else:
            self.instructors.choices = [instructor_choice(u) for u in instructor_choices]

    def validate_code(self, field):
        if ops.course_code_taken(field.data, exclude=self.course):
            raise ValidationError(_l("A course with this code already exists."))


class ModuleForm(FlaskForm):
    title_en = _title(_l("Title (English)"))
    title_bg = _title_bg(_l("Title (Bulgarian)"))
    submit = SubmitField(_l("Save"))


class LessonForm(FlaskForm):
    """Add or edit a lesson; ``preview`` renders the bodies without saving."""

    title_en = _title(_l("Title (English)"))
    title_bg = _title_bg(_l("Title (Bulgarian)"))
    module = SelectField(_l("Module"), coerce=int)
    body_en = TextAreaField(
        _l("Text (English, Markdown)"),
        [Optional(), Length(max=ops.BODY_MAX)],
        render_kw={"rows": 14, "class": "font-monospace"},
    )
    body_bg = TextAreaField(
        _l("Text (Bulgarian, Markdown)"),
        [Optional(), Length(max=ops.BODY_MAX)],
        render_kw={"rows": 14},
    )
    workload_minutes = IntegerField(
        _l("Workload (minutes)"),
        [
            InputRequired(),
            NumberRange(
                min=0,
                max=ops.WORKLOAD_MINUTES_MAX,
                message=_l(
                    "Enter a number of minutes from 0 to %(max)s.", max=ops.WORKLOAD_MINUTES_MAX
                ),
            ),
        ],
        default=30,
    )
    required = BooleanField(_l("Required for completion"), default=True)
    published = BooleanField(
        _l("Published: trainees see the lesson and, if required, need it for completion"),
        default=False,
    )
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, modules=None, **kwargs):
        super().__init__(*args, **kwargs)
        if modules is None:
            del self.module
        else:
            self.module.choices = [SelectChoice(m.id, m.tr("title")) for m in modules]


class OutcomeForm(FlaskForm):
    text_en = TextAreaField(
        _l("Outcome (English)"),
        [DataRequired(), Length(max=ops.OUTCOME_MAX)],
        filters=[strip],
        render_kw={"rows": 2},
    )
    text_bg = TextAreaField(
        _l("Outcome (Bulgarian)"),
        [Optional(), Length(max=ops.OUTCOME_MAX)],
        filters=[strip],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Save"))


class ProgrammeForm(FlaskForm):
    """Create or edit a programme and its ordered courses (one code a line)."""

    code = StringField(_l("Code"), _CODE_VALIDATORS, filters=[_code])
    title_en = _title(_l("Title (English)"))
    title_bg = _title_bg(_l("Title (Bulgarian)"))
    summary_en = _summary(_l("Summary (English)"))
    summary_bg = _summary(_l("Summary (Bulgarian)"))
    courses = TextAreaField(
        _l("Courses"),
        [Optional(), Length(max=5000)],
        description=_l("Course codes, one a line, in the order trainees take them."),
        render_kw={"rows": 6, "class": "font-monospace"},
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, programme=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme = programme
        self.course_list = []

    def validate_code(self, field):
        if ops.programme_code_taken(field.data, exclude=self.programme):
            raise ValidationError(_l("A programme with this code already exists."))

    def validate_courses(self, field):
        codes = [ops.normalise_code(line) for line in (field.data or "").splitlines()]
        codes = [c for c in codes if c]
        known = all_course_codes()
        missing = [c for c in codes if c not in known]
        if missing:
            raise ValidationError(_l("No course has the code %(codes)s.", codes=", ".join(missing)))
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValidationError(
                _l("Each course appears once; repeated: %(codes)s.", codes=", ".join(repeated))
            )
        self.course_list = [known[c] for c in codes]


_STATES = [SelectChoice(s.value) for s in CourseState]


class StateForm(FlaskForm):
    """Publish, archive or return to draft (the buttons carry the state)."""

    state = SelectField(_l("State"), choices=_STATES)


class MoveForm(FlaskForm):
    direction = SelectField(
        _l("Direction"),
        choices=[SelectChoice(ops.UP, _l("Up")), SelectChoice(ops.DOWN, _l("Down"))],
    )


class PublishForm(FlaskForm):
    """Publish a draft (``1``) or return it to draft (``0``)."""

    published = SelectField(
        _l("Published"), choices=[SelectChoice("1", _l("Publish")), SelectChoice("0", _l("Draft"))]
    )
