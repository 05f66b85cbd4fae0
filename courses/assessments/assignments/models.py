"""Assignments: settings of an assessment, rubrics, submissions, their files and marks.

An ``Assignment`` hangs off one ``Assessment`` of kind assignment (the gradebook
column). Trainees hand in ``Submission`` rows, one per attempt; the latest one
is the one graded. Marks per rubric criterion are kept on the submission, and
the resulting points are written to the gradebook through ``set_grade``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import POINTS, Assessment
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import Bilingual
from lms.models import User
from lms.storage import open_verified, storage


class MarkingScheme(enum.StrEnum):
    RUBRIC = "rubric"  # criteria x levels, one level chosen per criterion
    GUIDE = "guide"  # criteria with a maximum, any mark from 0 to it
    POINTS = "points"  # a single mark, no criteria


class Resubmission(enum.StrEnum):
    NEVER = "never"
    UNTIL_GRADED = "graded"  # while the latest submission is not graded
    UNTIL_DUE = "due"  # while not graded and the due date has not passed


class SubmissionStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    GRADED = "graded"


class MarkingStatus(enum.StrEnum):
    DRAFT = "draft"  # seen by course staff only
    RELEASED = "released"  # the trainee sees grade, rubric choices and feedback


class Assignment(Model):
    """How an assessment of kind assignment is handed in, what is late and how it is marked."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.CheckConstraint("allow_text OR allow_files", name="some_submission_type"),
        sa.CheckConstraint("max_file_bytes > 0", name="max_file_bytes_positive"),
        sa.CheckConstraint("max_files > 0", name="max_files_positive"),
        sa.CheckConstraint("late_policy IN ('accept', 'penalise', 'refuse')", name="late_known"),
        sa.CheckConstraint(
            "late_percent_per_day >= 0 AND late_percent_per_day <= 100", name="late_percent_range"
        ),
        sa.CheckConstraint("resubmission IN ('never', 'graded', 'due')", name="resubmit_known"),
        sa.CheckConstraint("marking IN ('rubric', 'guide', 'points')", name="marking_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), unique=True
    )
    allow_text: Mapped[bool] = mapped_column(default=True)
    allow_files: Mapped[bool] = mapped_column(default=False)
    # Comma-separated keys of courses.assessments.assignments.storage.FILE_TYPES.
    allowed_types: Mapped[str] = mapped_column(sa.String(200), default="")
    max_file_bytes: Mapped[int] = mapped_column(default=5 * 1024 * 1024)
    max_files: Mapped[int] = mapped_column(default=3)
    late_policy: Mapped[str] = mapped_column(sa.String(16), default="accept")
    late_percent_per_day: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(0))
    resubmission: Mapped[str] = mapped_column(sa.String(16), default=Resubmission.UNTIL_GRADED)
    marking: Mapped[str] = mapped_column(sa.String(16), default=MarkingScheme.RUBRIC)

    assessment: Mapped[Assessment] = relationship()
    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="assignment",
        cascade="all, delete-orphan",
        order_by="RubricCriterion.position",
    )

    def __repr__(self) -> str:
        return f"<Assignment {self.id} of assessment {self.assessment_id}>"

    @property
    def type_keys(self) -> list[str]:
        return [key for key in self.allowed_types.split(",") if key]

    @property
    def criteria_max(self) -> Decimal:
        """Return the most points the criteria can give (0 without criteria)."""
        return sum((c.max_points for c in self.criteria), Decimal(0))


