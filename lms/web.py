"""One transaction per request: views change the session, the application commits once.

Views (pages and API alike) never commit or roll back. After a view returns a
response without raising, the request's transaction is committed once, then the
response goes out: jobs queued for the broker are sent only after that commit
(``lms.jobs``). Nothing is committed when

- the view raised: the error handlers (``lms.errors``) roll back;
- the response is an error (status 400 or above): it is rolled back, unless the
  view said its changes stand with :func:`keep_changes`;
- the view refused the request with :func:`refuse` (a form shown again with the
  reason): its changes are undone at once and nothing it does afterwards is saved;
- the request only reads (``lms.db.request_is_read_only``): its read transaction
  simply ends with the request.

A commit that fails on a constraint or on a row changed meanwhile is rolled back
and answered as a :class:`ConcurrentChange` (a flash and a redirect on pages, a 409
problem in the API), and the messages the view flashed for this request are taken
back, so the user never reads "saved" for what was not. A view that must tell a
specific conflict apart (a duplicate code, say) calls ``db.session.flush()`` inside
its ``try``: the constraint is checked there, while the view can still answer.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, session
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from lms.db import request_is_read_only
from lms.exceptions import UserError
from lms.extensions import db

_REFUSED = "lms_request_refused"
_KEEP = "lms_keep_changes"
_WROTE = "lms_request_wrote"
_FLASHES = "_flashes"  # where flask.flash keeps its messages in the session


class ConcurrentChange(UserError):
    """The request's changes could not be committed: someone changed the same thing."""

    status = 409


def refuse() -> None:
    """Undo the current request's changes now; nothing it does afterwards is committed.

    For a view that answers a refusal itself (the form again, with the reason) rather
    than raising a ``UserError``: the page it renders shows the data as it was.
    """
    db.session.rollback()
    setattr(g, _REFUSED, True)
    g.pop(_WROTE, None)  # what it writes from here on is undone again at the end


def keep_changes() -> None:
    """Commit the request's changes although the response is an error status.

    For a view whose refusal is itself a change to keep: answering 409 to an answer
    saved after the time ran out, having closed and graded the expired attempt.
    """
    setattr(g, _KEEP, True)


def refused() -> bool:
    """Return whether the current request was refused with :func:`refuse`."""
    return g.get(_REFUSED, False)


def finish(response: Response, flashes_before: int) -> None:
    """Commit the request's transaction after a successful view; roll it back otherwise."""
    if refused() or (response.status_code >= 400 and not g.get(_KEEP, False)):
        if _wrote():
            db.session.rollback()
        return
    if request_is_read_only():
        return
    try:
        db.session.commit()
    except (IntegrityError, StaleDataError) as error:
        db.session.rollback()
        _take_back_flashes(flashes_before)
        raise ConcurrentChange(
            lazy_gettext(
                "Someone else changed this at the same moment, so nothing was saved. "
                "Reload and try again."
            )
        ) from error


def _wrote() -> bool:
    """Whether the request changed anything: flushed, or pending in the session."""
    current = db.session
    return g.get(_WROTE, False) or bool(current.new or current.dirty or current.deleted)


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, flush_context: object) -> None:
    if has_request_context():
        g.setdefault(_WROTE, True)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if has_request_context() and (state.is_insert or state.is_update or state.is_delete):
        g.setdefault(_WROTE, True)


def _flash_count() -> int:
    # "in" does not mark the session as read, so requests without flashes keep no Vary: Cookie.
    return len(session[_FLASHES]) if _FLASHES in session else 0


def _take_back_flashes(count: int) -> None:
    """Drop the messages flashed since the view began: they spoke of what was not saved."""
    if _FLASHES in session and len(session[_FLASHES]) > count:
        session[_FLASHES] = session[_FLASHES][:count]


class App(Flask):
    """The Flask application, with one commit per request after the view (see the module)."""

    def dispatch_request(self) -> ResponseReturnValue:
        flashes_before = _flash_count()
        response = self.make_response(super().dispatch_request())
        finish(response, flashes_before)
        return response
