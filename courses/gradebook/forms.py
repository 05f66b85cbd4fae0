"""Forms for gradebook setup, manual grades and course grade overrides."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from courses.assessments.grading_rules import MAX_REASON_LENGTH
from courses.assessments.models import Assessment, GradeCategory
from courses.gradebook.operations import CategoryData, ManualAssessmentData
from courses.models import Course
from lms.extensions import db
from lms.forms import strip


def parse_decimal(text: str | None) -> Decimal | None:
    """Read a number typed by a person: a comma or a point as the decimal mark; None if empty."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(text)
    return number


class NumberField(StringField):
    """A decimal number typed with a comma or a point; ``data`` is a Decimal or None."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        try:
            self.data = parse_decimal(self.raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a number, such as 12 or 12.5.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


def _range(minimum, maximum, message):
    def check(form, field):
        if field.data is not None and not minimum <= field.data <= maximum:
            raise ValidationError(message)

    return check


def _two_places(form, field):
    if field.data is not None and field.data != field.data.quantize(Decimal("0.01")):
        raise ValidationError(_l("Use at most two decimal places."))


class CategoryForm(FlaskForm):
    name_en = StringField(
        _l("Name (English)"), validators=[DataRequired(), Length(max=120)], filters=[strip]
    )
    name_bg = StringField(_l("Name (Bulgarian)"), validators=[Length(max=120)], filters=[strip])
    weight = NumberField(
        _l("Weight"),
        validators=[
            InputRequired(_l("Give the category a weight.")),
            _range(0, 1_000_000, _l("The weight cannot be negative.")),
            _two_places,
        ],
        description=_l("Categories count in proportion to their weights, e.g. 30, 50 and 20."),
    )
    drop_lowest = IntegerField(
        _l("Drop the lowest"),
        default=0,
        validators=[
            InputRequired(_l("Enter how many lowest grades to drop (0 for none).")),
            NumberRange(min=0, max=100, message=_l("Drop between 0 and 100 grades.")),
        ],
        description=_l("How many of each trainee's lowest grades in this category not to count."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, course: Course, category: GradeCategory | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.category = category

    def validate_name_en(self, field):
        query = sa.select(GradeCategory.id).where(
            GradeCategory.course_id == self.course.id, GradeCategory.name_en == field.data
        )
        if self.category is not None:
            query = query.where(GradeCategory.id != self.category.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(_l("This course already has a category with this name."))

    def to_data(self) -> CategoryData:
        return CategoryData(
            name_en=self.name_en.data,
            name_bg=self.name_bg.data or "",
            weight=self.weight.data,
            drop_lowest=self.drop_lowest.data,
        )


class PassMarkForm(FlaskForm):
    pass_mark = NumberField(
        _l("Pass mark (course grade out of 100)"),
        validators=[
            InputRequired(_l("Enter the pass mark.")),
            _range(0, 100, _l("The pass mark must be a number from 0 to 100.")),
            _two_places,
        ],
    )
    submit = SubmitField(_l("Save pass mark"))


def _category_choices(course: Course) -> list[tuple[int, str]]:
    categories = db.session.scalars(
        sa.select(GradeCategory)
        .where(GradeCategory.course_id == course.id)
        .order_by(GradeCategory.position, GradeCategory.id)
    )
    return [(0, str(_l("No category")))] + [(c.id, c.tr("name")) for c in categories]


def _category_of(course: Course, category_id: int | None) -> GradeCategory | None:
    if not category_id:
        return None
    category = db.session.get(GradeCategory, category_id)
    if category is None or category.course_id != course.id:
        raise ValidationError(_l("Choose a category of this course."))
    return category


class ManualAssessmentForm(FlaskForm):
    title_en = StringField(
        _l("Title (English)"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    title_bg = StringField(_l("Title (Bulgarian)"), validators=[Length(max=200)], filters=[strip])
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Length(max=10_000)], filters=[strip]
    )
    description_bg = TextAreaField(
        _l("Description (Bulgarian)"), validators=[Length(max=10_000)], filters=[strip]
    )
    max_points = NumberField(
        _l("Maximum points"),
        default=Decimal(100),
        validators=[
            InputRequired(_l("Enter the maximum points.")),
            _range(
                Decimal("0.01"), Decimal("999999.99"), _l("The maximum points must be above 0.")
            ),
            _two_places,
        ],
    )
    pass_percent = NumberField(
        _l("Pass percentage"),
        validators=[
            Optional(),
            _range(0, 100, _l("The pass percentage must be between 0 and 100.")),
            _two_places,
        ],
        description=_l("Leave empty if this assessment has no pass or fail."),
    )
    required = BooleanField(_l("Required: must be passed to complete the course"))
    category = SelectField(_l("Category"), coerce=int, default=0)
    due_at = DateTimeLocalField(
        _l("Due"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description=_l("Local time. After it, an ungraded trainee counts as missing (0)."),
    )
    published = BooleanField(
        _l("Published: shown to trainees and counted in the course grade"), default=True
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, course: Course, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.category.choices = _category_choices(course)

    def validate_category(self, field):
        _category_of(self.course, field.data)

    def to_data(self) -> ManualAssessmentData:
        due_at = self.due_at.data
        if due_at is not None and due_at.tzinfo is None:  # typed as local time
            zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
            due_at = due_at.replace(tzinfo=zone).astimezone(UTC)
        return ManualAssessmentData(
            title_en=self.title_en.data,
            title_bg=self.title_bg.data or "",
            description_en=self.description_en.data or "",
            description_bg=self.description_bg.data or "",
            max_points=self.max_points.data,
            pass_percent=self.pass_percent.data,
            required=self.required.data,
            category=_category_of(self.course, self.category.data),
            due_at=due_at,
            published=self.published.data,
        )

    @classmethod
    def for_assessment(cls, assessment: Assessment, **kwargs) -> ManualAssessmentForm:
        form = cls(obj=assessment, course=assessment.course, **kwargs)
        if not form.is_submitted():
            form.category.data = assessment.category_id or 0
            if assessment.due_at is not None:
                zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
                form.due_at.data = assessment.due_at.astimezone(zone).replace(tzinfo=None)
        return form


class AssessmentCategoryForm(FlaskForm):
    category = SelectField(_l("Category"), coerce=int, default=0)
    submit = SubmitField(_l("Move"))

    def __init__(self, *args, course: Course, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.category.choices = _category_choices(course)

    def validate_category(self, field):
        _category_of(self.course, field.data)


class GradeForm(FlaskForm):
    points = NumberField(_l("Points"), validators=[Optional()])
    excused = BooleanField(_l("Excused: this assessment does not count for the trainee"))
    release = BooleanField(_l("Released: the trainee sees this grade"))
    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=MAX_REASON_LENGTH)],
        filters=[strip],
        description=_l("Required when you change a grade that was already given."),
    )
    version = HiddenField(default="0")
    submit = SubmitField(_l("Save grade"))

    def validate_points(self, field):
        if field.data is None and not self.excused.data:
            raise ValidationError(_l("Enter the points, or mark the trainee as excused."))

    @property
    def expected_version(self) -> int:
        try:
            return int(self.version.data or 0)
        except (TypeError, ValueError):
            return -1  # a tampered version never matches: the save is refused as stale


class OverrideForm(FlaskForm):
    value = StringField(
        _l("Course grade (0-100)"),
        validators=[
            InputRequired(_l("Enter the grade as a number from 0 to 100.")),
            Length(max=20),
        ],
        filters=[strip],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Give a reason for the override.")),
            Length(max=MAX_REASON_LENGTH),
        ],
        filters=[strip],
    )
    submit = SubmitField(_l("Override the course grade"))


class RemoveOverrideForm(FlaskForm):
    remove_reason = TextAreaField(
        _l("Reason for removing the override"),
        validators=[
            DataRequired(_l("Give a reason for removing the override.")),
            Length(max=MAX_REASON_LENGTH),
        ],
        filters=[strip],
    )
    remove = SubmitField(_l("Remove the override"))
