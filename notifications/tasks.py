"""Jobs: e-mail delivery with retries, reminders and the daily digest."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from celery.schedules import crontab
from flask import current_app

from lms import jobs
from lms.auth.operations import without_password_links
from lms.db import utcnow
from lms.extensions import db
from lms.mail import deliver
from notifications.models import OutgoingMail

logger = logging.getLogger(__name__)

#: Attempts before a message is left for ``resend_unsent``: with back-off doubling from
#: 2 s up to 5 minutes, about half an hour of an unreachable mail server.
MAX_RETRIES = 10


def build(mail: OutgoingMail) -> EmailMessage:
    """Return the message: plain text and HTML, with a one-click unsubscribe when it has one."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    # The same id on every attempt: a server that got it once can drop a repeat.
    message["Message-ID"] = make_msgid(idstring=f"mail{mail.id}", domain="lms.invalid")
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


@jobs.task(
    name="notifications.deliver_mail",
    bind=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=False,
    max_retries=MAX_RETRIES,
)
def deliver_mail(self, mail_id: int) -> bool:
    """Send one stored e-mail unless it went out already; raise (and retry) when SMTP fails.

    The message is built and the attempt claimed and committed before it is sent: of
    two jobs for the same e-mail (a redelivered message, a resend) only one sends it,
    and no transaction is open while a slow mail server answers.
    """
    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None or mail.sent_at is not None:
        return False  # rolled back with its transaction, or a repeat of a delivered job
    message = build(mail)
    claimed = db.session.execute(
        sa.update(OutgoingMail)
        .where(
            OutgoingMail.id == mail_id,
            OutgoingMail.sent_at.is_(None),
            OutgoingMail.attempts == mail.attempts,
        )
        .values(attempts=OutgoingMail.attempts + 1)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False  # another job has just taken this attempt
    jobs.commit()  # no transaction (on SQLite, no write lock) while the mail server answers
    try:
        deliver(message)
    except (smtplib.SMTPException, OSError) as error:
        mail.last_error = f"{type(error).__name__}: {error}"[:500]
        jobs.commit()
        logger.warning(
            "mail %s to %s not sent (attempt %s): %s", mail.id, mail.recipient, mail.attempts, error
        )
        raise
    mail.sent_at = utcnow()
    mail.last_error = ""
    mail.text = without_password_links(mail.text)  # the inbox keeps the only working link
    jobs.commit()
    return True


@jobs.periodic("notifications.resend_unsent", 15 * 60)
def resend_unsent(older_than: float = 30 * 60) -> int:
    """Queue again the e-mails still unsent ``older_than`` seconds after they were written.

    On beat: those whose retries ran out (the mail server was down for long). When a
    worker starts: also those whose job never reached the broker, because the
    process that wrote them was killed between its commit and sending the job.
    """
    cutoff = utcnow() - timedelta(seconds=older_than)
    ids = db.session.scalars(
        sa.select(OutgoingMail.id).where(
            OutgoingMail.sent_at.is_(None), OutgoingMail.created_at <= cutoff
        )
    ).all()
    for mail_id in ids:
        jobs.enqueue(deliver_mail, mail_id)
    jobs.commit()  # the jobs leave when the transaction ends
    return len(ids)


jobs.at_worker_start(resend_unsent, older_than=0)


@jobs.periodic("notifications.reminders", 60 * 60)
def reminders() -> dict[str, int]:
    """Notify what is coming: cohorts starting, assignments due, certificates expiring."""
    from notifications import reminders as scan

    counts = scan.run_all()
    jobs.commit()
    return counts


@jobs.periodic("notifications.digests", crontab(hour=6, minute=0))
def digests() -> int:
    """Send each user the day's summary of the notifications they take as a digest."""
    from notifications.operations import send_digests

    return send_digests()
