"""Course grade overrides and course completion records."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import POINTS
from courses.models import Course
from lms.db import UTCDateTime, utcnow
from lms.extensions import db
from lms.models import User


class CourseCompletion(db.Model):
    """Whether a trainee has completed a course now; every change is in CompletionChange.

    Certification reads this table: ``completed`` with its ``grade`` and
    ``completed_at`` is the course requirement a scheme checks.
    """

    __tablename__ = "course_completions"
    __table_args__ = (sa.UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    completed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    grade: Mapped[Decimal | None] = mapped_column(POINTS)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()

    def __repr__(self) -> str:
        return f"<CourseCompletion {self.user_id}:{self.course_id} {self.completed}>"


class CompletionChange(db.Model):
    """A completion gained or lost (e.g. a grade change undid it). Never edited."""

    __tablename__ = "completion_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_completions.id", ondelete="CASCADE"), index=True
    )
    completed: Mapped[bool]
    grade: Mapped[Decimal | None] = mapped_column(POINTS)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    completion: Mapped[CourseCompletion] = relationship()

    def __repr__(self) -> str:
        return f"<CompletionChange {self.completion_id} {self.completed}>"
