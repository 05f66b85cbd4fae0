"""The main pages load what their templates need up front: no lazy load while rendering.

A lazy load is one query per object touched; a page that lazy-loads does work in
proportion to what it shows, and the number of its queries grows with the data.
Every ORM query that loads an attribute on first access fails these tests, and the
main pages keep to a fixed, small number of statements on a small and a larger site.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from certificates.models import Scheme
from courses.assessments.models import Assessment
from courses.assessments.quizzes.models import Attempt, Quiz
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus, Lesson, Module
from lms.auth.operations import find_user_by_email
from lms.extensions import db as _db
from lms.generate import SIZES, generate, scaled
from lms.models import Role, User, UserRole
from tests.conftest import count_queries, sign_in

#: The course page, for a visitor or a trainee: the course with its contents and
#: programmes, its published quizzes and assignments, its cohorts with the trainee's
#: places, and for a trainee their session and unread notifications.
COURSE_PAGE_STATEMENTS = 7


class LazyLoads:
    """Records each lazy load: the object and the attribute loaded on first access."""

    def __init__(self) -> None:
        self.loads: list[str] = []

    def __call__(self, state) -> None:
        if state.is_select and state.lazy_loaded_from is not None:
            path = state.loader_strategy_path
            self.loads.append(str(path[-1]) if path is not None and len(path) else "?")


@pytest.fixture
def lazy_loads():
    """Collect the lazy loads of every session while the test runs."""
    recorder = LazyLoads()
    sa.event.listen(Session, "do_orm_execute", recorder)
    yield recorder
    sa.event.remove(Session, "do_orm_execute", recorder)


@pytest.fixture
def demo(db):
    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.commit()


def _page(client, email: str | None, url: str, lazy_loads) -> tuple[int, list[str]]:
    if email is not None:
        sign_in(client, find_user_by_email(email))
    client.get(url)  # the first request of a client sets up its session
    _db.session.expire_all()  # every object read afresh, as in a new request
    lazy_loads.loads.clear()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.status_code, list(lazy_loads.loads)


def test_the_detector_sees_a_lazy_load(demo, lazy_loads):
    course = _db.session.scalar(sa.select(Course).where(Course.code == "SC-101"))
    _db.session.expire_all()
    course = _db.session.scalar(sa.select(Course).where(Course.code == "SC-101"))
    assert course.modules
    assert "Course.modules" in lazy_loads.loads


@pytest.mark.parametrize(
    ("email", "url"),
    [
        (None, "/courses"),
        ("maria.ivanova@example.org", "/courses"),
        (None, "/courses/SC-101"),
        ("maria.ivanova@example.org", "/courses/SC-101"),
        ("anna.koleva@example.org", "/courses/SC-101"),
        ("maria.ivanova@example.org", "/dashboard"),
        ("anna.koleva@example.org", "/teaching"),  # an instructor's home
        ("petya.angelova@example.org", "/certification/schemes/S4C-PM"),
    ],
)
def test_main_pages_render_without_lazy_loads(demo, client, lazy_loads, email, url):
    _status, loads = _page(client, email, url, lazy_loads)
    assert loads == []


def _submitted_attempt() -> Attempt:
    """The first graded attempt of a trainee who still studies the quiz's course."""
    return _db.session.scalar(
        sa.select(Attempt)
        .join(Quiz)
        .join(Assessment)
        .join(Cohort, Cohort.course_id == Assessment.course_id)
        .join(
            Enrolment,
            sa.and_(Enrolment.cohort_id == Cohort.id, Enrolment.user_id == Attempt.user_id),
        )
        .where(Enrolment.status == EnrolmentStatus.ACTIVE, Attempt.submitted_at.is_not(None))
        .order_by(Attempt.id)
        .limit(1)
    )


def _trainee_pages() -> list[tuple[str, User, str]]:
    """The pages an enrolled trainee reads, on the course of a quiz they took."""
    attempt = _submitted_attempt()
    course = attempt.quiz.assessment.course
    lesson = _db.session.scalar(
        sa.select(Lesson)
        .join(Module)
        .where(Module.course_id == course.id, Lesson.published.is_(True))
        .order_by(Module.position, Lesson.position)
        .limit(1)
    )
    return [
        ("course", attempt.user, f"/courses/{course.code}"),
        ("catalogue", attempt.user, "/courses"),
        ("dashboard", attempt.user, "/dashboard"),
        ("lesson", attempt.user, f"/courses/{course.code}/lessons/{lesson.id}"),
        ("review", attempt.user, f"/quiz-attempts/{attempt.id}/review"),
    ]


def test_a_trainees_pages_render_without_lazy_loads(demo, client, lazy_loads):
    for _name, user, url in _trainee_pages():
        sign_in(client, user)
        _status, loads = _page(client, None, url, lazy_loads)
        assert loads == [], url


def _statements(app, client, url: str) -> list[str]:
    client.get(url)
    _db.session.expire_all()
    with count_queries(app) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return queries.statements


def test_course_page_has_a_fixed_number_of_statements(demo, client, app):
    statements = _statements(app, client, "/courses/SC-101")
    assert len(statements) <= COURSE_PAGE_STATEMENTS, statements


#: Statements of each page of an enrolled trainee, and of a certifier's queue, at most
#: (the signed-in user's session and unread notifications are two of them).
PAGE_STATEMENTS = {
    "course": COURSE_PAGE_STATEMENTS,
    "catalogue": 7,
    "dashboard": 6,
    "lesson": 7,
    "review": 6,
    "queue": 11,
}


@pytest.mark.parametrize("scale", [0.5, 2])
def test_pages_keep_their_number_of_statements_as_the_site_grows(app, db, client, scale):
    generate(scaled(SIZES["XS"], scale), 3, current_app.extensions["lms_generators"])
    pages = _trainee_pages()
    certifier = db.session.scalar(
        sa.select(User).join(UserRole).where(UserRole.role == Role.CERTIFIER).order_by(User.id)
    )
    scheme = db.session.scalar(sa.select(Scheme.code).order_by(Scheme.id))
    pages.append(("queue", certifier, f"/certification/schemes/{scheme}"))
    db.session.commit()
    for name, user, url in pages:
        sign_in(client, user)
        statements = _statements(app, client, url)
        assert len(statements) <= PAGE_STATEMENTS[name], (url, statements)
