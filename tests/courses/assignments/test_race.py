"""Two markers saving the same submission at once, and a double submit: real commits, threads.

On PostgreSQL the submission row is locked with SELECT ... FOR UPDATE; on SQLite
write transactions begin IMMEDIATE. Either way the second marker sees the first
one's version and is told, and attempt numbers stay unique.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments.models import Assignment, Submission
from courses.assessments.grades import StaleGrade
from courses.assessments.models import Grade, GradeChange
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role, User


def _arrange() -> dict:
    course = Course(code="RACE-AS", title_en="Race", state="published")
    cohort = Cohort(
        course=course,
        name="Now",
        starts_on=date.today() - timedelta(days=7),
        ends_on=date.today() + timedelta(days=30),
    )
    db.session.add(cohort)
    trainee = create_user(email="race-trainee@example.org", name="Racer", password=None)
    markers = [
        create_user(
            email=f"marker{i}@example.org",
            name=f"Marker {i}",
            password=None,
            roles=[Role.INSTRUCTOR],
        )
        for i in range(2)
    ]
    course.instructors = markers
    db.session.add(Enrolment(cohort=cohort, user=trainee, status=EnrolmentStatus.ACTIVE))
    db.session.flush()
    assignment = ops.create_assignment(
        course, ops.AssignmentData(title_en="Map", published=True), actor=markers[0]
    )
    criterion = ops.add_criterion(assignment, title_en="Quality", actor=markers[0])
    low = ops.add_level(criterion, title_en="Low", points=Decimal(1), actor=markers[0])
    high = ops.add_level(criterion, title_en="High", points=Decimal(5), actor=markers[0])
    db.session.commit()
    return {
        "assignment": assignment.id,
        "criterion": criterion.id,
        "levels": [low.id, high.id],
        "trainee": trainee.id,
        "markers": [m.id for m in markers],
    }


def _run(app, jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs), timeout=30)
    errors: list[BaseException] = []

    def run(job):
        try:
            with app.app_context():
                barrier.wait()
                job()
                db.session.commit()
        except BaseException as error:  # reported to the main thread
            errors.append(error)
        finally:
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_two_markers_at_once_one_is_told_nothing_lost(committing_app):
    ids = _arrange()
    submission = ops.submit(
        db.session.get(Assignment, ids["assignment"]),
        db.session.get(User, ids["trainee"]),
        text="map",
        actor=db.session.get(User, ids["trainee"]),
    )
    db.session.commit()
    submission_id = submission.id
    db.session.remove()

    def marker(index):
        def job():
            ops.mark(
                db.session.get(Submission, submission_id),
                actor=db.session.get(User, ids["markers"][index]),
                choices={ids["criterion"]: ids["levels"][index]},
                feedback=f"from marker {index}",
                expected_grade_version=0,
                expected_marking_version=0,
            )

        return job

    errors = _run(committing_app, [marker(0), marker(1)])

    assert len(errors) == 1, errors
    assert isinstance(errors[0], StaleGrade), errors
    saved = db.session.get(Submission, submission_id)
    winner = int(saved.feedback[-1])
    grade = db.session.scalars(sa.select(Grade)).one()
    assert grade.points == (Decimal(20) if winner == 0 else Decimal(100))
    assert grade.graded_by_id == ids["markers"][winner]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange)) == 1
    assert saved.marking_version == 1


def test_double_submit_keeps_attempt_numbers_unique(committing_app):
    ids = _arrange()
    db.session.remove()

    def hand_in():
        ops.submit(
            db.session.get(Assignment, ids["assignment"]),
            db.session.get(User, ids["trainee"]),
            text="same moment",
            actor=db.session.get(User, ids["trainee"]),
        )

    errors = _run(committing_app, [hand_in, hand_in])

    attempts = sorted(db.session.scalars(sa.select(Submission.attempt)))
    # Serialised (SQLite): attempts 1 and 2. Or the second is refused with a message.
    if errors:
        assert len(errors) == 1, errors
        assert isinstance(errors[0], ops.AssignmentError), errors
        assert attempts == [1]
    else:
        assert attempts == [1, 2]
