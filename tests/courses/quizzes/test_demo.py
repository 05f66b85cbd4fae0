"""The demo quiz: one question of each kind, open now, and Maria's graded attempt."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from courses import demo as course_demo
from courses.assessments.grades import get_grade
from courses.assessments.models import GradeStatus
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import Attempt, AttemptStatus, Question, Quiz
from courses.assessments.scoring import QuestionKind
from courses.demo import quizzes as demo
from lms.auth.operations import find_user_by_email
from lms.db import utcnow
from lms.models import Role


def test_demo_quiz_is_loaded_once_and_ready_to_take(db, client, login_as):
    assert demo.load() == []  # without the curriculum there is nothing to add to
    course_demo.load()
    db.session.flush()
    assert demo.load() == []
    db.session.flush()
    counts = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Quiz)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Question)),
    )
    demo.load()
    db.session.flush()
    assert (
        counts
        == (
            db.session.scalar(sa.select(sa.func.count()).select_from(Quiz)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Question)),
        )
        == (1, 5)
    )

    quiz = db.session.scalars(sa.select(Quiz)).one()
    kinds = sorted(item.question.kind for item in quiz.items)
    assert kinds == sorted(k.value for k in QuestionKind)
    assert quiz.attempt_limit == 3
    assert quiz.time_limit_minutes == 20
    assert quiz.assessment.published
    assert quiz.opens_at < utcnow()
    assert quiz.closes_at is None

    maria = find_user_by_email(demo.TRAINEE)
    attempt = db.session.scalars(sa.select(Attempt)).one()
    assert attempt.user_id == maria.id
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == Decimal("75.00")
    grade = get_grade(quiz.assessment, maria)
    assert grade.points == Decimal("75.00")
    assert grade.status == GradeStatus.RELEASED

    # Another demo trainee can take it now, through the pages.
    db.session.commit()
    elena = find_user_by_email("elena.nikolova@example.org")
    assert elena.has_role(Role.TRAINEE)
    login_as(elena)
    response = client.post_form(f"/courses/SC-101/quizzes/{quiz.id}/start")
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "digital twin" not in html.lower()
    assert "720" not in html
    assert "Time left" in html
    assert ops.start_attempt(quiz, maria, actor=maria).number == 2
