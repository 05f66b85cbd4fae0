"""Quiz reads: the bank, a course's quizzes, a trainee's attempts and the staff overview.

Each list runs a fixed number of queries whatever the number of questions,
attempts or trainees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload, selectinload

from courses.assessments.grades import get_grade
from courses.assessments.models import Assessment, Grade
from courses.assessments.quizzes.models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Question,
    Quiz,
    QuizItem,
)
from courses.enrolment.queries import has_active_enrolment
from courses.models import Cohort, Course, CourseState, Enrolment, EnrolmentStatus
from lms.extensions import db
from lms.models import User


def quiz_or_404(course: Course, quiz_id: int) -> Quiz:
    """Return the quiz of this course with its assessment, or abort with 404."""
    quiz = db.session.scalar(
        sa.select(Quiz)
        .join(Quiz.assessment)
        .where(Quiz.id == quiz_id, Assessment.course_id == course.id)
        .options(sa.orm.contains_eager(Quiz.assessment))
    )
    if quiz is None:
        abort(404)
    return quiz


def question_or_404(course: Course, question_id: int) -> Question:
    question = db.get_or_404(Question, question_id)
    if question.course_id != course.id:
        abort(404)
    return question


@dataclass
class BankEntry:
    question: Question
    quizzes: int  # how many quizzes use it
    answers: int  # how many saved answers it has

    @property
    def in_use(self) -> bool:
        return bool(self.quizzes or self.answers)


def bank(course: Course) -> list[BankEntry]:
    """The course's questions with their options and how much they are used (3 queries)."""
    quizzes = (
        sa.select(sa.func.count())
        .where(QuizItem.question_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    answers = (
        sa.select(sa.func.count())
        .where(AttemptAnswer.question_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Question, quizzes, answers)
        .where(Question.course_id == course.id)
        .options(selectinload(Question.options))
        .order_by(Question.id)
    ).all()
    return [BankEntry(q, int(n), int(a)) for q, n, a in rows]


def course_quizzes(course: Course, *, published_only: bool) -> list[Quiz]:
    """The course's quizzes in gradebook order, with their assessment and items."""
    query = (
        sa.select(Quiz)
        .join(Quiz.assessment)
        .where(Assessment.course_id == course.id)
        .options(sa.orm.contains_eager(Quiz.assessment), selectinload(Quiz.items))
        .order_by(Assessment.position, Quiz.id)
    )
    if published_only:
        query = query.where(Assessment.published.is_(True))
    return list(db.session.scalars(query).unique())


def user_attempts(quiz: Quiz, user: User) -> list[Attempt]:
    return list(
        db.session.scalars(
            sa.select(Attempt)
            .where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.id)
            .order_by(Attempt.number)
        )
    )


def quiz_grade(quiz: Quiz, user: User) -> Grade | None:
    return get_grade(quiz.assessment, user)


def attempt_answers(attempt: Attempt) -> dict[int, AttemptAnswer]:
    return {
        a.question_id: a
        for a in db.session.scalars(
            sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
        )
    }


def attempt_or_404(attempt_id: int) -> Attempt:
    """Return the attempt with its quiz, assessment, course and the course's instructors.

    One statement: the attempt pages check who may see it and show the course.
    """
    attempt = db.session.scalar(
        sa.select(Attempt)
        .where(Attempt.id == attempt_id)
        .options(
            joinedload(Attempt.quiz)
            .joinedload(Quiz.assessment)
            .joinedload(Assessment.course)
            .joinedload(Course.instructors)
            .joinedload(User.role_rows)
        )
    )
    if attempt is None:
        abort(404)
    return attempt


def can_take(user, quiz: Quiz) -> bool:
    """Return whether ``user`` is a trainee actively enrolled in the quiz's visible course."""
    if not user.is_authenticated:
        return False
    course = quiz.assessment.course
    if course.state == CourseState.DRAFT or not quiz.assessment.published:
        return False
    return has_active_enrolment(user, course)


@dataclass
class TraineeAttempts:
    user: User
    enrolled: bool
    attempts: list[Attempt] = field(default_factory=list)
    grade: Grade | None = None
    # The grade's points, or those the attempts shown as expired will give.
    grade_points: Decimal | None = None

    @property
    def best(self) -> Decimal | None:
        scores = [a.score for a in self.attempts if a.score is not None]
        return max(scores) if scores else None

    @property
    def in_progress(self) -> bool:
        return any(a.status == AttemptStatus.IN_PROGRESS for a in self.attempts)


def attempts_by_trainee(quiz: Quiz) -> list[TraineeAttempts]:
    """Every active trainee of the course and anyone who attempted the quiz (4 queries)."""
    course_id = quiz.assessment.course_id
    enrolled_ids = (
        sa.select(Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.course_id == course_id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    attempted_ids = sa.select(Attempt.user_id).where(Attempt.quiz_id == quiz.id)
    users = db.session.execute(
        sa.select(User, User.id.in_(enrolled_ids))
        .where(sa.or_(User.id.in_(enrolled_ids), User.id.in_(attempted_ids)))
        .order_by(User.name, User.id)
    ).all()
    rows = {user.id: TraineeAttempts(user, bool(enrolled)) for user, enrolled in users}
    for attempt in db.session.scalars(
        sa.select(Attempt).where(Attempt.quiz_id == quiz.id).order_by(Attempt.number)
    ):
        rows[attempt.user_id].attempts.append(attempt)
    for grade in db.session.scalars(
        sa.select(Grade).where(Grade.assessment_id == quiz.assessment_id)
    ):
        if grade.user_id in rows:
            rows[grade.user_id].grade = grade
            rows[grade.user_id].grade_points = grade.points
    return list(rows.values())
