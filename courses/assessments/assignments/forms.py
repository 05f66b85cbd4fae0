"""Forms for assignments: authoring, rubric builder, handing in and marking."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    RadioField,
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
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from courses.assessments.assignments.models import (
    Assignment,
    MarkingScheme,
    Resubmission,
    RubricCriterion,
)
from courses.assessments.assignments.operations import MAX_TEXT_LENGTH, AssignmentData
from courses.assessments.assignments.storage import FILE_TYPES
from courses.assessments.grading_rules import LatePolicy
from courses.assessments.models import GradeCategory
from lms.forms import strip

MAX_FILE_MB = 15  # below the request limit (MAX_CONTENT_LENGTH, 16 MB)
MAX_DESCRIPTION = 20_000


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignmentForm(FlaskForm):
    title_en = StringField(
        _l("Title (English)"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    title_bg = StringField(
        _l("Title (Bulgarian)"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    description_en = TextAreaField(
        _l("Instructions (English)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        description=_l("Markdown. Say what to hand in and how it will be marked."),
        render_kw={"rows": 8},
    )
    description_bg = TextAreaField(
        _l("Instructions (Bulgarian)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 8},
    )
    max_points = DecimalField(
        _l("Maximum points"),
        places=2,
        default=Decimal(100),
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=Decimal(10_000))],
    )
    pass_percent = DecimalField(
        _l("Pass mark (%)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=100)],
        description=_l("Leave empty if this assignment has no pass mark of its own."),
    )
    required = BooleanField(_l("Required to complete the course"))
    category = SelectField(_l("Gradebook category"), coerce=int, default=0)
    due_at = DateTimeLocalField(
        _l("Due"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description=_l("Local time. Leave empty for no due date."),
    )
    published = BooleanField(_l("Published: enrolled trainees can see it and hand in"))
    allow_text = BooleanField(_l("Trainees may write a text"), default=True)
    allow_files = BooleanField(_l("Trainees may upload files"))
    allowed_types = MultiCheckboxField(
        _l("Accepted file types"),
        choices=[
            SelectChoice(key, f"{t.label} ({', '.join(t.extensions)})")
            for key, t in FILE_TYPES.items()
        ],
    )
    max_file_mb = IntegerField(
        _l("Largest file (MB)"),
        default=5,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_FILE_MB)],
    )
    max_files = IntegerField(
        _l("Most files per submission"),
        default=3,
        validators=[InputRequired(), NumberRange(min=1, max=10)],
    )
    late_policy = SelectField(
        _l("Late work"),
        choices=[
            SelectChoice(LatePolicy.ACCEPT.value, _l("Accept it as is")),
            SelectChoice(LatePolicy.PENALISE.value, _l("Accept it with a penalty per day")),
            SelectChoice(LatePolicy.REFUSE.value, _l("Refuse it")),
        ],
        default=LatePolicy.ACCEPT.value,
    )
    late_percent_per_day = DecimalField(
        _l("Penalty per started day late (%)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    resubmission = SelectField(
        _l("Handing in again"),
        choices=[
            SelectChoice(Resubmission.UNTIL_GRADED.value, _l("Allowed until graded")),
            SelectChoice(
                Resubmission.UNTIL_DUE.value, _l("Allowed until the due date (and until graded)")
            ),
            SelectChoice(Resubmission.NEVER.value, _l("Not allowed: one submission")),
        ],
        default=Resubmission.UNTIL_GRADED.value,
    )
    marking = SelectField(
        _l("Marking"),
        choices=[
            SelectChoice(MarkingScheme.RUBRIC.value, _l("Rubric: criteria with levels")),
            SelectChoice(
                MarkingScheme.GUIDE.value, _l("Marking guide: criteria with a maximum each")
            ),
            SelectChoice(MarkingScheme.POINTS.value, _l("Points only")),
        ],
        default=MarkingScheme.RUBRIC.value,
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, categories: list[GradeCategory], **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = {c.id: c for c in categories}
        self.category.choices = [SelectChoice(0, _("None"))] + [
            SelectChoice(c.id, c.tr("name")) for c in categories
        ]

    def fill(self, assignment: Assignment) -> None:
        """Show an existing assignment in the form."""
        assessment = assignment.assessment
        for name in ("title_en", "title_bg", "description_en", "description_bg"):
            getattr(self, name).data = getattr(assessment, name)
        self.max_points.data = assessment.max_points
        self.pass_percent.data = assessment.pass_percent
        self.required.data = assessment.required
        self.category.data = assessment.category_id or 0
        self.due_at.data = (
            to_user_timezone(assessment.due_at).replace(tzinfo=None) if assessment.due_at else None
        )
        self.published.data = assessment.published
        self.allow_text.data = assignment.allow_text
        self.allow_files.data = assignment.allow_files
        self.allowed_types.data = assignment.type_keys
        self.max_file_mb.data = max(1, assignment.max_file_bytes // (1024 * 1024))
        self.max_files.data = assignment.max_files
        self.late_policy.data = assignment.late_policy
        self.late_percent_per_day.data = assignment.late_percent_per_day
        self.resubmission.data = assignment.resubmission
        self.marking.data = assignment.marking

    def validate_allow_files(self, field):
        if not field.data and not self.allow_text.data:
            raise ValidationError(_("Allow text, files or both."))

    def validate_allowed_types(self, field):
        if self.allow_files.data and not field.data:
            raise ValidationError(_("Choose at least one type of file to accept."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here: Optional() on the empty field stops its own validators.
        if self.late_policy.data == LatePolicy.PENALISE and not self.late_percent_per_day.data:
            self.late_percent_per_day.errors = [
                *self.late_percent_per_day.errors,
                _("A late penalty needs a percentage per day above 0."),
            ]
            valid = False
        return valid

    def validate_late_policy(self, field):
        if field.data != LatePolicy.ACCEPT and not self.due_at.data:
            raise ValidationError(_("A late policy other than 'accept' needs a due date."))

    def validate_resubmission(self, field):
        if field.data == Resubmission.UNTIL_DUE and not self.due_at.data:
            raise ValidationError(_("Resubmission until the due date needs a due date."))

    def to_data(self) -> AssignmentData:
        due_at = self.due_at.data
        return AssignmentData(
            title_en=self.title_en.data,
            title_bg=self.title_bg.data or "",
            description_en=self.description_en.data or "",
            description_bg=self.description_bg.data or "",
            max_points=self.max_points.data,
            pass_percent=self.pass_percent.data,
            required=self.required.data,
            category=self.categories.get(self.category.data),
            due_at=to_utc(due_at).replace(tzinfo=UTC) if isinstance(due_at, datetime) else None,
            published=self.published.data,
            allow_text=self.allow_text.data,
            allow_files=self.allow_files.data,
            allowed_types=list(self.allowed_types.data or []) if self.allow_files.data else [],
            max_file_bytes=self.max_file_mb.data * 1024 * 1024,
            max_files=self.max_files.data,
            late_policy=self.late_policy.data,
            late_percent_per_day=self.late_percent_per_day.data or Decimal(0),
            resubmission=self.resubmission.data,
            marking=self.marking.data,
        )


class CriterionForm(FlaskForm):
    title_en = StringField(
        _l("Criterion (English)"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    title_bg = StringField(
        _l("Criterion (Bulgarian)"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    description_en = TextAreaField(
        _l("What is looked at (English)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 2},
    )
    description_bg = TextAreaField(
        _l("What is looked at (Bulgarian)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 2},
    )
    guide_max = DecimalField(
        _l("Maximum points"),
        places=2,
        validators=[Optional(), NumberRange(min=Decimal("0.01"), max=Decimal(10_000))],
        description=_l("Marking guides only."),
    )
    submit = SubmitField(_l("Save criterion"))


class LevelForm(FlaskForm):
    title_en = StringField(
        _l("Level (English)"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    title_bg = StringField(
        _l("Level (Bulgarian)"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    description_en = TextAreaField(
        _l("Description (English)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 2},
    )
    description_bg = TextAreaField(
        _l("Description (Bulgarian)"),
        validators=[Optional(), Length(max=MAX_DESCRIPTION)],
        render_kw={"rows": 2},
    )
    points = DecimalField(
        _l("Points"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=Decimal(10_000))],
    )
    submit = SubmitField(_l("Save level"))


class SubmitForm(FlaskForm):
    text = TextAreaField(
        _l("Your text"),
        validators=[Optional(), Length(max=MAX_TEXT_LENGTH)],
        render_kw={"rows": 12},
    )
    files = MultipleFileField(_l("Files"))
    submit = SubmitField(_l("Hand in"))


class LevelChoiceField(RadioField):
    """A rubric criterion: exactly one of its own levels."""

    def pre_validate(self, form):
        if self.data is None:
            return  # InputRequired speaks
        if not any(choice.value == self.data for choice in self.choices):
            raise ValidationError(_("Choose one of the levels of this criterion."))


class GradeForm(FlaskForm):
    """Fields shared by every marking page; criteria are added per assignment."""

    points = DecimalField(_l("Points"), places=2, validators=[Optional()])
    feedback = TextAreaField(
        _l("Feedback to the trainee"),
        validators=[Optional(), Length(max=MAX_TEXT_LENGTH)],
        render_kw={"rows": 6},
    )
    grade_version = HiddenField()
    marking_version = HiddenField()
    save = SubmitField(_l("Save draft"))
    save_next = SubmitField(_l("Save and next"))

    criterion_fields: list[tuple[RubricCriterion, str]]

    def choices(self) -> dict[int, int | Decimal | None]:
        return {c.id: getattr(self, name).data for c, name in self.criterion_fields}

    @staticmethod
    def version(field) -> int | None:
        try:
            return int(field.data)
        except (TypeError, ValueError):
            return None


def grade_form(assignment: Assignment, *args, **kwargs) -> GradeForm:
    """Build the marking form of ``assignment``: one radio group or mark per criterion."""

    class AssignmentGradeForm(GradeForm):
        pass

    names = []
    for criterion in assignment.criteria:
        name = f"criterion_{criterion.id}"
        message = _("Give a mark for %(criterion)s.", criterion=criterion.tr("title"))
        if assignment.marking == MarkingScheme.RUBRIC:
            field = LevelChoiceField(
                criterion.tr("title"),
                coerce=int,
                choices=[
                    SelectChoice(level.id, f"{level.tr('title')} ({level.points})")
                    for level in criterion.levels
                ],
                validators=[InputRequired(message=message)],
            )
        else:
            maximum = criterion.guide_max or Decimal(0)
            field = DecimalField(
                criterion.tr("title"),
                places=2,
                validators=[
                    InputRequired(message=message),
                    NumberRange(
                        min=0,
                        max=maximum,
                        message=_("Give between 0 and %(max)s points.", max=maximum),
                    ),
                ],
                description=_("0 to %(max)s points", max=maximum),
            )
        setattr(AssignmentGradeForm, name, field)
        names.append((criterion, name))
    form = AssignmentGradeForm(*args, **kwargs)
    form.criterion_fields = names
    if assignment.marking == MarkingScheme.POINTS:
        form.points.validators = [
            InputRequired(message=_("Enter the points.")),
            NumberRange(min=0, max=assignment.assessment.max_points),
        ]
    return form
