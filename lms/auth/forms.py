"""Forms for registration, log-in, the account page and password links."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from lms.auth.operations import (
    HIDDEN_CHARACTERS,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from lms.db import column_length
from lms.models import Role, User

NAME_MAX = column_length(User.__table__.c.name)
EMAIL_MAX = column_length(User.__table__.c.email)

ROLE_LABELS = {
    Role.TRAINEE: _l("Trainee"),
    Role.INSTRUCTOR: _l("Instructor"),
    Role.CERTIFIER: _l("Certifier"),
    Role.EMPLOYER: _l("Employer"),
    Role.ADMIN: _l("Administrator"),
    Role.MANAGER: _l("Centre manager"),
}


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_characters(form, field) -> None:
    """Refuse line breaks, NUL and other control characters (they break mail, CSV and PDFs),
    and bidirectional overrides (they make a printed name read differently)."""
    if field.data and HIDDEN_CHARACTERS.search(field.data):
        raise ValidationError(_l("Control characters such as line breaks are not allowed."))


def name_field() -> StringField:
    return StringField(
        _l("Full name"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your name.")),
            Length(max=NAME_MAX, message=_l("At most %(max)d characters.")),
            no_control_characters,
        ],
        description=_l("As it should appear on certificates."),
    )


def name_latin_field() -> StringField:
    return StringField(
        _l("Name in Latin letters"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=NAME_MAX, message=_l("At most %(max)d characters.")),
            no_control_characters,
        ],
        description=_l(
            "As in your passport, if your name is written in another alphabet; "
            "English pages show it."
        ),
    )


def email_field(label=None) -> EmailField:
    return EmailField(
        label or _l("E-mail address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter an e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters.")),
            Email(_l("This is not a valid e-mail address."), check_deliverability=False),
        ],
    )


def new_password_field(label=None) -> PasswordField:
    return PasswordField(
        label or _l("Password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Between %(min)d and %(max)d characters."),
            ),
        ],
        description=_l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )


def current_password_field(label=None, missing=None) -> PasswordField:
    """A password the person already has, typed to log in or to confirm who they are."""
    return PasswordField(
        label or _l("Password"),
        validators=[
            DataRequired(missing or _l("Please enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


def confirm_field(other: str = "password") -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Please repeat the password.")),
            EqualTo(other, message=_l("The two passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    password = current_password_field()
    remember = BooleanField(_l("Keep me logged in on this device"))
    submit = SubmitField(_l("Log in"))


class RegistrationForm(FlaskForm):
    """Name and address only: the password is chosen through the link e-mailed to the address,
    so the page answers the same whether or not the address already has an account."""

    name = name_field()
    email = email_field()
    submit = SubmitField(_l("Create my account"))


class AccountForm(FlaskForm):
    name = name_field()
    name_latin = name_latin_field()
    locale = SelectField(_l("Preferred language"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = [
            SelectChoice(code, label) for code, label in current_app.config["LANGUAGES"].items()
        ]


class PasswordChangeForm(FlaskForm):
    current_password = current_password_field(
        _l("Current password"), _l("Please enter your current password.")
    )
    password = new_password_field(_l("New password"))
    confirm = confirm_field()
    revoke_tokens = BooleanField(
        _l("Also revoke my API tokens"),
        description=_l(
            "Do this if someone else may have used your account: scripts using the tokens "
            "will need new ones."
        ),
    )
    submit = SubmitField(_l("Change the password"))


class ConfirmPasswordForm(FlaskForm):
    password = current_password_field()
    submit = SubmitField(_l("Confirm"))


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your e-mail address.")),
            Length(max=EMAIL_MAX, message=_l("At most %(max)d characters.")),
        ],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(FlaskForm):
    password = new_password_field(_l("New password"))
    confirm = confirm_field()
    submit = SubmitField(_l("Save the password"))
