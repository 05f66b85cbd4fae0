"""Forms of the admin pages: finding, creating and editing users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from lms.auth.forms import (
    EMAIL_MAX,
    ROLE_LABELS,
    email_field,
    name_field,
    name_latin_field,
    strip,
)
from lms.auth.operations import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, find_user_by_email
from lms.models import Role, User


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def at_least_one_role(form, field) -> None:
    # Not DataRequired: its "required" flag would mark every checkbox as required.
    if not field.data:
        raise ValidationError(_l("Choose at least one role."))


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, ROLE_LABELS[role]) for role in Role]


class UserFilterForm(FlaskForm):
    """The search box and filters above the user list (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        filters=[strip],
        validators=[Optional(), Length(max=EMAIL_MAX)],
        render_kw={"placeholder": _l("Name or e-mail address")},
    )
    role = SelectField(_l("Role"), validators=[Optional()])
    status = SelectField(
        _l("State"),
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("active", _l("Active")),
            SelectChoice("inactive", _l("Deactivated")),
        ],
        validators=[Optional()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice("", _l("Any role")), *role_choices()]


class _UserForm(FlaskForm):
    name = name_field()
    name_latin = name_latin_field()
    email = email_field()
    roles = MultiCheckboxField(
        _l("Roles"),
        validators=[at_least_one_role],
    )

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.roles.choices = role_choices()

    def validate_email(self, field) -> None:
        other = find_user_by_email(field.data)
        if other is not None and (self.user is None or other.id != self.user.id):
            raise ValidationError(_l("An account with this e-mail address already exists."))


class UserCreateForm(_UserForm):
    password = PasswordField(
        _l("Initial password"),
        validators=[
            Optional(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Between %(min)d and %(max)d characters."),
            ),
        ],
        description=_l("Leave empty to e-mail the person a link to choose their own password."),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Create the user"))


class UserEditForm(_UserForm):
    active = BooleanField(_l("Active (can log in)"))
    submit = SubmitField(_l("Save"))

    def _editing_self(self) -> bool:
        return self.user is not None and self.user.id == current_user.id

    def validate_roles(self, field) -> None:
        if self._editing_self() and Role.ADMIN.value not in (field.data or []):
            raise ValidationError(_l("You cannot remove your own admin role."))

    def validate_active(self, field) -> None:
        if self._editing_self() and not field.data:
            raise ValidationError(_l("You cannot deactivate your own account."))