class RubricCriterion(Bilingual, Model):
    """One criterion of a rubric (with levels) or of a marking guide (with a maximum)."""

    __tablename__ = "rubric_criteria"
    __table_args__ = (
        sa.CheckConstraint("guide_max IS NULL OR guide_max > 0", name="guide_max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    # Marking guides only: the most a marker may give for this criterion.
    guide_max: Mapped[Decimal | None] = mapped_column(POINTS)

    assignment: Mapped[Assignment] = relationship(back_populates="criteria")
    levels: Mapped[list[RubricLevel]] = relationship(
        back_populates="criterion",
        cascade="all, delete-orphan",
        order_by="RubricLevel.points, RubricLevel.id",
    )

    def __repr__(self) -> str:
        return f"<RubricCriterion {self.id} {self.title_en!r}>"

    @property
    def max_points(self) -> Decimal:
        if self.assignment.marking == MarkingScheme.GUIDE:
            return self.guide_max or Decimal(0)
        return max((level.points for level in self.levels), default=Decimal(0))


class RubricLevel(Bilingual, Model):
    """One level of a rubric criterion and the points it gives."""

    __tablename__ = "rubric_levels"
    __table_args__ = (sa.CheckConstraint("points >= 0", name="points_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rubric_criteria.id", ondelete="CASCADE"), index=True
    )
    title_en: Mapped[str] = mapped_column(sa.String(200))
    title_bg: Mapped[str] = mapped_column(sa.String(200), default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    description_bg: Mapped[str] = mapped_column(sa.Text, default="")
    points: Mapped[Decimal] = mapped_column(POINTS)

    criterion: Mapped[RubricCriterion] = relationship(back_populates="levels")

    def __repr__(self) -> str:
        return f"<RubricLevel {self.id} {self.points}>"


class Submission(Model):
    """One attempt of a trainee at an assignment; the latest attempt is the one graded."""

    __tablename__ = "submissions"
    __table_args__ = (
        sa.UniqueConstraint("assignment_id", "user_id", "attempt"),
        sa.CheckConstraint("attempt > 0", name="attempt_positive"),
        sa.CheckConstraint("days_late >= 0", name="days_late_not_negative"),
        sa.CheckConstraint("status IN ('submitted', 'graded')", name="status_known"),
        sa.CheckConstraint("marking_status IN ('draft', 'released')", name="marking_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    days_late: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default=SubmissionStatus.SUBMITTED)
    # Marking: kept on the submission; the points also go to the gradebook via set_grade.
    marking_status: Mapped[str] = mapped_column(sa.String(16), default=MarkingStatus.DRAFT)
    raw_points: Mapped[Decimal | None] = mapped_column(POINTS)  # before any late penalty
    points: Mapped[Decimal | None] = mapped_column(POINTS)  # what went to the gradebook
    penalty_percent: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(0))
    feedback: Mapped[str] = mapped_column(sa.Text, default="")
    graded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every marking save: two markers saving the same page cannot both win.
    marking_version: Mapped[int] = mapped_column(default=0, server_default="0")

    assignment: Mapped[Assignment] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    graded_by: Mapped[User | None] = relationship(foreign_keys=[graded_by_id])
    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionFile.id"
    )
    marks: Mapped[list[CriterionMark]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Submission {self.id} #{self.attempt} {self.status}>"

    @property
    def released(self) -> bool:
        return self.marking_status == MarkingStatus.RELEASED


class SubmissionFile(Model):
    """A file handed in, checked by content: its bytes are in the file store (lms.storage)."""

    __tablename__ = "submission_files"
    __table_args__ = (sa.CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(sa.String(255))
    # The key of the file in the store (its content address), written before this row
    # commits; ``sha256`` is checked whenever the file is read back. Two rows may name
    # the same key: the same bytes are stored once.
    file_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(120))
    sha256: Mapped[str] = mapped_column(sa.String(64))

    submission: Mapped[Submission] = relationship(back_populates="files")

    def __repr__(self) -> str:
        return f"<SubmissionFile {self.id} {self.file_key}>"

    def open(self) -> IO[bytes]:
        """A stream of the stored file that fails at its end if the bytes were altered."""
        return open_verified(storage(), self.file_key, self.sha256)


class CriterionMark(Model):
    """The mark a submission got for one criterion: the level chosen or the points given."""

    __tablename__ = "criterion_marks"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "criterion_id"),
        sa.CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rubric_criteria.id", ondelete="CASCADE"), index=True
    )
    level_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rubric_levels.id", ondelete="SET NULL"), index=True
    )
    points: Mapped[Decimal] = mapped_column(POINTS)

    submission: Mapped[Submission] = relationship(back_populates="marks")
    criterion: Mapped[RubricCriterion] = relationship()
    level: Mapped[RubricLevel | None] = relationship()

    def __repr__(self) -> str:
        return f"<CriterionMark {self.criterion_id}={self.points}>"
