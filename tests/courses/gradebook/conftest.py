"""Factories for gradebook tests: categories, assessments and a course with a class."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from lms.models import Role

_counter = itertools.count(1)


@pytest.fixture
def make_category(db):
    """Add a category: ``make_category(course, weight=30, drop_lowest=1, name_en=...)``."""

    def make(course, *, name_en=None, name_bg="", weight=1, drop_lowest=0) -> GradeCategory:
        n = next(_counter)
        category = GradeCategory(
            course=course,
            name_en=name_en or f"Category {n}",
            name_bg=name_bg,
            weight=Decimal(weight),
            drop_lowest=drop_lowest,
            position=n,
        )
        db.session.add(category)
        db.session.commit()
        return category

    return make


@pytest.fixture
def make_assessment(db):
    """Add an assessment: ``make_assessment(course, kind="manual", max_points=20, ...)``."""

    def make(
        course,
        *,
        kind=AssessmentKind.MANUAL,
        title_en=None,
        title_bg="",
        category=None,
        max_points=100,
        pass_percent=None,
        required=False,
        due_at=None,
        published=True,
    ) -> Assessment:
        n = next(_counter)
        assessment = Assessment(
            course=course,
            kind=str(kind),
            title_en=title_en or f"Assessment {n}",
            title_bg=title_bg,
            category=category,
            max_points=Decimal(max_points),
            pass_percent=None if pass_percent is None else Decimal(pass_percent),
            required=required,
            due_at=due_at,
            published=published,
            position=n,
        )
        db.session.add(assessment)
        db.session.commit()
        return assessment

    return make


@dataclass
class ClassWorld:
    course: object
    cohort: object
    instructor: object
    trainees: list = field(default_factory=list)


@pytest.fixture
def make_class(db, make_user, make_course, make_cohort, make_enrolment):
    """A course with an instructor, a cohort and ``size`` enrolled trainees."""

    def make(size: int = 2, *, code: str | None = None, names=None) -> ClassWorld:
        instructor = make_user(roles=[Role.INSTRUCTOR], name="Instructor Ina")
        course = make_course(code=code, instructors=[instructor])
        cohort = make_cohort(course)
        world = ClassWorld(course, cohort, instructor)
        for i in range(size):
            name = names[i] if names else None
            trainee = make_user(name=name)
            make_enrolment(cohort, trainee)
            world.trainees.append(trainee)
        db.session.commit()
        return world

    return make
