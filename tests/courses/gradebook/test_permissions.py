"""Who may use each gradebook route: routes x (anonymous and every kind of user).

Course staff (the course's instructors and admins) use every staff page; a
trainee sees only their own released grades, never another trainee's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from courses.assessments.grades import set_grade
from courses.gradebook import operations
from lms.models import Role

ROLES = (
    "anonymous",
    "trainee_enrolled",
    "trainee_other",
    "instructor_of_course",
    "instructor_of_other",
    "certifier",
    "employer",
    "admin",
)
STAFF = {"instructor_of_course", "admin"}
SECRET_NAME = "Secretina Gradeova"


@dataclass
class World:
    course: object
    exam: object
    quiz: object
    used: object
    unused: object
    trainee: object
    users: dict


@pytest.fixture
def world(db, make_user, make_course, make_cohort, make_enrolment, make_category, make_assessment):
    instructor = make_user(roles=[Role.INSTRUCTOR])
    other_instructor = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="GPERM", instructors=[instructor])
    make_course(code="GOTHER", instructors=[other_instructor])
    cohort = make_cohort(course)
    trainee = make_user(name=SECRET_NAME)
    other = make_user(name="Other Trainee")
    make_enrolment(cohort, trainee)
    make_enrolment(cohort, other)
    used = make_category(course, name_en="Used")
    unused = make_category(course, name_en="Unused")
    exam = make_assessment(course, category=used, max_points=20)
    quiz = make_assessment(course, kind="quiz", category=used)
    set_grade(exam, trainee, Decimal("17.25"), actor=instructor, release=True)
    set_grade(exam, other, Decimal(3), actor=instructor)
    operations.set_override(course, trainee, "91.75", "Board", actor=instructor)
    db.session.commit()
    users = {
        "anonymous": None,
        "trainee_enrolled": trainee,
        "trainee_other": other,
        "instructor_of_course": instructor,
        "instructor_of_other": other_instructor,
        "certifier": make_user(roles=[Role.CERTIFIER]),
        "employer": make_user(roles=[Role.EMPLOYER]),
        "admin": make_user(roles=[Role.ADMIN]),
    }
    db.session.commit()
    return World(course, exam, quiz, used, unused, trainee, users)


def _routes(w: World):
    base = f"/courses/{w.course.code}/gradebook"
    t, e = w.trainee.id, w.exam.id
    manual = {"title_en": "Defence", "max_points": "30", "category": "0", "published": "y"}
    return {
        "index": ("GET", base, None),
        "export": ("GET", f"{base}.csv", None),
        "recompute": ("POST", f"{base}/recompute", {}),
        "setup": ("GET", f"{base}/setup", None),
        "pass_mark": ("POST", f"{base}/pass-mark", {"pass_mark": "55"}),
        "category_new_form": ("GET", f"{base}/categories/new", None),
        "category_new": (
            "POST",
            f"{base}/categories/new",
            {"name_en": "New", "weight": "10", "drop_lowest": "0"},
        ),
        "category_edit_form": ("GET", f"{base}/categories/{w.used.id}/edit", None),
        "category_edit": (
            "POST",
            f"{base}/categories/{w.used.id}/edit",
            {"name_en": "Renamed", "weight": "5", "drop_lowest": "0"},
        ),
        "category_delete": ("POST", f"{base}/categories/{w.unused.id}/delete", {}),
        "assessment_new_form": ("GET", f"{base}/assessments/new", None),
        "assessment_new": ("POST", f"{base}/assessments/new", manual),
        "assessment_edit_form": ("GET", f"{base}/assessments/{e}/edit", None),
        "assessment_edit": ("POST", f"{base}/assessments/{e}/edit", manual),
        "assessment_category": (
            "POST",
            f"{base}/assessments/{w.quiz.id}/category",
            {"category": str(w.unused.id)},
        ),
        "grade_cell_form": ("GET", f"{base}/assessments/{e}/trainees/{t}", None),
        "grade_cell": (
            "POST",
            f"{base}/assessments/{e}/trainees/{t}",
            {"points": "12", "version": "1", "reason": "Recount"},
        ),
        "release": ("POST", f"{base}/assessments/{e}/release", {}),
        "override_form": ("GET", f"{base}/trainees/{t}/override", None),
        "override": ("POST", f"{base}/trainees/{t}/override", {"value": "80", "reason": "r"}),
        "override_remove": (
            "POST",
            f"{base}/trainees/{t}/override/remove",
            {"remove_reason": "Not needed"},
        ),
        "history": ("GET", f"{base}/trainees/{t}/history", None),
        "my_grades": ("GET", f"/courses/{w.course.code}/grades", None),
    }


ROUTES = [
    "index",
    "export",
    "recompute",
    "setup",
    "pass_mark",
    "category_new_form",
    "category_new",
    "category_edit_form",
    "category_edit",
    "category_delete",
    "assessment_new_form",
    "assessment_new",
    "assessment_edit_form",
    "assessment_edit",
    "assessment_category",
    "grade_cell_form",
    "grade_cell",
    "release",
    "override_form",
    "override",
    "override_remove",
    "history",
    "my_grades",
]


def _expected(route: str, role: str) -> int | str:
    if role == "anonymous":
        return "login"
    if route == "my_grades":
        if role in STAFF:
            return 302  # to the staff gradebook
        return 200 if role in {"trainee_enrolled", "trainee_other"} else 403
    method = (
        "GET"
        if route in {"index", "export", "setup", "history"} or route.endswith("_form")
        else "POST"
    )
    if role not in STAFF:
        return 403
    return 200 if method == "GET" else 302


def test_every_route_is_in_the_matrix(app):
    rules = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("gradebook.")}
    covered = {"gradebook." + r.removesuffix("_form") for r in ROUTES}
    assert rules == covered


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES)
def test_permission_matrix(client, db, login_as, world, route, role):
    method, url, data = _routes(world)[route]
    user = world.users[role]
    if user is not None:
        login_as(user)
    response = client.get(url) if method == "GET" else client.post_form(url, data)
    expected = _expected(route, role)
    body = response.get_data(as_text=True)
    if expected == "login":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
        return
    assert response.status_code == expected, body[:2000]
    if role not in STAFF | {"trainee_enrolled"}:
        # Nobody outside the course staff sees this trainee's name or grades.
        assert SECRET_NAME not in body
        assert "17.25" not in body
        assert "91.75" not in body
    if route == "my_grades" and role == "trainee_enrolled":
        assert "17.25/20" in body
        assert "91.75" in body
        assert "Other Trainee" not in body


def test_a_trainee_not_enrolled_has_no_grades_page(client, db, login_as, world, make_user):
    login_as(make_user())
    assert client.get("/courses/GPERM/grades").status_code == 403
    assert client.get("/courses/NOPE/grades").status_code == 404
