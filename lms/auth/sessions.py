"""Server-side log-in sessions: started at log-in, checked on every request, ended for good.

The Flask session cookie and Flask-Login's remember cookie both carry a random
secret naming a ``UserSession`` row (``User.get_id`` returns it). The row, not the
cookie, decides: once it is ended (log-out, password change or reset,
deactivation, or the user ending it from the account page) a copy of either
cookie opens nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from lms import audit
from lms.db import affected_rows, column_length, utcnow, writing
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import User, UserSession

logger = logging.getLogger(__name__)

# Reading a page should not write: last_seen_at moves at most this often.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)
# How recently the password must have been typed for sensitive acts (creating API tokens).
CONFIRMATION_WINDOW = timedelta(minutes=5)
# Ended and expired sessions stay listed in the database this long, then go at the next log-in.
KEEP_ENDED = timedelta(days=30)
USER_AGENT_MAX = column_length(UserSession.__table__.c.user_agent)
ADDRESS_MAX = column_length(UserSession.__table__.c.address)


class SessionError(UserError):
    """A session that cannot be ended or confirmed as asked; the message says why."""


def hash_key(key: str) -> str:
    """Return the hex sha256 of a session secret as it is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def config_duration(key: str) -> timedelta:
    """Return a duration setting, given as a timedelta or (from the environment) in seconds."""
    value = current_app.config[key]
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def lifetime(remember: bool) -> timedelta:
    """Return how long a session lasts: the remember-me period, or one browser day."""
    return config_duration("REMEMBER_COOKIE_DURATION" if remember else "PERMANENT_SESSION_LIFETIME")


def start(
    user: User,
    *,
    address: str | None,
    user_agent: str | None,
    remember: bool = False,
    password_confirmed: bool = False,
) -> UserSession:
    """Open a session for ``user`` and make it the one ``user.get_id()`` names.

    Call it right before ``flask_login.login_user``. ``password_confirmed`` says the
    password was typed to open it (a log-in, not a password link).
    """
    key = secrets.token_urlsafe(32)
    now = utcnow()
    _prune(user, now)
    record = UserSession(
        user=user,
        secret_hash=hash_key(key),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime(remember),
        remember=remember,
        address=(address or "")[:ADDRESS_MAX] or None,
        user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        password_confirmed_at=now if password_confirmed else None,
    )
    db.session.add(record)
    db.session.flush()
    user._session_key = key
    g.user_session = record
    logger.info("user %s started session %s", user.id, record.id)
    return record


def _prune(user: User, now: datetime) -> None:
    """Forget the user's sessions that ended or expired long ago, so the table stays small."""
    cutoff = now - KEEP_ENDED
    db.session.execute(
        sa.delete(UserSession)
        .where(
            UserSession.user_id == user.id,
            sa.or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff),
        )
        .execution_options(synchronize_session=False)
    )


def load_user(key: str) -> User | None:
    """Flask-Login's loader: the user of the open session ``key`` names, or None."""
    record = db.session.scalar(
        sa.select(UserSession)
        # The user's roles too: every page asks them (menus, permissions).
        .options(joinedload(UserSession.user).joinedload(User.role_rows))
        .where(UserSession.secret_hash == hash_key(key))
    )
    now = utcnow()
    if record is None or not record.is_open(now):
        return None
    # An inactive user is loaded but not authenticated (UserMixin), so the session stops.
    user = record.user
    user._session_key = key
    g.user_session = record
    if now - record.last_seen_at > LAST_SEEN_RESOLUTION:
        g.user_session_seen = now
    return user


def current() -> UserSession | None:
    """Return the session of the logged-in user in this request, if any."""
    from flask_login import current_user

    if not current_user.is_authenticated:
        return None
    return g.get("user_session")


def record_last_seen(response):
    """After the request, note when the session was last used (at most every few minutes).

    Done after the view has committed, in its own short transaction, so it never
    commits a view's half-done work; a busy database only delays the note.
    """
    seen = g.pop("user_session_seen", None)
    record = g.get("user_session")
    if seen is None or record is None or response.status_code >= 500:
        return response
    session = db.session
    if session.new or session.dirty or session.deleted:
        return response
    try:
        # A declared write of its own: most requests are reads that take no write lock.
        with writing(session):
            session.execute(
                sa.update(UserSession).where(UserSession.id == record.id).values(last_seen_at=seen)
            )
    except sa.exc.OperationalError:
        logger.info("could not record the last use of session %s", record.id)
    return response


def open_sessions(user: User) -> list[UserSession]:
    """Return the user's open sessions, most recently used first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def end(record: UserSession, *, actor: User, reason: str = "logout") -> UserSession:
    """End one session for good: its cookies, copied or not, open nothing any more."""
    if actor.id != record.user_id:
        raise SessionError(_("This session is not yours."))
    if record.ended_at is not None:
        return record
    record.ended_at = utcnow()
    record.end_reason = reason
    db.session.flush()
    if reason == "ended":
        audit.record("session.end", record.user, actor=actor, session=record.id)
    logger.info("session %s of user %s ended (%s)", record.id, record.user_id, reason)
    return record


def end_all(user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` except ``keep``; return how many were ended."""
    statement = (
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    ended = affected_rows(db.session.execute(statement))
    logger.info("ended %s sessions of user %s (%s)", ended, user.id, reason)
    return ended


def confirm_password(record: UserSession, password: str) -> UserSession:
    """Record that the password was typed again in this session; raise if it is wrong."""
    if not record.user.check_password(password):
        raise SessionError(_("The password is wrong."))
    record.password_confirmed_at = utcnow()
    db.session.flush()
    logger.info("user %s confirmed the password in session %s", record.user_id, record.id)
    return record


def recently_confirmed(record: UserSession | None, now: datetime | None = None) -> bool:
    """Tell whether the password was typed in this session within the confirmation window."""
    if record is None or record.password_confirmed_at is None:
        return False
    return (now or utcnow()) - record.password_confirmed_at <= CONFIRMATION_WINDOW
