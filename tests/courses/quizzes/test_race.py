"""A quiz submitted twice in parallel is graded once; parallel starts make one attempt.

Real commits on both engines. On PostgreSQL the second conditional UPDATE
waits for the first to commit and then matches no row; on SQLite write
transactions begin IMMEDIATE, so the second runs after the first.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import sqlalchemy as sa

from courses.assessments.models import GradeChange
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import Attempt, AttemptStatus, Quiz
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import AuditLog, Role, User

from .conftest import question_data


def _arrange(start: bool) -> tuple[int, int, int | None]:
    course = Course(code="QRACE", title_en="Race", state="published")
    cohort = Cohort(
        course=course,
        name="Now",
        starts_on=date.today() - timedelta(days=1),
        ends_on=date.today() + timedelta(days=30),
    )
    trainee = create_user(email="quiz.racer@example.org", name="Racer", password=None)
    teacher = create_user(
        email="quiz.teacher@example.org", name="Teacher", password=None, roles=[Role.INSTRUCTOR]
    )
    course.instructors = [teacher]
    db.session.add_all(
        [cohort, Enrolment(cohort=cohort, user=trainee, status=EnrolmentStatus.ACTIVE)]
    )
    db.session.flush()
    question = ops.create_question(course, question_data("true_false"), actor=teacher)
    quiz = ops.create_quiz(course, ops.QuizSettings(title_en="Race quiz"), actor=teacher)
    ops.set_questions(quiz, [question.id], actor=teacher)
    ops.set_published(quiz, True, actor=teacher)
    attempt_id = None
    if start:
        attempt = ops.start_attempt(quiz, trainee, actor=trainee)
        ops.save_answers(attempt, {question.id: "false"}, actor=attempt.user)
        attempt_id = attempt.id
    db.session.commit()
    return quiz.id, trainee.id, attempt_id


def _in_threads(app, work, n=2) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(n, timeout=30)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                try:
                    results.append(work())
                    db.session.commit()
                except ops.QuizError as refused:
                    db.session.rollback()
                    results.append(refused)
                finally:
                    db.session.remove()
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


def test_a_quiz_submitted_twice_in_parallel_is_graded_once(committing_app):
    _quiz_id, _user_id, attempt_id = _arrange(start=True)
    db.session.remove()

    def submit():
        attempt = db.session.get(Attempt, attempt_id)
        return ops.submit_attempt(attempt, actor=attempt.user).id

    results, errors = _in_threads(committing_app, submit)

    assert errors == []
    refused = [r for r in results if isinstance(r, ops.AttemptClosed)]
    assert len(refused) == 1
    assert results.count(attempt_id) == 1
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == 100
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange)) == 1
    graded = sa.select(sa.func.count()).where(AuditLog.action == "quiz.attempt_graded")
    assert db.session.scalar(graded) == 1


def test_parallel_starts_make_one_attempt(committing_app):
    quiz_id, user_id, _ = _arrange(start=False)
    db.session.remove()

    def start():
        quiz = db.session.get(Quiz, quiz_id)
        trainee = db.session.get(User, user_id)
        return ops.start_attempt(quiz, trainee, actor=trainee).number

    results, errors = _in_threads(committing_app, start)

    assert errors == []
    assert all(r == 1 or isinstance(r, ops.AttemptConflict) for r in results), results
    numbers = db.session.scalars(sa.select(Attempt.number).where(Attempt.quiz_id == quiz_id)).all()
    assert numbers == [1]
