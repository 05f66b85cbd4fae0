"""The main pages load what their templates need up front: no lazy load while rendering.

A lazy load is one query per object touched; a page that lazy-loads does work in
proportion to what it shows, and the number of its queries grows with the data.
Every ORM query that loads an attribute on first access fails these tests, and the
course page keeps to a fixed, small number of statements.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from courses.models import Course
from lms.auth.operations import find_user_by_email
from lms.extensions import db as _db
from tests.conftest import count_queries, sign_in

#: The course page as a visitor sees it: the course with its contents and programmes,
#: its published quizzes and its cohorts.
COURSE_PAGE_STATEMENTS = 8


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


def test_course_page_has_a_fixed_number_of_statements(demo, client, app):
    client.get("/courses/SC-101")
    _db.session.expire_all()
    with count_queries(app) as queries:
        response = client.get("/courses/SC-101")
    assert response.status_code == 200
    assert queries.count <= COURSE_PAGE_STATEMENTS, queries.statements
