"""Question banks, quiz settings, attempts and saved answers.

A quiz is one ``Assessment`` of kind quiz plus a ``Quiz`` row of settings. Its
questions come from the course's question bank. An attempt freezes the question
order at its start; answers are saved one per question as the trainee goes and
scored once, when the attempt is submitted or found past its deadline.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from courses.assessments.models import POINTS, Assessment
from courses.assessments.scoring import GradingMethod, QuestionKind
from courses.models import Course
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import Bilingual
from lms.models import User

#: Numeric answers and tolerances: up to 12 digits before the point and 6 after.
NUMBER = sa.Numeric(18, 6)


class FeedbackTiming(enum.StrEnum):
    AFTER_SUBMISSION = "after_submission"
    AFTER_CLOSE = "after_close"


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # submitted by the trainee, graded
    EXPIRED = "expired"  # graded at its deadline, when next touched


def _in(column: str, enum_type: type[enum.StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum_type)
    return f"{column} IN ({values})"


class Question(Bilingual, Model):
    """A question of a course's bank, answer key included (never sent as is to a browser)."""

    __tablename__ = "quiz_questions"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", QuestionKind), name="kind_known"),
        sa.CheckConstraint("points > 0", name="points_positive"),
        sa.CheckConstraint("tolerance IS NULL OR tolerance >= 0", name="tolerance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    text_en: Mapped[str] = mapped_column(sa.Text)
    text_bg: Mapped[str] = mapped_column(sa.Text, default="")
    points: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(1))
    # True/false questions: the right answer.
    truth: Mapped[bool | None]
    # Numeric questions: the value and the absolute tolerance.
    value: Mapped[Decimal | None] = mapped_column(NUMBER)
    tolerance: Mapped[Decimal | None] = mapped_column(NUMBER)
    # Short-answer questions: the accepted answers (compared case- and space-insensitively).
    accepted: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    feedback_en: Mapped[str] = mapped_column(sa.Text, default="")
    feedback_bg: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship()
    options: Mapped[list[QuestionOption]] = relationship(
        back_populates="question",
        cascade="all, delete-orphan",
        order_by="QuestionOption.position",
    )

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.kind}>"


class QuestionOption(Bilingual, Model):
    """A choice of a single- or multiple-choice question."""

    __tablename__ = "quiz_question_options"
    __table_args__ = (sa.UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quiz_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text_en: Mapped[str] = mapped_column(sa.String(500))
    text_bg: Mapped[str] = mapped_column(sa.String(500), default="")
    correct: Mapped[bool] = mapped_column(default=False)

    question: Mapped[Question] = relationship(back_populates="options")

    def __repr__(self) -> str:
        return f"<QuestionOption {self.id}>"


class Quiz(Model):
    """The settings of an assessment of kind quiz; its pass mark is Assessment.pass_percent."""

    __tablename__ = "quizzes"
    __table_args__ = (
        sa.CheckConstraint(
            "attempt_limit IS NULL OR attempt_limit > 0", name="attempt_limit_positive"
        ),
        sa.CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes > 0", name="time_limit_positive"
        ),
        sa.CheckConstraint(
            "opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at",
            name="dates_ordered",
        ),
        sa.CheckConstraint(_in("grading_method", GradingMethod), name="grading_method_known"),
        sa.CheckConstraint(_in("feedback", FeedbackTiming), name="feedback_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assessments.id", ondelete="CASCADE"), unique=True
    )
    attempt_limit: Mapped[int | None]  # None: unlimited
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_limit_minutes: Mapped[int | None]  # None: no time limit
    grading_method: Mapped[str] = mapped_column(sa.String(16), default=GradingMethod.HIGHEST)
    # When correct answers and feedback are shown; the score is shown at once.
    feedback: Mapped[str] = mapped_column(sa.String(16), default=FeedbackTiming.AFTER_SUBMISSION)
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)

    assessment: Mapped[Assessment] = relationship()
    items: Mapped[list[QuizItem]] = relationship(
        back_populates="quiz", cascade="all, delete-orphan", order_by="QuizItem.position"
    )

    def __repr__(self) -> str:
        return f"<Quiz {self.id}>"

    @property
    def course_id(self) -> int:
        return self.assessment.course_id

    @property
    def time_limit(self) -> timedelta | None:
        if self.time_limit_minutes is None:
            return None
        return timedelta(minutes=self.time_limit_minutes)

    def feedback_visible(self, now: datetime) -> bool:
        """Return whether correct answers and feedback may be shown to trainees now."""
        if self.feedback == FeedbackTiming.AFTER_SUBMISSION:
            return True
        return self.closes_at is not None and now >= self.closes_at


class QuizItem(Model):
    """A bank question chosen for a quiz, at a position."""

    __tablename__ = "quiz_items"
    __table_args__ = (sa.UniqueConstraint("quiz_id", "position"),)

    quiz_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quiz_questions.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int]

    quiz: Mapped[Quiz] = relationship(back_populates="items")
    question: Mapped[Question] = relationship()

    def __repr__(self) -> str:
        return f"<QuizItem {self.quiz_id}:{self.question_id}@{self.position}>"


class Attempt(Model):
    """One attempt of a trainee at a quiz, numbered 1, 2, ... per trainee."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        sa.UniqueConstraint("quiz_id", "user_id", "number"),
        sa.CheckConstraint("number > 0", name="number_positive"),
        sa.CheckConstraint(_in("status", AttemptStatus), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=AttemptStatus.IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # scoring.attempt_deadline at start: the earlier of start + limit and the close date.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it ended: the submit, or the deadline for an expired attempt.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Seed of the question and option order; question ids in the order shown.
    seed: Mapped[int]
    question_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    points: Mapped[Decimal | None] = mapped_column(POINTS)
    possible: Mapped[Decimal | None] = mapped_column(POINTS)
    score: Mapped[Decimal | None] = mapped_column(POINTS)  # percentage, once graded

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()
    answers: Mapped[list[AttemptAnswer]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Attempt {self.id} #{self.number} {self.status}>"

    @property
    def graded(self) -> bool:
        return self.status != AttemptStatus.IN_PROGRESS


class AttemptAnswer(Model):
    """The latest saved response to one question of an attempt, as JSON."""

    __tablename__ = "quiz_attempt_answers"
    __table_args__ = (sa.UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quiz_attempts.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("quiz_questions.id", ondelete="RESTRICT"), index=True
    )
    # Raw as sent: an option id, a list of them, "true"/"false", or text (kept even
    # when a numeric answer is not a number, so the trainee sees what they typed).
    response: Mapped[object | None] = mapped_column(sa.JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Points given when the attempt was graded.
    awarded: Mapped[Decimal | None] = mapped_column(POINTS)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    def __repr__(self) -> str:
        return f"<AttemptAnswer {self.attempt_id}:{self.question_id}>"
