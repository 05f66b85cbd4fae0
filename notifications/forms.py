"""Forms of the notification pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from notifications.messages import DELIVERY_LABELS, LABELS
from notifications.models import Delivery, Kind


class PreferencesForm(FlaskForm):
    """One choice (immediately / daily digest / off) per kind of notification."""

    submit = SubmitField(_l("Save"))

    @classmethod
    def for_kinds(cls, kinds: list[Kind]) -> type[PreferencesForm]:
        """Return a form class with a select field for each of ``kinds``."""
        choices = [SelectChoice(str(d), DELIVERY_LABELS[d]) for d in Delivery]
        fields = {f"kind_{kind}": SelectField(LABELS[kind], choices=choices) for kind in kinds}
        return type("KindPreferencesForm", (cls,), fields)
