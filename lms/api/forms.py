"""The form that creates a personal access token."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.validators import DataRequired, Length, ValidationError

from lms.api.operations import MAX_LIFETIME, NAME_MAX
from lms.auth.forms import no_control_characters, strip

SCOPE_LABELS = {
    "read": _l("read — see what your account may see"),
    "learn": _l("learn — enrol, study, take quizzes, submit work"),
    "teach": _l("teach — manage cohorts, grade, release grades"),
    "certify": _l("certify — issue, suspend and revoke certificates"),
    "admin": _l("admin — administer the centre"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please name the token.")),
            Length(max=NAME_MAX, message=_l("At most %(max)d characters.")),
            no_control_characters,
        ],
        description=_l("What the token is for, e.g. the HR system."),
    )
    scopes = MultiCheckboxField(
        _l("Scopes"),
        validators=[DataRequired(_l("Choose at least one scope."))],
        description=_l("What the token may do; it never goes beyond your roles."),
    )
    expires_on = DateField(
        _l("Expires on"),
        validators=[DataRequired(_l("Please give a valid date."))],
        description=_l("At most one year from today."),
    )
    submit = SubmitField(_l("Create token"))

    def __init__(self, *args, allowed: frozenset[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = [(s, label) for s, label in SCOPE_LABELS.items() if s in allowed]
        if self.expires_on.data is None and not self.is_submitted():
            self.expires_on.data = date.today() + timedelta(days=90)

    def validate_expires_on(self, field) -> None:
        if field.data <= date.today():
            raise ValidationError(_l("The expiry must be after today."))
        if field.data > date.today() + MAX_LIFETIME - timedelta(days=1):
            raise ValidationError(_l("A token may live at most one year."))
