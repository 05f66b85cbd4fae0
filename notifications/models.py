"""Notifications, the choices of how to receive them, outgoing mail and calendar feeds."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.models import User


class Kind(enum.StrEnum):
    ENROLMENT_CONFIRMED = "enrolment_confirmed"
    PROMOTED = "promoted"
    COHORT_STARTS = "cohort_starts"
    ASSIGNMENT_DUE = "assignment_due"
    GRADE_RELEASED = "grade_released"
    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_SUSPENDED = "certificate_suspended"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    RENEWAL_DUE = "renewal_due"
    NEW_SUBMISSIONS = "new_submissions"  # instructors
    NEWLY_ELIGIBLE = "newly_eligible"  # certifiers


class Delivery(enum.StrEnum):
    IMMEDIATELY = "immediately"
    DAILY = "daily"
    OFF = "off"


class MailState(enum.StrEnum):
    NONE = "none"  # not e-mailed (preference off)
    QUEUED = "queued"  # an e-mail of its own is on the way
    DIGEST = "digest"  # waits for the daily digest
    DIGESTED = "digested"  # went out in a digest


class Notification(Model):
    """Something that happened that a user should know; shown in the app, maybe e-mailed."""

    __tablename__ = "notifications"
    __table_args__ = (
        # ``ref`` names the event (a certificate, an assignment): the same event
        # never notifies the same person twice, however often a job repeats.
        sa.UniqueConstraint("user_id", "kind", "ref"),
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    ref: Mapped[str] = mapped_column(sa.String(80))
    # Plain values the message is rendered from, in the reader's language when read.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[str] = mapped_column(sa.String(16), default=MailState.NONE)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class Preference(Model):
    """How a user wants e-mail about one kind of notification; no row means the default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        sa.CheckConstraint("delivery IN ('immediately', 'daily', 'off')", name="delivery_known"),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    delivery: Mapped[str] = mapped_column(sa.String(16))

    def __repr__(self) -> str:
        return f"<Preference {self.user_id} {self.kind}={self.delivery}>"


class OutgoingMail(Model):
    """An e-mail rendered in its recipient's language, sent by a job until it goes through."""

    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text, default="")
    unsubscribe_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} to {self.recipient} sent={self.sent_at is not None}>"


class CalendarFeed(Model):
    """A user's secret calendar address; only its hash is kept, deleting it revokes it."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarFeed user={self.user_id}>"
