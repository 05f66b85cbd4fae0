"""What every certification operation shares: its errors, the certifier check, reasons."""

from __future__ import annotations

import calendar
from datetime import datetime

from flask_babel import gettext as _

from certificates import eligibility
from lms.exceptions import UserError
from lms.models import Role, User

MAX_REASON = 500


class CertificationError(UserError):
    """A certification action that cannot be done; the message says why."""


class NotAllowed(CertificationError):
    """The actor may not do this."""


class NotEligible(CertificationError):
    """The trainee does not meet the scheme's requirements."""

    def __init__(self, message: str, result: eligibility.Eligibility) -> None:
        super().__init__(message)
        self.result = result


class ImpartialityConflict(NotAllowed):
    """The certifier graded the trainee's work and holds no waiver."""


def _require_certifier(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.CERTIFIER, Role.ADMIN):
        raise NotAllowed(_("Only certifiers may do this."))


def _reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise CertificationError(_("Give a reason."))
    if len(text) > MAX_REASON:
        raise CertificationError(
            _("The reason is too long (at most %(n)s characters).", n=MAX_REASON)
        )
    return text


def add_months(moment: datetime, months: int) -> datetime:
    """Return the same moment ``months`` calendar months later (day clamped to the month)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
