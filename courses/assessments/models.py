"""What every assessment shares: the gradebook item, its category, grades and grade history.

Quizzes and assignments hang their own settings off an ``Assessment`` (one row
per gradebook column). Every grade is written through
``courses.assessments.grades.set_grade``, which keeps the history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.models import Course
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import Bilingual
from lms.models import User

POINTS = sa.Numeric(8, 2)


class AssessmentKind(enum.StrEnum):
    QUIZ = "quiz"
    ASSIGNMENT = "assignment"
    MANUAL = "manual"  # graded by hand, e.g. an oral exam or a project defence


class GradeStatus(enum.StrEnum):
    DRAFT = "draft"  # seen by staff only
    RELEASED = "released"  # seen by the trainee, counts in the gradebook


class GradeCategory(Bilingual, Model):
    """A weighted gradebook category of a course, with drop-lowest."""

    __tablename__ = "grade_categories"
    __table_args__ = (
        sa.UniqueConstraint("course_id", "name_en"),
        sa.CheckConstraint("weight >= 0", name="weight_not_negative"),
        sa.CheckConstraint("drop_lowest >= 0", name="drop_lowest_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    name_en: Mapped[str] = mapped_column(sa.String(120))
    name_bg: Mapped[str] = mapped_column(sa.String(120), default="")
    weight: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(1))
    drop_lowest: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)

    course: Mapped[Course] = relationship()

    def __repr__(self) -> str:
        return f"<GradeCategory {self.id} {self.name_en!r}>"


class Assessment(Bilingual, Model):
    """One gradebook column of a course: a quiz, an assignment or a manually graded item."""

    __tablename__ = "assessments"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('quiz', 'assignment', 'manual')", name="kind_known"),
        sa.CheckConstraint("max_points > 0", name="max_points_positive"),
        sa.CheckConstraint(
            "pass_percent IS NULL OR (pass_percent >= 0 AND pass_percent <= 100)",
            name="pass_percent_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("grade_categories.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    max_points: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(100))
    # A pass needs at least this percentage; None: the assessment has no pass/fail.
    pass_percent: Mapped[Decimal | None] = mapped_column(POINTS)
    # Required assessments must be passed for the course to be complete.
    required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    category: Mapped[GradeCategory | None] = relationship()

    def __repr__(self) -> str:
        return f"<Assessment {self.id} {self.kind} {self.title_en!r}>"


class Grade(Model):
    """A trainee's current grade for one assessment; its changes are kept in GradeChange."""

    __tablename__ = "grades"
    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "user_id"),
        sa.CheckConstraint("status IN ('draft', 'released')", name="status_known"),
        sa.CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"),
        # The reports group released grades by assessment without reading the rows.
        sa.Index(
            "ix_grades_assessment_id_status_points_graded_at",
            "assessment_id",
            "status",
            "points",
            "graded_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    points: Mapped[Decimal | None] = mapped_column(POINTS)  # None: excused or not graded
    excused: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[str] = mapped_column(sa.String(16), default=GradeStatus.DRAFT)
    graded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: a save based on an older version is refused, not lost.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    assessment: Mapped[Assessment] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    graded_by: Mapped[User | None] = relationship(foreign_keys=[graded_by_id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Grade {self.id} {self.points} {self.status}>"

    @property
    def percentage(self) -> Decimal | None:
        if self.points is None:
            return None
        return self.points * 100 / self.assessment.max_points


class GradeChange(Model):
    """One change of a grade: old and new values, who, when, why. Never edited."""

    __tablename__ = "grade_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = mapped_column(
        sa.ForeignKey("grades.id", ondelete="CASCADE"), index=True
    )
    old_points: Mapped[Decimal | None] = mapped_column(POINTS)
    new_points: Mapped[Decimal | None] = mapped_column(POINTS)
    old_status: Mapped[str | None] = mapped_column(sa.String(16))
    new_status: Mapped[str] = mapped_column(sa.String(16))
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    grade: Mapped[Grade] = relationship()
    changed_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<GradeChange {self.id} {self.old_points}->{self.new_points}>"


@sa.event.listens_for(GradeChange, "before_update")
@sa.event.listens_for(GradeChange, "before_delete")
def _grade_history_is_append_only(mapper, connection, target):
    raise RuntimeError("grade history is append-only")
