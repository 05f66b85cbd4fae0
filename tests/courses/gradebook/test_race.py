"""Grades saved at the same moment, with real commits, on SQLite and PostgreSQL.

Two instructors saving the same grade: the second is told, nothing is lost
silently. Two grades of one trainee released at once: completion is computed
from both, because each recomputation locks the trainee's completion row.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import StaleGrade, set_grade
from courses.assessments.models import Assessment, Grade, GradeChange
from courses.gradebook import operations
from courses.gradebook.models import CompletionChange, CourseCompletion
from courses.models import Cohort, Course, Enrolment
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role, User

D = Decimal


def _arrange(*, assessments: int = 1, graded: bool = True, record: bool = False) -> dict:
    teachers = [
        create_user(
            email=f"teacher{i}@example.org",
            name=f"Teacher {i}",
            password=None,
            roles=[Role.INSTRUCTOR],
        )
        for i in range(2)
    ]
    trainee = create_user(email="racer@example.org", name="Състезател", password=None)
    course = Course(code="GRACE", title_en="Race", state="published", instructors=teachers)
    cohort = Cohort(
        course=course,
        name="Now",
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    db.session.add(Enrolment(cohort=cohort, user=trainee, status="active"))
    exams = [
        Assessment(
            course=course,
            kind="manual",
            title_en=f"Exam {i}",
            max_points=D(20),
            pass_percent=D(50),
            required=True,
            published=True,
            position=i,
        )
        for i in range(assessments)
    ]
    db.session.add_all(exams)
    db.session.flush()
    if graded:
        set_grade(exams[0], trainee, D(10), actor=teachers[0])
    if record:
        db.session.add(CourseCompletion(user=trainee, course=course))
    db.session.commit()
    ids = {
        "teachers": [t.id for t in teachers],
        "trainee": trainee.id,
        "exams": [e.id for e in exams],
        "course": course.id,
    }
    db.session.remove()
    return ids


def _run(app, jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs), timeout=30)
    errors: list[BaseException] = []

    def run(job) -> None:
        try:
            with app.app_context():
                barrier.wait()
                job()
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported to the main thread
            errors.append(error)
            with app.app_context():
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _save(ids, teacher: int, points: str, version: int | None):
    def job():
        operations.grade_manual(
            db.session.get(Assessment, ids["exams"][0]),
            db.session.get(User, ids["trainee"]),
            D(points),
            actor=db.session.get(User, ids["teachers"][teacher]),
            reason=f"Teacher {teacher}",
            expected_version=version,
        )

    return job


def test_two_instructors_change_the_same_grade_at_once(committing_app):
    ids = _arrange()

    errors = _run(committing_app, [_save(ids, 0, "14", 1), _save(ids, 1, "16", 1)])

    assert len(errors) == 1, errors
    assert isinstance(errors[0], StaleGrade), errors
    assert "changed by someone else" in str(errors[0])
    grade = db.session.scalars(sa.select(Grade)).one()
    assert grade.version == 2
    changes = db.session.execute(
        sa.select(GradeChange.old_points, GradeChange.new_points, GradeChange.reason).order_by(
            GradeChange.id
        )
    ).all()
    # The first grade and the winner's change; the loser was told and wrote nothing.
    assert len(changes) == 2
    assert changes[1][0] == D(10)
    assert changes[1][1] == grade.points
    assert changes[1][2] == {D(14): "Teacher 0", D(16): "Teacher 1"}[grade.points]


def test_two_instructors_give_the_first_grade_at_once(committing_app):
    ids = _arrange(graded=False)

    errors = _run(committing_app, [_save(ids, 0, "14", 0), _save(ids, 1, "16", 0)])

    assert len(errors) == 1, errors
    assert isinstance(errors[0], StaleGrade), errors
    grade = db.session.scalars(sa.select(Grade)).one()
    assert grade.points in {D(14), D(16)}
    assert db.session.scalar(sa.select(sa.func.count(GradeChange.id))) == 1


@pytest.mark.parametrize("record", [False, True], ids=["first-record", "existing-record"])
def test_two_grades_released_at_once_both_count_for_completion(committing_app, record):
    ids = _arrange(assessments=2, graded=False, record=record)

    def release(index: int):
        def job():
            set_grade(
                db.session.get(Assessment, ids["exams"][index]),
                db.session.get(User, ids["trainee"]),
                D(18),
                actor=db.session.get(User, ids["teachers"][index]),
                release=True,
            )

        return job

    errors = _run(committing_app, [release(0), release(1)])

    assert errors == []
    record = db.session.scalars(sa.select(CourseCompletion)).one()
    assert (record.completed, record.grade) == (True, D(90))
    assert db.session.scalar(sa.select(sa.func.count(CompletionChange.id))) >= 1
