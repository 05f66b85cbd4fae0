"""Small pieces every domain's forms share."""

from __future__ import annotations

from flask_wtf import FlaskForm


def strip(value):
    """A WTForms filter: trim the whitespace around typed text, leave other values alone."""
    return value.strip() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """A POST button that carries only its CSRF token (release, delete, confirm …)."""
