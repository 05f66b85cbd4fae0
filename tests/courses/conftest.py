"""Factory fixtures for curricula: programmes, courses, modules, lessons, outcomes, cohorts.

Each factory commits (inside the test's outer transaction, which is still rolled
back afterwards), so the rows survive the rollback a 403/404 error page does.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from courses.models import (
    Cohort,
    Course,
    CourseState,
    LearningOutcome,
    Lesson,
    Module,
    Programme,
    ProgrammeCourse,
)

_counter = itertools.count(1)


@pytest.fixture
def make_course(db):
    """Create a course: ``make_course(code="SC101", state="published", instructors=[user])``."""

    def make(
        *,
        code: str | None = None,
        title_en: str | None = None,
        title_bg: str = "",
        summary_en: str = "",
        summary_bg: str = "",
        workload_hours: int = 10,
        state: str = CourseState.PUBLISHED,
        instructors=(),
    ) -> Course:
        n = next(_counter)
        course = Course(
            code=(code or f"C{n:04d}").upper(),
            title_en=title_en or f"Course {n}",
            title_bg=title_bg,
            summary_en=summary_en,
            summary_bg=summary_bg,
            workload_hours=workload_hours,
            state=str(state),
            instructors=list(instructors),
        )
        db.session.add(course)
        db.session.commit()
        return course

    return make


@pytest.fixture
def make_module(db):
    """Append a module to ``course``: ``make_module(course, title_en="Basics")``."""

    def make(course: Course, *, title_en: str | None = None, title_bg: str = "") -> Module:
        n = next(_counter)
        position = max((m.position for m in course.modules), default=0) + 1
        module = Module(title_en=title_en or f"Module {n}", title_bg=title_bg, position=position)
        course.modules.append(module)
        db.session.commit()
        return module

    return make


@pytest.fixture
def make_lesson(db):
    """Append a lesson to ``module``: ``make_lesson(module, body_en="# Hi", required=True)``."""

    def make(
        module: Module,
        *,
        title_en: str | None = None,
        title_bg: str = "",
        body_en: str = "",
        body_bg: str = "",
        workload_minutes: int = 30,
        required: bool = True,
    ) -> Lesson:
        n = next(_counter)
        position = max((lesson.position for lesson in module.lessons), default=0) + 1
        lesson = Lesson(
            title_en=title_en or f"Lesson {n}",
            title_bg=title_bg,
            body_en=body_en,
            body_bg=body_bg,
            workload_minutes=workload_minutes,
            required=required,
            position=position,
        )
        module.lessons.append(lesson)
        db.session.commit()
        return lesson

    return make


@pytest.fixture
def make_outcome(db):
    """Append a learning outcome to ``course``."""

    def make(course: Course, *, text_en: str | None = None, text_bg: str = "") -> LearningOutcome:
        n = next(_counter)
        position = max((o.position for o in course.outcomes), default=0) + 1
        outcome = LearningOutcome(
            text_en=text_en or f"Outcome {n}", text_bg=text_bg, position=position
        )
        course.outcomes.append(outcome)
        db.session.commit()
        return outcome

    return make


@pytest.fixture
def make_programme(db):
    """Create a programme with ordered courses: ``make_programme(courses=[c1, c2])``."""

    def make(
        *,
        code: str | None = None,
        title_en: str | None = None,
        title_bg: str = "",
        summary_en: str = "",
        state: str = CourseState.PUBLISHED,
        courses=(),
    ) -> Programme:
        n = next(_counter)
        programme = Programme(
            code=(code or f"P{n:04d}").upper(),
            title_en=title_en or f"Programme {n}",
            title_bg=title_bg,
            summary_en=summary_en,
            state=str(state),
        )
        programme.course_links = [
            ProgrammeCourse(course=course, position=i) for i, course in enumerate(courses, 1)
        ]
        db.session.add(programme)
        db.session.commit()
        return programme

    return make


@pytest.fixture
def make_cohort(db):
    """Create a cohort of ``course``; by default it starts in a week and enrolment is open.

    ``make_cohort(course, capacity=2, starts_on=date(...), ends_on=...,
    enrol_opens_on=..., enrol_closes_on=..., self_enrolment=True, name=...)``
    """

    def make(
        course: Course,
        *,
        name: str | None = None,
        capacity: int | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
        enrol_opens_on: date | None = None,
        enrol_closes_on: date | None = None,
        self_enrolment: bool = True,
    ) -> Cohort:
        n = next(_counter)
        starts_on = starts_on or date.today() + timedelta(days=7)
        cohort = Cohort(
            course=course,
            name=name or f"Cohort {n}",
            capacity=capacity,
            starts_on=starts_on,
            ends_on=ends_on or starts_on + timedelta(days=60),
            enrol_opens_on=enrol_opens_on,
            enrol_closes_on=enrol_closes_on,
            self_enrolment=self_enrolment,
        )
        db.session.add(cohort)
        db.session.commit()
        return cohort

    return make


# --- enrolment fixtures ------------------------------------------------------


@pytest.fixture
def make_enrolment(db):
    """Put ``user`` in ``cohort`` directly: ``make_enrolment(cohort, user, status="waitlisted")``.

    For arranging tests only; the rules of capacity live in courses.enrolment.operations.
    """
    from datetime import UTC, datetime

    from courses.models import Enrolment, EnrolmentStatus

    def make(cohort: Cohort, user, *, status: str = EnrolmentStatus.ACTIVE, queued_at=None):
        now = queued_at or datetime.now(UTC)
        enrolment = Enrolment(
            cohort=cohort,
            user=user,
            status=str(status),
            queued_at=now,
            enrolled_at=now if status == EnrolmentStatus.ACTIVE else None,
            withdrawn_at=now if status == EnrolmentStatus.WITHDRAWN else None,
        )
        db.session.add(enrolment)
        db.session.commit()
        return enrolment

    return make
