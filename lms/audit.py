"""Write the audit log; rows are only ever added."""

import logging

from blinker import Namespace

from lms.extensions import db
from lms.models import AuditLog, User

logger = logging.getLogger(__name__)

#: Sent with ``(entry, obj=...)`` for every row added: other packages react to what
#: happened (notifications) without the operations knowing about them.
recorded = Namespace().signal("audit-recorded")


def record(action: str, obj, *, actor: User | None, **data) -> AuditLog:
    """Add an audit row for ``action`` on ``obj`` by ``actor``.

    Every caller names the actor: the person the operation checked, or ``None``
    for the system itself (a scheduled job, the command line). The log never
    guesses it from whoever happens to be signed in.
    """
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
