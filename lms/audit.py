"""Write the audit log; rows are only ever added."""

import logging

from blinker import Namespace
from flask import has_request_context
from flask_login import current_user

from lms.extensions import db
from lms.models import AuditLog, User

logger = logging.getLogger(__name__)

#: Sent with ``(entry, obj=...)`` for every row added: other packages react to what
#: happened (notifications) without the operations knowing about them.
recorded = Namespace().signal("audit-recorded")


def record(action: str, obj, *, actor: User | None = None, **data) -> AuditLog:
    """Add an audit row for ``action`` on ``obj`` by ``actor`` (default: the current user)."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    object_id = getattr(obj, "id", None)
    entry = AuditLog(
        actor=actor,
        action=action,
        object_type=type(obj).__name__,
        object_id=None if object_id is None else str(object_id),
        data={k: v for k, v in data.items() if v is not None},
    )
    db.session.add(entry)
    logger.info(
        "audit %s %s:%s by %s",
        action,
        entry.object_type,
        entry.object_id,
        getattr(actor, "id", None),
    )
    recorded.send(entry, obj=obj)
    return entry
