"""Forms for cohorts, enrolment by staff and CSV upload."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, IntegerField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from courses.enrolment.csv_import import EMAIL_MAX_LENGTH
from courses.enrolment.operations import CohortData
from courses.models import Cohort, Course
from lms.auth.operations import find_user_by_email
from lms.extensions import db
from lms.forms import strip


class CohortForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    name_bg = StringField(
        _l("Name (Bulgarian)"),
        validators=[Optional(), Length(max=120)],
        filters=[strip],
        description=_l("Shown on Bulgarian pages; leave empty to show the name above."),
    )
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired()])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=100_000)],
        description=_l("Number of places; leave empty for no limit."),
    )
    enrol_opens_on = DateField(
        _l("Enrolment opens on"),
        validators=[Optional()],
        description=_l("Leave empty to open enrolment now."),
    )
    enrol_closes_on = DateField(
        _l("Enrolment closes on"),
        validators=[Optional()],
        description=_l("Last day trainees can enrol; leave empty to keep it open."),
    )
    self_enrolment = BooleanField(_l("Trainees may enrol themselves"), default=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, course: Course, cohort: Cohort | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.cohort = cohort

    def validate_name(self, field):
        query = sa.select(Cohort.id).where(
            Cohort.course_id == self.course.id, Cohort.name == field.data.strip()
        )
        if self.cohort is not None:
            query = query.where(Cohort.id != self.cohort.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(_l("This course already has a cohort with that name."))

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The cohort cannot end before it starts."))

    def validate_enrol_closes_on(self, field):
        opens = self.enrol_opens_on.data
        if opens and field.data and field.data < opens:
            raise ValidationError(_l("Enrolment cannot close before it opens."))

    def to_data(self) -> CohortData:
        return CohortData(
            name=self.name.data.strip(),
            name_bg=(self.name_bg.data or "").strip(),
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            capacity=self.capacity.data,
            enrol_opens_on=self.enrol_opens_on.data,
            enrol_closes_on=self.enrol_closes_on.data,
            self_enrolment=bool(self.self_enrolment.data),
        )


class EnrolUserForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH), Email()],
        filters=[strip],
    )
    submit = SubmitField(_l("Enrol"))

    def validate_email(self, field):
        user = find_user_by_email(field.data)
        if user is None:
            raise ValidationError(
                _l(
                    "No account uses this address. To create accounts, "
                    "use the CSV import, which also enrols them."
                )
            )
        self.user = user


class CsvUploadForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file to upload.")),
            FileAllowed(["csv", "txt"], _l("Upload a .csv file.")),
        ],
        description=_l(
            "UTF-8 (with or without BOM), comma or semicolon separated, "
            "with a header line: email, and optionally name."
        ),
    )
    submit = SubmitField(_l("Upload and preview"))
