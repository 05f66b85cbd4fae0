"""Every curriculum route by every role: who may see and change what."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from courses.models import Course, CourseState, Lesson
from lms.models import Role

ROLES = (
    "anonymous",
    "trainee",
    "instructor",  # teaches the course under test
    "other_instructor",  # teaches another course
    "certifier",
    "employer",
    "admin",
)
OK, LOGIN, FORBIDDEN, MISSING = "ok", "login", 403, 404

PUBLIC = dict.fromkeys(ROLES, OK)
INSTRUCTORS = {
    **dict.fromkeys(ROLES, FORBIDDEN),
    "anonymous": LOGIN,
    "instructor": OK,
    "other_instructor": OK,
    "admin": OK,
}
STAFF = {**dict.fromkeys(ROLES, FORBIDDEN), "anonymous": LOGIN, "instructor": OK, "admin": OK}
ADMINS = {**dict.fromkeys(ROLES, FORBIDDEN), "anonymous": LOGIN, "admin": OK}
# A draft is not admitted to exist for anyone outside its staff.
DRAFT_PAGE = {**dict.fromkeys(ROLES, MISSING), "instructor": OK, "admin": OK}
DRAFT_STAFF = {**DRAFT_PAGE, "anonymous": LOGIN}
PUBLISHED_PROGRAMME_ONLY_ADMIN_DRAFT = {**dict.fromkeys(ROLES, MISSING), "admin": OK}


@dataclass
class Route:
    method: str
    url: str
    expected: dict
    data: dict | None = None
    draft: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.url}{' (draft)' if self.draft else ''}"


ROUTES = [
    Route("GET", "/courses", PUBLIC),
    Route("GET", "/courses/{course}", PUBLIC),
    Route("GET", "/programmes/{programme}", PUBLIC),
    Route("GET", "/programmes/{draft_programme}", PUBLISHED_PROGRAMME_ONLY_ADMIN_DRAFT),
    Route("GET", "/teaching", INSTRUCTORS),
    Route("GET", "/teaching/new", INSTRUCTORS),
    Route("GET", "/teaching/programmes/new", ADMINS),
    Route("GET", "/programmes/{programme}/edit", ADMINS),
    Route("POST", "/programmes/{programme}/state", ADMINS, {"state": "archived"}),
    Route("GET", "/courses/{course}/manage", STAFF),
    Route("GET", "/courses/{course}/edit", STAFF),
    Route("POST", "/courses/{course}/state", STAFF, {"state": "archived"}),
    Route("GET", "/courses/{course}/modules/new", STAFF),
    Route("GET", "/courses/{course}/modules/{module}/edit", STAFF),
    Route("POST", "/courses/{course}/modules/{module}/move", STAFF, {"direction": "down"}),
    Route("POST", "/courses/{course}/modules/{empty_module}/delete", STAFF, {}),
    Route("GET", "/courses/{course}/modules/{module}/lessons/new", STAFF),
    Route("GET", "/courses/{course}/lessons/{lesson}/edit", STAFF),
    Route("POST", "/courses/{course}/lessons/{lesson}/move", STAFF, {"direction": "down"}),
    Route("POST", "/courses/{course}/lessons/{lesson}/delete", STAFF, {}),
    Route("GET", "/courses/{course}/outcomes/new", STAFF),
    Route("GET", "/courses/{course}/outcomes/{outcome}/edit", STAFF),
    Route("POST", "/courses/{course}/outcomes/{outcome}/move", STAFF, {"direction": "down"}),
    Route("POST", "/courses/{course}/outcomes/{outcome}/delete", STAFF, {}),
    # The same course as a draft: outsiders cannot tell it exists.
    Route("GET", "/courses/{course}", DRAFT_PAGE, draft=True),
    Route("GET", "/courses/{course}/manage", DRAFT_STAFF, draft=True),
    Route("GET", "/courses/{course}/edit", DRAFT_STAFF, draft=True),
    Route("GET", "/courses/{course}/lessons/{lesson}/edit", DRAFT_STAFF, draft=True),
    Route("POST", "/courses/{course}/state", DRAFT_STAFF, {"state": "draft"}, draft=True),
]


@pytest.fixture
def world(make_user, make_course, make_module, make_lesson, make_outcome, make_programme):
    """A course with contents, another course, a programme, and one user per role."""
    users = {
        "trainee": make_user(roles=[Role.TRAINEE]),
        "instructor": make_user(roles=[Role.INSTRUCTOR]),
        "other_instructor": make_user(roles=[Role.INSTRUCTOR]),
        "certifier": make_user(roles=[Role.CERTIFIER]),
        "employer": make_user(roles=[Role.EMPLOYER]),
        "admin": make_user(roles=[Role.ADMIN]),
    }
    course = make_course(code="PERM-1", instructors=[users["instructor"]])
    make_course(code="PERM-2", instructors=[users["other_instructor"]])
    module = make_module(course)
    lesson = make_lesson(module)
    make_lesson(module)
    empty_module = make_module(course)
    outcome = make_outcome(course)
    make_outcome(course)
    programme = make_programme(code="PROG-1", courses=[course])
    draft_programme = make_programme(code="PROG-D", state=CourseState.DRAFT, courses=[course])
    ids = {
        "course": course.code,
        "module": module.id,
        "empty_module": empty_module.id,
        "lesson": lesson.id,
        "outcome": outcome.id,
        "programme": programme.code,
        "draft_programme": draft_programme.code,
    }
    return course, users, ids


def _cases():
    for route in ROUTES:
        for role in ROLES:
            yield pytest.param(route, role, id=f"{route}-{role}")


@pytest.mark.parametrize(("route", "role"), list(_cases()))
def test_permission_matrix(client, db, login_as, world, route, role):
    course, users, ids = world
    if route.draft:
        course.state = CourseState.DRAFT
        db.session.flush()
    if role != "anonymous":
        login_as(users[role])
    url = route.url.format(**ids)
    get = route.method == "GET"
    response = client.get(url) if get else client.post_form(url, route.data)

    expected = route.expected[role]
    if expected == OK:
        wanted = 200 if route.method == "GET" else 302
        assert response.status_code == wanted, response.get_data(as_text=True)[:500]
        if route.method == "POST":
            assert "/login" not in response.location
    elif expected == LOGIN:
        assert response.status_code == 302
        assert response.location.startswith("/login")
    else:
        assert response.status_code == expected


def test_forbidden_writes_change_nothing(client, db, login_as, world):
    course, users, ids = world
    login_as(users["other_instructor"])
    lessons_before = db.session.scalar(sa.select(sa.func.count(Lesson.id)))
    client.post_form(f"/courses/{ids['course']}/lessons/{ids['lesson']}/delete")
    client.post_form(f"/courses/{ids['course']}/state", {"state": "archived"})
    client.post_form(f"/courses/{ids['course']}/edit", {"code": "STOLEN", "title_en": "Mine"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == lessons_before
    course = db.session.scalar(sa.select(Course).where(Course.code == ids["course"]))
    assert course.state == CourseState.PUBLISHED
    assert course.title_en != "Mine"


def test_items_of_another_course_are_not_found(client, login_as, world, make_course, make_module):
    _course, users, ids = world
    other = make_course(code="ELSEWHERE", instructors=[users["instructor"]])
    foreign_module = make_module(other)
    login_as(users["instructor"])
    # The instructor teaches both courses, but the module belongs to the other one.
    url = f"/courses/{ids['course']}/modules/{foreign_module.id}/edit"
    assert client.get(url).status_code == 404
