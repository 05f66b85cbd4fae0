"""The demo assignment: a rubric, a Cyrillic trainee waiting to be graded, one released."""

from __future__ import annotations

import sqlalchemy as sa

from courses import demo as courses_demo
from courses.assessments.assignments.models import (
    Assignment,
    MarkingStatus,
    Submission,
    SubmissionStatus,
)
from courses.assessments.models import Grade, GradeStatus
from courses.demo import assignments as demo


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_demo_assignment_loads_once_and_is_gradable(client, db, login_as):
    assert demo.load() == []  # nothing to attach to without the course demo
    assert _count(db, Assignment) == 0
    courses_demo.load()
    demo.load()
    db.session.flush()
    demo.load()
    db.session.flush()
    assignment = db.session.scalars(sa.select(Assignment)).one()
    assert assignment.assessment.title_en == demo.TITLE
    assert assignment.assessment.course.code == "SC-101"
    assert 3 <= len(assignment.criteria) <= 4
    assert all(len(c.levels) >= 3 for c in assignment.criteria)

    submissions = {s.user.name: s for s in db.session.scalars(sa.select(Submission))}
    waiting = submissions["Мария Иванова"]
    assert waiting.status == SubmissionStatus.SUBMITTED
    assert waiting.text
    released = submissions["Елена Николова"]
    assert released.marking_status == MarkingStatus.RELEASED
    grade = db.session.scalars(sa.select(Grade).where(Grade.user_id == released.user_id)).one()
    assert grade.status == GradeStatus.RELEASED
    assert grade.points == released.points
    assert _count(db, Grade) == 1
    db.session.commit()

    # The instructor finds Мария's work in the queue and can open it.
    anna = assignment.assessment.course.instructors[0]
    login_as(anna)
    queue = client.get(f"/courses/SC-101/assignments/{assignment.assessment_id}/grading")
    assert "Мария Иванова" in queue.text
    page = client.get(
        f"/courses/SC-101/assignments/{assignment.assessment_id}/submissions/{waiting.id}"
    )
    assert page.status_code == 200
    assert "Идентифицирани заинтересовани страни" in page.text  # Anna reads Bulgarian
    # Елена sees her released grade and feedback.
    login_as(released.user)
    page = client.get(f"/courses/SC-101/assignments/{assignment.assessment_id}")
    assert "A clear, well-argued map." in page.text
