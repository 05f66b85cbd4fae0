"""Every competency route by every kind of visitor."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from courses.competencies import operations as ops

ROLES = (
    "anonymous",
    "trainee",  # enrolled in the course under test
    "other_trainee",  # enrolled in another course
    "instructor",  # teaches the trainee's course
    "other_instructor",  # teaches another course
    "certifier",
    "employer",
    "admin",
)
OK, LOGIN, FORBIDDEN = "ok", "login", 403

ADMINS = {**dict.fromkeys(ROLES, FORBIDDEN), "anonymous": LOGIN, "admin": OK}
STAFF = {**ADMINS, "instructor": OK}
RECORD = {**STAFF, "trainee": OK, "certifier": OK}
# Only people who learn have a profile and a transcript of their own.
LEARNERS = {
    **dict.fromkeys(ROLES, FORBIDDEN),
    "anonymous": LOGIN,
    "trainee": OK,
    "other_trainee": OK,
}


@dataclass
class Route:
    method: str
    url: str
    expected: dict
    data: dict | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


ROUTES = [
    Route("GET", "/competencies/frameworks", ADMINS),
    Route("GET", "/competencies/frameworks/new", ADMINS),
    Route("POST", "/competencies/frameworks/new", ADMINS, {"code": "NEW", "name_en": "New"}),
    Route("GET", "/competencies/frameworks/{framework}", ADMINS),
    Route("GET", "/competencies/frameworks/{framework}/edit", ADMINS),
    Route(
        "POST",
        "/competencies/frameworks/{framework}/edit",
        ADMINS,
        {"code": "S4C-T2", "name_en": "Renamed"},
    ),
    Route("GET", "/competencies/frameworks/{framework}/scale", ADMINS),
    Route("GET", "/competencies/frameworks/{framework}/competencies/new", ADMINS),
    Route("GET", "/competencies/{competency}/edit", ADMINS),
    Route("GET", "/competencies/frameworks/{framework}/import", ADMINS),
    Route("GET", "/courses/{course}/competencies", STAFF),
    Route("GET", "/courses/{course}/evidence/new", STAFF),
    Route("POST", "/courses/{course}/competencies/assessment-mappings/{amap}/delete", STAFF, {}),
    Route("POST", "/courses/{course}/competencies/outcome-mappings/{omap}/delete", STAFF, {}),
    Route("POST", "/competencies/evidence/{evidence}/withdraw", STAFF, {"note": "mistake"}),
    Route("GET", "/competencies/profile", LEARNERS),
    Route("GET", "/competencies/transcript.pdf", LEARNERS),
    Route("GET", "/competencies/trainees/{trainee}", RECORD),
    Route("GET", "/competencies/trainees/{trainee}/transcript.pdf", RECORD),
]


@pytest.fixture
def world(db, classroom, make_assessment, make_outcome):
    assessment = make_assessment(classroom.course)
    outcome = make_outcome(classroom.course)
    amap = ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(3), actor=classroom.admin
    )
    omap = ops.map_outcome(
        outcome, classroom.competencies[2], classroom.level(2), actor=classroom.admin
    )
    evidence = ops.record_evidence(
        classroom.trainee,
        classroom.competencies[1],
        classroom.level(2),
        actor=classroom.instructor,
        note="Ran the kick-off meeting",
        course=classroom.course,
    )
    db.session.commit()
    ids = {
        "framework": classroom.framework.id,
        "competency": classroom.competencies[1].id,
        "course": classroom.course.code,
        "amap": amap.id,
        "omap": omap.id,
        "evidence": evidence.id,
        "trainee": classroom.trainee.id,
    }
    return classroom, ids


def _cases():
    for route in ROUTES:
        for role in ROLES:
            yield pytest.param(route, role, id=f"{route}-{role}")


@pytest.mark.parametrize(("route", "role"), list(_cases()))
def test_permission_matrix(client, login_as, world, route, role):
    classroom, ids = world
    if role != "anonymous":
        login_as(getattr(classroom, role))
    url = route.url.format(**ids)
    response = client.get(url) if route.method == "GET" else client.post_form(url, route.data)
    expected = route.expected[role]
    if expected == OK:
        wanted = 200 if route.method == "GET" else 302
        assert response.status_code == wanted, response.get_data(as_text=True)[:800]
        if route.method == "POST":
            assert "/login" not in response.location
    elif expected == LOGIN:
        assert response.status_code == 302
        assert response.location.startswith("/login")
    else:
        assert response.status_code == expected


def test_unknown_trainee_and_framework_are_not_found(client, login_as, world):
    classroom, _ids = world
    login_as(classroom.admin)
    assert client.get("/competencies/trainees/999999").status_code == 404
    assert client.get("/competencies/frameworks/999999").status_code == 404
    assert client.get("/courses/NO-SUCH/competencies").status_code == 404


def test_a_mapping_of_another_course_is_not_found(client, db, login_as, world, make_assessment):
    classroom, _ids = world
    other = make_assessment(classroom.other_course)
    mapping = ops.map_assessment(
        other, classroom.competencies[1], classroom.level(2), actor=classroom.admin
    )
    db.session.commit()
    login_as(classroom.instructor)
    url = f"/courses/{classroom.course.code}/competencies/assessment-mappings/{mapping.id}/delete"
    assert client.post_form(url, {}).status_code == 404
