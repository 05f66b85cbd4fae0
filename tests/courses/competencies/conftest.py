"""Factories for competency records: frameworks, competencies, assessments and a class."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

from courses.assessments.models import Assessment, AssessmentKind
from courses.competencies import operations as ops
from courses.competencies.models import Competency, Framework
from courses.models import Course
from lms.models import Role, User

_counter = itertools.count(1)


@pytest.fixture
def framework_admin(make_user):
    """The administrator who keeps the frameworks, created when first asked for."""
    made: list[User] = []

    def get() -> User:
        if not made:
            made.append(make_user(roles=[Role.ADMIN], name="Framework Admin"))
        return made[0]

    return get


@pytest.fixture
def make_framework(db, framework_admin):
    """Create a framework with the default five-level scale (level 3 proficient)."""

    def make(*, code: str | None = None, name_en: str | None = None) -> Framework:
        n = next(_counter)
        framework = ops.create_framework(
            code=code or f"FW{n}", name_en=name_en or f"Framework {n}", actor=framework_admin()
        )
        db.session.commit()
        return framework

    return make


@pytest.fixture
def make_competency(db, framework_admin):
    def make(framework: Framework, *, code: str | None = None, parent=None, **kw) -> Competency:
        n = next(_counter)
        competency = ops.create_competency(
            framework,
            code=code or f"K{n}",
            title_en=kw.pop("title_en", f"Competency {n}"),
            parent=parent,
            actor=framework_admin(),
            **kw,
        )
        db.session.commit()
        return competency

    return make


@pytest.fixture
def make_assessment(db):
    def make(
        course: Course,
        *,
        title_en: str | None = None,
        pass_percent: Decimal | int | None = 60,
        max_points: Decimal | int = 100,
        kind: str = AssessmentKind.MANUAL,
    ) -> Assessment:
        n = next(_counter)
        assessment = Assessment(
            course=course,
            kind=kind,
            title_en=title_en or f"Assessment {n}",
            max_points=Decimal(max_points),
            pass_percent=None if pass_percent is None else Decimal(pass_percent),
            published=True,
        )
        db.session.add(assessment)
        db.session.commit()
        return assessment

    return make


def level(framework: Framework, rank: int):
    """Return the framework's level of this rank."""
    return next(lv for lv in framework.levels if lv.rank == rank)


@dataclass
class Classroom:
    course: Course
    other_course: Course
    framework: Framework
    competencies: list[Competency]
    trainee: User
    other_trainee: User
    instructor: User
    other_instructor: User
    certifier: User
    employer: User
    admin: User

    def level(self, rank: int):
        return level(self.framework, rank)


@pytest.fixture
def classroom(
    db, make_user, make_course, make_cohort, make_enrolment, make_framework, make_competency
) -> Classroom:
    """A course with its instructor and an enrolled trainee, another course with its own."""
    instructor = make_user(roles=[Role.INSTRUCTOR], name="Anna Instructor")
    other_instructor = make_user(roles=[Role.INSTRUCTOR], name="Other Instructor")
    trainee = make_user(roles=[Role.TRAINEE], name="Мария Иванова")
    other_trainee = make_user(roles=[Role.TRAINEE], name="Other Trainee")
    certifier = make_user(roles=[Role.CERTIFIER], name="Cert Ifier")
    employer = make_user(roles=[Role.EMPLOYER], name="Em Ployer")
    admin = make_user(roles=[Role.ADMIN], name="Ad Min")
    course = make_course(code="SC-K1", instructors=[instructor])
    other_course = make_course(code="SC-K2", instructors=[other_instructor])
    make_enrolment(make_cohort(course), trainee)
    make_enrolment(make_cohort(other_course), other_trainee)
    framework = make_framework(code="S4C-T", name_en="Smart city test framework")
    area = make_competency(framework, code="PM", title_en="Project management")
    competencies = [
        area,
        make_competency(framework, code="PM.1", title_en="Plan a project", parent=area),
        make_competency(framework, code="PM.2", title_en="Manage risk", parent=area),
    ]
    db.session.commit()
    return Classroom(
        course,
        other_course,
        framework,
        competencies,
        trainee,
        other_trainee,
        instructor,
        other_instructor,
        certifier,
        employer,
        admin,
    )
