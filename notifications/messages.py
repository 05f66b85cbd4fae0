"""What each kind of notification says, rendered in the reader's language from plain params."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from lms.i18n import current_language
from notifications.models import Delivery, Kind

#: Labels of the kinds, for the preferences page and e-mail subjects.
LABELS: dict[str, Any] = {
    Kind.ENROLMENT_CONFIRMED: _l("Enrolment confirmed"),
    Kind.PROMOTED: _l("Promoted from the waiting list"),
    Kind.COHORT_STARTS: _l("Cohort starts"),
    Kind.ASSIGNMENT_DUE: _l("Assignment due in 48 hours"),
    Kind.GRADE_RELEASED: _l("Grade and feedback released"),
    Kind.CERTIFICATE_ISSUED: _l("Certificate issued"),
    Kind.CERTIFICATE_SUSPENDED: _l("Certificate suspended"),
    Kind.CERTIFICATE_REVOKED: _l("Certificate revoked"),
    Kind.CERTIFICATE_EXPIRING: _l("Certificate expiring in 60 days"),
    Kind.RENEWAL_DUE: _l("Certificate renewal due"),
    Kind.NEW_SUBMISSIONS: _l("New submissions to mark"),
    Kind.NEWLY_ELIGIBLE: _l("Trainees newly eligible for a certificate"),
}

DELIVERY_LABELS = {
    Delivery.IMMEDIATELY: _l("E-mail immediately"),
    Delivery.DAILY: _l("Daily digest"),
    Delivery.OFF: _l("No e-mail"),
}

#: Kinds that come often: e-mailed once a day unless the user chooses otherwise.
DIGEST_BY_DEFAULT = frozenset({Kind.NEW_SUBMISSIONS, Kind.NEWLY_ELIGIBLE})


def bilingual(obj: Any, field: str) -> dict[str, str]:
    """Return ``{"en": ..., "bg": ...}`` of a bilingual field, to keep in params."""
    return {"en": getattr(obj, f"{field}_en") or "", "bg": getattr(obj, f"{field}_bg") or ""}


def pick(value: Any) -> str:
    """Return the reader's language of a value kept by ``bilingual`` (or the plain value)."""
    if isinstance(value, dict):
        return value.get(current_language()) or value.get("en") or ""
    return "" if value is None else str(value)


def _text(kind: str, p: dict[str, Any]) -> str:
    render: Callable[[dict[str, Any]], str] | None = _RENDER.get(kind)
    return render(p) if render else str(LABELS.get(kind, kind))


_RENDER: dict[str, Callable[[dict[str, Any]], str]] = {
    Kind.ENROLMENT_CONFIRMED: lambda p: _(
        "You are enrolled in %(course)s (%(cohort)s), starting on %(date)s.",
        course=pick(p.get("course")),
        cohort=pick(p.get("cohort")),
        date=p.get("starts_on", ""),
    ),
    Kind.PROMOTED: lambda p: _(
        "A place came free: you moved from the waiting list into %(course)s (%(cohort)s).",
        course=pick(p.get("course")),
        cohort=pick(p.get("cohort")),
    ),
    Kind.COHORT_STARTS: lambda p: _(
        "%(course)s (%(cohort)s) starts on %(date)s.",
        course=pick(p.get("course")),
        cohort=pick(p.get("cohort")),
        date=p.get("starts_on", ""),
    ),
    Kind.ASSIGNMENT_DUE: lambda p: _(
        "%(assignment)s in %(course)s is due on %(due)s.",
        assignment=pick(p.get("assignment")),
        course=pick(p.get("course")),
        due=p.get("due", ""),
    ),
    Kind.GRADE_RELEASED: lambda p: _(
        "Your grade and feedback for %(assignment)s are released.",
        assignment=pick(p.get("assignment")),
    ),
    Kind.CERTIFICATE_ISSUED: lambda p: _(
        "Your certificate %(code)s for %(scheme)s has been issued.",
        code=p.get("code", ""),
        scheme=pick(p.get("scheme")),
    ),
    Kind.CERTIFICATE_SUSPENDED: lambda p: _(
        "Your certificate %(code)s is suspended: %(reason)s",
        code=p.get("code", ""),
        reason=p.get("reason", ""),
    ),
    Kind.CERTIFICATE_REVOKED: lambda p: _(
        "Your certificate %(code)s is revoked: %(reason)s",
        code=p.get("code", ""),
        reason=p.get("reason", ""),
    ),
    Kind.CERTIFICATE_EXPIRING: lambda p: _(
        "Your certificate %(code)s for %(scheme)s expires on %(date)s.",
        code=p.get("code", ""),
        scheme=pick(p.get("scheme")),
        date=p.get("valid_until", ""),
    ),
    Kind.RENEWAL_DUE: lambda p: _(
        "Your certificate %(code)s for %(scheme)s can now be renewed.",
        code=p.get("code", ""),
        scheme=pick(p.get("scheme")),
    ),
    Kind.NEW_SUBMISSIONS: lambda p: ngettext(
        "%(num)s new submission to mark in %(course)s.",
        "%(num)s new submissions to mark in %(course)s.",
        int(p.get("count", 0)),
        course=pick(p.get("course")),
    ),
    Kind.NEWLY_ELIGIBLE: lambda p: ngettext(
        "%(num)s trainee newly eligible for %(scheme)s.",
        "%(num)s trainees newly eligible for %(scheme)s.",
        int(p.get("count", 0)),
        scheme=pick(p.get("scheme")),
    ),
}


def message(kind: str, params: dict[str, Any]) -> str:
    """Return the notification's sentence in the current language."""
    return _text(kind, params)


def label(kind: str) -> str:
    return str(LABELS.get(kind, kind))
