"""``lms quizzes expire``: store the attempts pages only show as expired."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from courses.assessments.grades import get_grade
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import AttemptStatus
from lms.db import utcnow


def test_expire_stores_attempts_past_their_deadline_and_their_grades(app, db, world, make_quiz):
    tf = world.questions["true_false"]
    timed = make_quiz(world.course, questions=[tf], time_limit_minutes=20)
    untimed = make_quiz(world.course, questions=[tf])
    late = ops.start_attempt(
        timed, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    ops.save_answers(
        late, {tf.id: "false"}, now=late.started_at + timedelta(minutes=2), actor=late.user
    )
    going = ops.start_attempt(untimed, world.trainee, actor=world.trainee)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["quizzes", "expire"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"expired": 1}
    db.session.expire_all()
    assert late.status == AttemptStatus.EXPIRED
    assert late.submitted_at == late.deadline
    assert going.status == AttemptStatus.IN_PROGRESS
    assert get_grade(timed.assessment, world.trainee).points == Decimal("100.00")

    again = app.test_cli_runner().invoke(args=["quizzes", "expire"])
    assert json.loads(again.output) == {"expired": 0}
