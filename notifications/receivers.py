"""Turn what the operations record in the audit log into notifications.

Every operation already writes one audit row for what it did; listening to
``lms.audit.recorded`` lets this package react without the operations knowing
about it. The notification is added in the operation's own transaction, so it
exists exactly when the event does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lms.audit import recorded
from lms.extensions import db
from lms.models import AuditLog
from notifications import operations as ops
from notifications.messages import bilingual
from notifications.models import Kind

logger = logging.getLogger(__name__)

Handler = Callable[[AuditLog, Any], None]
HANDLERS: dict[str, Handler] = {}


def on(*actions: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = handler
        return handler

    return decorator


def _stamp(moment) -> str:
    return str(int(moment.timestamp())) if moment is not None else "0"


def _enrolment_params(enrolment) -> dict[str, Any]:
    cohort = enrolment.cohort
    return {
        "course": bilingual(cohort.course, "title"),
        "cohort": bilingual(cohort, "name"),
        "starts_on": cohort.starts_on.isoformat(),
    }


@on("enrolment.create", "enrolment.renew")
def _enrolled(entry: AuditLog, enrolment: Any) -> None:
    if entry.data.get("status") != "active":
        return  # the waiting list is told when it moves up
    ops.notify(
        enrolment.user_id,
        Kind.ENROLMENT_CONFIRMED,
        f"enrolment:{enrolment.id}:{_stamp(enrolment.enrolled_at)}",
        _enrolment_params(enrolment),
        ops.path_for("courses.detail", code=enrolment.cohort.course.code),
    )


@on("enrolment.promote")
def _promoted(entry: AuditLog, enrolment: Any) -> None:
    ops.notify(
        enrolment.user_id,
        Kind.PROMOTED,
        f"promote:{enrolment.id}:{_stamp(enrolment.enrolled_at)}",
        _enrolment_params(enrolment),
        ops.path_for("courses.detail", code=enrolment.cohort.course.code),
    )


@on("assignment.release")
def _released(entry: AuditLog, submission: Any) -> None:
    assessment = submission.assignment.assessment
    ops.notify(
        submission.user_id,
        Kind.GRADE_RELEASED,
        f"submission:{submission.id}:{submission.marking_version}",
        {"assignment": bilingual(assessment, "title")},
        ops.path_for(
            "assignments.detail", code=assessment.course.code, assessment_id=assessment.id
        ),
    )


def _certificate_params(cert: Any) -> dict[str, Any]:
    return {
        "code": cert.code,
        "scheme": bilingual(cert.scheme, "title"),
        "valid_until": cert.valid_until.date().isoformat() if cert.valid_until else "",
    }


@on("certificate.issue")
def _issued(entry: AuditLog, cert: Any) -> None:
    ops.notify(
        cert.user_id,
        Kind.CERTIFICATE_ISSUED,
        f"certificate:{cert.id}",
        _certificate_params(cert),
        ops.path_for("certificates.mine"),
    )


@on("certificate.suspend")
def _suspended(entry: AuditLog, cert: Any) -> None:
    ops.notify(
        cert.user_id,
        Kind.CERTIFICATE_SUSPENDED,
        f"suspend:{cert.id}:{_stamp(cert.suspended_at)}",
        {**_certificate_params(cert), "reason": entry.data.get("reason", "")},
        ops.path_for("certificates.mine"),
    )


@on("certificate.revoke")
def _revoked(entry: AuditLog, cert: Any) -> None:
    ops.notify(
        cert.user_id,
        Kind.CERTIFICATE_REVOKED,
        f"revoke:{cert.id}",
        {**_certificate_params(cert), "reason": entry.data.get("reason", "")},
        ops.path_for("certificates.mine"),
    )


def _on_recorded(entry: AuditLog, obj: Any = None, **_extra: Any) -> None:
    handler = HANDLERS.get(entry.action)
    if handler is None or obj is None:
        return
    # A notification that cannot be made must never undo the event it is about.
    try:
        with db.session.begin_nested():
            handler(entry, obj)
    except Exception:
        logger.exception(
            "no notification for %s %s:%s", entry.action, entry.object_type, entry.object_id
        )


def connect() -> None:
    """Listen to the audit log (once per process; connecting again changes nothing)."""
    recorded.connect(_on_recorded)
