"""Who may use each enrolment route: routes x (anonymous and every kind of user)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from lms.models import Role
from tests.conftest import sign_in

ROLES = (
    "anonymous",
    "trainee_enrolled",
    "trainee_not_enrolled",
    "instructor_of_course",
    "instructor_of_other",
    "certifier",
    "employer",
    "admin",
)
STAFF = {"instructor_of_course", "admin"}


@dataclass
class World:
    course: object
    cohort: object
    lesson: object
    enrolled: object
    other_enrolment: object
    users: dict
    csv_token: str


@pytest.fixture
def world(
    app, db, client, make_user, make_course, make_module, make_lesson, make_cohort, make_enrolment
):
    instructor = make_user(roles=[Role.INSTRUCTOR], name="Teacher Here")
    other_instructor = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="PERM1", instructors=[instructor])
    make_course(code="PERM2", instructors=[other_instructor])
    lesson = make_lesson(make_module(course), body_en="Lesson **body**")
    cohort = make_cohort(course, capacity=10)
    enrolled = make_user(name="Enrolled Trainee")
    make_enrolment(cohort, enrolled)
    other_enrolment = make_enrolment(cohort, make_user(name="Someone Else"))
    admin = make_user(roles=[Role.ADMIN])
    users = {
        "anonymous": None,
        "trainee_enrolled": enrolled,
        "trainee_not_enrolled": make_user(),
        "instructor_of_course": instructor,
        "instructor_of_other": other_instructor,
        "certifier": make_user(roles=[Role.CERTIFIER]),
        "employer": make_user(roles=[Role.EMPLOYER]),
        "admin": admin,
    }
    db.session.commit()
    # An upload waiting for confirmation, made by the admin.
    sign_in(client, admin)
    response = client.post_form(
        f"/courses/PERM1/cohorts/{cohort.id}/import",
        {"file": (io.BytesIO(b"email\nnew.person@example.org\n"), "people.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    token = response.headers["Location"].rsplit("/", 1)[1]
    with client.session_transaction() as session:
        session.clear()
    return World(course, cohort, lesson, enrolled, other_enrolment, users, token)


def _routes(w: World):
    c, k, ls = w.course.code, w.cohort.id, w.lesson.id
    cohort_form = {
        "name": "Autumn",
        "starts_on": "2030-09-01",
        "ends_on": "2030-12-01",
        "capacity": "20",
        "self_enrolment": "y",
    }
    return {
        "cohorts": ("GET", f"/courses/{c}/cohorts", None),
        "cohort_new_form": ("GET", f"/courses/{c}/cohorts/new", None),
        "cohort_new": ("POST", f"/courses/{c}/cohorts/new", cohort_form),
        "cohort_edit_form": ("GET", f"/courses/{c}/cohorts/{k}/edit", None),
        "cohort_edit": ("POST", f"/courses/{c}/cohorts/{k}/edit", cohort_form),
        "roster": ("GET", f"/courses/{c}/cohorts/{k}", None),
        "staff_enrol": (
            "POST",
            f"/courses/{c}/cohorts/{k}/enrolments",
            {"email": w.users["trainee_not_enrolled"].email},
        ),
        "staff_withdraw": (
            "POST",
            f"/courses/{c}/cohorts/{k}/enrolments/{w.other_enrolment.id}/withdraw",
            {},
        ),
        "cohort_progress": ("GET", f"/courses/{c}/cohorts/{k}/progress", None),
        "csv_upload_form": ("GET", f"/courses/{c}/cohorts/{k}/import", None),
        "csv_upload": (
            "POST",
            f"/courses/{c}/cohorts/{k}/import",
            {"file": (io.BytesIO(b"email\nsomebody@example.org\n"), "a.csv")},
        ),
        "csv_preview": ("GET", f"/courses/{c}/cohorts/{k}/import/{w.csv_token}", None),
        "csv_confirm": ("POST", f"/courses/{c}/cohorts/{k}/import/{w.csv_token}", {}),
        "self_enrol": ("POST", f"/courses/{c}/cohorts/{k}/enrol", {}),
        "self_withdraw": ("POST", f"/courses/{c}/cohorts/{k}/withdraw", {}),
        "lesson": ("GET", f"/courses/{c}/lessons/{ls}", None),
        "lesson_done": ("POST", f"/courses/{c}/lessons/{ls}/done", {}),
        "lesson_not_done": ("POST", f"/courses/{c}/lessons/{ls}/not-done", {}),
        "dashboard": ("GET", "/dashboard", None),
    }


def _expected(route: str, role: str) -> int | str:
    """The status each role gets; 'login' is a redirect to the log-in page."""
    if role == "anonymous":
        return "login"
    if route in {
        "cohorts",
        "cohort_new_form",
        "cohort_edit_form",
        "roster",
        "cohort_progress",
        "csv_upload_form",
    }:
        return 200 if role in STAFF else 403
    if route in {"cohort_new", "cohort_edit", "staff_enrol", "staff_withdraw", "csv_upload"}:
        return 302 if role in STAFF else 403
    if route in {"csv_preview", "csv_confirm"}:
        # Course staff, but an upload is only ever seen by the person who made it.
        return {"admin": 200 if route == "csv_preview" else 302, "instructor_of_course": 404}.get(
            role, 403
        )
    if route == "self_enrol":
        return 302 if role in {"trainee_enrolled", "trainee_not_enrolled", "admin"} else 403
    if route == "self_withdraw":
        return 302 if role == "trainee_enrolled" else 404
    if route == "lesson":
        return 200 if role in STAFF | {"trainee_enrolled"} else 403
    if route in {"lesson_done", "lesson_not_done"}:
        return 302 if role in STAFF | {"trainee_enrolled"} else 403
    if route == "dashboard":  # people who do not learn are sent to their own home
        return 200 if role.startswith("trainee") else 302
    raise AssertionError(route)


ROUTES = (
    "cohorts", "cohort_new_form", "cohort_new", "cohort_edit_form", "cohort_edit", "roster",
    "staff_enrol", "staff_withdraw", "cohort_progress", "csv_upload_form", "csv_upload",
    "csv_preview", "csv_confirm", "self_enrol", "self_withdraw", "lesson", "lesson_done",
    "lesson_not_done", "dashboard",
)  # fmt: skip


def test_every_route_is_in_the_matrix(app, world):
    rules = {
        rule.endpoint.split(".", 1)[1]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("enrolment.")
    }
    endpoints = {"cohorts", "cohort_new", "cohort_edit", "roster", "staff_enrol", "staff_withdraw",
                 "cohort_progress", "csv_upload", "csv_preview", "self_enrol", "self_withdraw",
                 "lesson", "lesson_done", "lesson_not_done", "dashboard"}  # fmt: skip
    assert rules == endpoints
    assert {r.removesuffix("_form").replace("csv_confirm", "csv_preview") for r in ROUTES} == rules


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES)
def test_permission_matrix(client, login_as, world, route, role):
    user = world.users[role]
    if user is not None:
        login_as(user)
    method, url, data = _routes(world)[route]
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, data, content_type="multipart/form-data")
    expected = _expected(route, role)
    if expected == "login":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    else:
        assert response.status_code == expected, response.text[:2000]
        if expected == 302:
            assert "/login" not in response.headers["Location"]


@pytest.mark.parametrize(
    "role", ["trainee_not_enrolled", "instructor_of_other", "certifier", "employer"]
)
def test_outsiders_see_nothing_of_the_roster(client, login_as, world, role):
    login_as(world.users[role])
    for path in ("", "/progress"):
        response = client.get(f"/courses/PERM1/cohorts/{world.cohort.id}{path}")
        assert response.status_code == 403
        assert "Enrolled Trainee" not in response.text
        assert "Someone Else" not in response.text
