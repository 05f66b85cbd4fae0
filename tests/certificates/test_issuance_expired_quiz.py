"""Issuing counts a quiz grade the trainee earned in an attempt pages only show as expired."""

from __future__ import annotations

from datetime import timedelta

from certificates import operations as ops
from courses.assessments.quizzes import operations as quiz_ops
from courses.assessments.quizzes.models import AttemptStatus
from lms.db import utcnow
from lms.models import Role
from tests.courses.conftest import make_cohort, make_course, make_enrolment  # noqa: F401
from tests.courses.quizzes.conftest import make_question, make_quiz, world  # noqa: F401


def test_issuing_stores_the_trainees_expired_attempt_and_counts_its_grade(
    db,
    world,  # noqa: F811 - the quiz tests' course, not the certificates one
    make_quiz,  # noqa: F811
    make_scheme,
    make_user,
):
    tf = world.questions["true_false"]
    exam = make_quiz(world.course, questions=[tf], time_limit_minutes=20)
    scheme = make_scheme(exam=exam.assessment)
    certifier = make_user(roles=[Role.CERTIFIER])
    attempt = quiz_ops.start_attempt(
        exam, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    quiz_ops.save_answers(
        attempt, {tf.id: "false"}, now=attempt.started_at + timedelta(minutes=2), actor=attempt.user
    )
    db.session.commit()

    cert = ops.issue_certificate(scheme, world.trainee, actor=certifier)
    db.session.commit()
    assert cert.user_id == world.trainee.id
    db.session.expire_all()
    assert attempt.status == AttemptStatus.EXPIRED
