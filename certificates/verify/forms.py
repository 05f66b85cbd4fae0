"""Forms of the public verification pages and the employers' bulk check."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

#: Long enough for a code typed with spaces and hyphens, far too short for anything else.
CODE_MAX = 80
BULK_TEXT_MAX = 100_000


class CodeForm(FlaskForm):
    """Enter a verification code (sent by GET, so the result page can be bookmarked)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Verification code"),
        validators=[DataRequired(), Length(max=CODE_MAX)],
        description=_l("As printed on the certificate, for example 7K3QD-0ZB9M-XT2RA-H5W8C."),
    )
    submit = SubmitField(_l("Verify code"))


class UploadForm(FlaskForm):
    """Upload the certificate PDF or its credential JSON."""

    file = FileField(_l("Certificate PDF or credential JSON"))
    submit_upload = SubmitField(_l("Verify file"))


class BulkForm(FlaskForm):
    """Verify many codes at once: a CSV file whose first column holds the codes, or a list."""

    file = FileField(
        _l("CSV file of codes"),
        description=_l("One code per row, in the first column; a header row is skipped."),
    )
    codes = TextAreaField(
        _l("Or paste codes"),
        validators=[Optional(), Length(max=BULK_TEXT_MAX)],
        description=_l("One code per line."),
    )
    show = SubmitField(_l("Verify"))
    download = SubmitField(_l("Verify and download CSV"))
