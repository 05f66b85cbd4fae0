"""Factories for certification: a scheme on a course and an exam, and qualified trainees.

Factories commit (inside the test's outer transaction, still rolled back
afterwards) so their rows survive the rollback an error page does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from certificates import operations as ops
from certificates.models import Scheme
from courses.assessments.models import Assessment, Grade, GradeChange, GradeStatus
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms.models import Role

_counter = itertools.count(1)
EARLIER = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    scheme: Scheme
    course: Course
    exam: Assessment
    certifier: object
    admin: object


@pytest.fixture
def make_scheme(db):
    """Create a scheme requiring ``course`` (min 60) and ``exam`` (min 70 %)."""

    def make(*, course=None, exam=None, code=None, validity_months=36, **values) -> Scheme:
        n = next(_counter)
        scheme = ops.create_scheme(
            code=code or f"SCH-{n}",
            actor=None,
            title_en=values.pop("title_en", f"Scheme {n}"),
            title_bg=values.pop("title_bg", f"Схема {n}"),
            validity_months=validity_months,
            eqf_level=values.pop("eqf_level", 5),
            workload_hours=values.pop("workload_hours", 120),
            esco_uris=values.pop(
                "esco_uris", "http://data.europa.eu/esco/skill/1dd23dba-dd00-45ab-abf4-642902538317"
            ),
            ecf_codes=values.pop("ecf_codes", "E.2"),
            **values,
        )
        if course is not None:
            ops.add_requirement(scheme, kind="course", course=course, min_grade=60, actor=None)
        if exam is not None:
            ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=70, actor=None)
        db.session.commit()
        return scheme

    return make


@pytest.fixture
def make_course_with_exam(db):
    def make(code=None):
        n = next(_counter)
        course = Course(
            code=code or f"SC-PM-{100 + n}",
            title_en=f"Project management {n}",
            title_bg=f"Управление на проекти {n}",
            state=CourseState.PUBLISHED,
        )
        exam = Assessment(
            course=course,
            kind="quiz",
            title_en=f"Final exam {n}",
            title_bg=f"Изпит {n}",
            max_points=Decimal(50),
            pass_percent=Decimal(60),
            published=True,
        )
        db.session.add_all([course, exam])
        db.session.commit()
        return course, exam

    return make


@pytest.fixture
def world(db, make_user, make_scheme, make_course_with_exam) -> World:
    course, exam = make_course_with_exam()
    scheme = make_scheme(course=course, exam=exam)
    certifier = make_user(roles=[Role.CERTIFIER], name="Certa Certifier")
    admin = make_user(roles=[Role.ADMIN], name="Ada Admin")
    db.session.commit()
    return World(scheme, course, exam, certifier, admin)


@pytest.fixture
def qualify(db):
    """Give ``user`` a course completion and a released exam grade (percentages)."""

    def make(user, world: World, *, grade=78, exam_percent=86, completed=True, at=EARLIER):
        db.session.add(
            CourseCompletion(
                user_id=user.id,
                course_id=world.course.id,
                completed=completed,
                grade=Decimal(grade) if grade is not None else None,
                completed_at=at if completed else None,
            )
        )
        if exam_percent is not None:
            release_exam(db, user, world.exam, exam_percent, at=at)
        db.session.commit()
        return user

    return make


def release_exam(db, user, exam, percent, *, at=EARLIER, grader=None):
    """Record a released exam grade (and its history row) directly."""
    from sqlalchemy import select

    points = Decimal(percent) * exam.max_points / 100
    grade = db.session.scalar(
        select(Grade).where(Grade.user_id == user.id, Grade.assessment_id == exam.id)
    )
    old = None
    if grade is None:
        grade = Grade(assessment=exam, user_id=user.id)
        db.session.add(grade)
    else:
        old = grade.points
    grade.points = points
    grade.status = GradeStatus.RELEASED
    grade.released_at = at
    grade.graded_at = at
    grade.graded_by_id = grader.id if grader else None
    db.session.flush()
    db.session.add(
        GradeChange(
            grade_id=grade.id,
            old_points=old,
            new_points=points,
            new_status=GradeStatus.RELEASED,
            changed_by_id=grader.id if grader else None,
            changed_at=at,
        )
    )
    db.session.flush()
    return grade


@pytest.fixture
def trainee(make_user, qualify, world):
    return qualify(make_user(name="Мария Иванова-Петрова"), world)
