"""Create notifications, honour each user's choices, and queue their e-mail."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from lms import jobs
from lms.db import affected_rows, utcnow
from lms.extensions import db
from lms.models import User
from notifications import messages
from notifications.models import (
    CalendarFeed,
    Delivery,
    Kind,
    MailState,
    Notification,
    OutgoingMail,
    Preference,
)

logger = logging.getLogger(__name__)

_UNSUBSCRIBE_SALT = "notifications-unsubscribe"


def path_for(endpoint: str, **values: Any) -> str:
    """Return the path of ``endpoint``, in a request or in a worker (no request there)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def absolute(path: str) -> str:
    """Return ``path`` on the site's public address (BASE_URL), for e-mails and feeds."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def language_of(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    if user.locale is not None and user.locale in languages:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# --- preferences -----------------------------------------------------------------


def default_delivery(kind: str) -> Delivery:
    return Delivery.DAILY if kind in messages.DIGEST_BY_DEFAULT else Delivery.IMMEDIATELY


def deliveries(user: User) -> dict[str, Delivery]:
    """Return every kind's e-mail choice of ``user`` (defaults where nothing was chosen)."""
    chosen = dict(
        db.session.execute(
            sa.select(Preference.kind, Preference.delivery).where(Preference.user_id == user.id)
        ).all()
    )
    return {kind: Delivery(chosen.get(kind, default_delivery(kind))) for kind in Kind}


def set_delivery(user: User, kind: str, delivery: str) -> Preference:
    """Record how ``user`` wants e-mail about ``kind``."""
    kind, delivery = Kind(kind), Delivery(delivery)
    row = db.session.get(Preference, (user.id, str(kind)))
    if row is None:
        row = Preference(user_id=user.id, kind=str(kind), delivery=str(delivery))
        db.session.add(row)
    row.delivery = str(delivery)
    db.session.flush()
    logger.info("user %s: e-mail for %s: %s", user.id, kind, delivery)
    return row


def unsubscribe_token(user: User, kind: str) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT).dumps(
        [user.id, str(kind)]
    )


def read_unsubscribe_token(token: str) -> tuple[User, Kind] | None:
    """Return the user and kind a signed unsubscribe token names, or None if it is forged."""
    try:
        user_id, kind = URLSafeSerializer(
            current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT
        ).loads(token)
        kind = Kind(kind)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id)
    return (user, kind) if user is not None else None


# --- notifications -----------------------------------------------------------------


def notify(
    user: User | int,
    kind: Kind,
    ref: str,
    params: dict[str, Any],
    link: str = "",
    *,
    now: datetime | None = None,
) -> Notification | None:
    """Tell ``user`` about an event once; e-mail it now, in the digest, or not, as they chose.

    Return the new notification, or None when this event was notified already.
    """
    found = user if isinstance(user, User) else db.session.get(User, user)
    if found is None or not found.active:
        return None
    user = found
    exists = db.session.scalar(
        sa.select(Notification.id).where(
            Notification.user_id == user.id, Notification.kind == str(kind), Notification.ref == ref
        )
    )
    if exists is not None:
        return None
    item = Notification(
        user_id=user.id,
        kind=str(kind),
        ref=ref,
        params=params,
        link=link,
        created_at=now or utcnow(),
    )
    delivery = deliveries(user)[kind]
    item.mail_state = {
        Delivery.IMMEDIATELY: MailState.QUEUED,
        Delivery.DAILY: MailState.DIGEST,
        Delivery.OFF: MailState.NONE,
    }[delivery]
    db.session.add(item)
    db.session.flush()
    if delivery == Delivery.IMMEDIATELY:
        queue_mail(user, [item], kind=kind)
    return item


def queue_mail(user: User, items: list[Notification], *, kind: str | None) -> OutgoingMail:
    """Render an e-mail about ``items`` in ``user``'s language and send it by a job.

    One item of ``kind``: its own e-mail, with an unsubscribe link for that kind.
    Several (``kind`` None): the daily digest, linking to the preferences page.
    """
    with force_locale(language_of(user)):
        lines = [
            {"text": messages.message(i.kind, i.params), "link": absolute(i.link) if i.link else ""}
            for i in items
        ]
        if kind is not None:
            token = unsubscribe_token(user, kind)
            unsubscribe = absolute(path_for("notifications.unsubscribe", token=token))
            subject = messages.label(kind)
        else:
            unsubscribe = absolute(path_for("notifications.preferences"))
            subject = _("Your daily summary")
        context = {
            "user": user,
            "lines": lines,
            "subject": subject,
            "unsubscribe": unsubscribe,
            "kind_label": messages.label(kind) if kind else "",
            "centre": current_app.config["CENTRE_NAME"],
            "preferences": absolute(path_for("notifications.preferences")),
        }
        text = render_template("notifications/mail/notification.txt", **context)
        html = render_template("notifications/mail/notification.html", **context)
    return send_later(
        OutgoingMail(
            user_id=user.id,
            recipient=user.email,
            subject=f"{subject} · {current_app.config['CENTRE_NAME']}",
            text=text,
            html=html,
            unsubscribe_url=unsubscribe if kind is not None else "",
        )
    )


def send_later(mail: OutgoingMail) -> OutgoingMail:
    """Store ``mail`` and send it by a job, retried while the mail server is unreachable.

    With a broker the job leaves when the caller's transaction commits, so a page
    never waits for the mail server; without one it runs at once, in-process.
    """
    db.session.add(mail)
    db.session.flush()
    from notifications.tasks import deliver_mail

    jobs.enqueue(deliver_mail, mail.id)
    return mail


def unread_count(user: User) -> int:
    return db.session.execute(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def mark_read(user: User, ids: list[int] | None = None) -> int:
    """Mark ``user``'s notifications read (all of them without ``ids``); return how many."""
    query = (
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    return affected_rows(db.session.execute(query))


def send_digests(now: datetime | None = None) -> int:
    """E-mail each user one summary of the notifications waiting for the digest; return how many."""
    user_ids = db.session.scalars(
        sa.select(Notification.user_id)
        .where(Notification.mail_state == MailState.DIGEST)
        .distinct()
    ).all()
    sent = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        assert user is not None, "a notification's user_id is a foreign key"
        items = list(
            db.session.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user_id, Notification.mail_state == MailState.DIGEST)
                .order_by(Notification.created_at, Notification.id)
            )
        )
        for item in items:
            item.mail_state = MailState.DIGESTED
        if user.active:
            queue_mail(user, items, kind=None)
            sent += 1
        jobs.commit()  # one user at a time: a crash resends nobody's digest twice
    return sent


# --- calendar feed -----------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_calendar_token(user: User) -> str:
    """Give ``user`` a new secret calendar address (the old one stops working); return its token."""
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id)
        db.session.add(feed)
    feed.token_hash = _hash(token)
    feed.created_at = utcnow()
    db.session.flush()
    return token


def revoke_calendar(user: User) -> None:
    feed = db.session.get(CalendarFeed, user.id)
    if feed is not None:
        db.session.delete(feed)
        db.session.flush()


def calendar_user(token: str) -> User | None:
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token)))
    return db.session.get(User, feed.user_id) if feed is not None else None
