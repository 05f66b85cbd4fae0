"""Course grade overrides and course completion records."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import POINTS
from courses.models import Course
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.models import User


class CourseCompletion(Model):
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


class CompletionChange(Model):
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


class CourseGradeOverride(Model):
    """A manual course grade that replaces the computed one; ``value`` None once removed.

    The row stays after removal so its history (OverrideChange) keeps one anchor
    per trainee and course.
    """

    __tablename__ = "course_grade_overrides"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "course_id"),
        sa.CheckConstraint("value IS NULL OR (value >= 0 AND value <= 100)", name="value_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[Decimal | None] = mapped_column(POINTS)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    set_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    set_by: Mapped[User | None] = relationship(foreign_keys=[set_by_id])

    def __repr__(self) -> str:
        return f"<CourseGradeOverride {self.user_id}:{self.course_id} {self.value}>"

    @property
    def active(self) -> bool:
        return self.value is not None


class OverrideChange(Model):
    """One change of a course grade override: set, changed or removed, by whom and why."""

    __tablename__ = "override_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    override_id: Mapped[int] = mapped_column(
        sa.ForeignKey("course_grade_overrides.id", ondelete="CASCADE"), index=True
    )
    old_value: Mapped[Decimal | None] = mapped_column(POINTS)
    new_value: Mapped[Decimal | None] = mapped_column(POINTS)
    # The computed grade at the time, so a reader sees what the override replaced.
    computed: Mapped[Decimal | None] = mapped_column(POINTS)
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(500))

    override: Mapped[CourseGradeOverride] = relationship()
    changed_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<OverrideChange {self.id} {self.old_value}->{self.new_value}>"


@sa.event.listens_for(CompletionChange, "before_update")
@sa.event.listens_for(CompletionChange, "before_delete")
@sa.event.listens_for(OverrideChange, "before_update")
@sa.event.listens_for(OverrideChange, "before_delete")
def _history_is_append_only(mapper, connection, target):
    raise RuntimeError("gradebook history is append-only")
