"""Grades, the gradebook and competency profiles over the API."""

from __future__ import annotations

from decimal import Decimal

import pytest

from courses.assessments.grades import set_grade
from courses.competencies import operations as competency_ops
from lms.models import Role
from tests.api_helpers import assert_matches_openapi
from tests.courses.api.test_enrolments import CALLERS


@pytest.fixture
def call(client, world, token_for):
    def send(caller: str, method: str, url: str, json=None, headers=None):
        who, scopes = CALLERS[caller]
        sent = dict(headers or {})
        if who is not None:
            sent.update(token_for(getattr(world, who), *scopes))
        response = client.open(url, method=method, json=json, headers=sent)
        assert_matches_openapi(response)
        return response

    return send


@pytest.fixture
def graded(db, world):
    """The trainee's quiz grade released, the classmate's assignment grade still a draft."""
    set_grade(world.quiz.assessment, world.trainee, Decimal(80), actor=None, release=True)
    set_grade(world.assignment.assessment, world.trainee, Decimal(55), actor=None, release=False)
    set_grade(world.quiz.assessment, world.classmate, Decimal(30), actor=None, release=True)
    db.session.commit()
    return world


MY_GRADES = {
    "anonymous": 401,
    "trainee-read": 200,
    "trainee-learn": 200,
    "outsider-learn": 403,
    "instructor-teach": 403,
    "certifier-certify": 403,
}


@pytest.mark.parametrize(("caller", "status"), MY_GRADES.items())
def test_my_grades_matrix(call, graded, caller, status):
    response = call(caller, "GET", "/api/v1/courses/API-101/grades")
    assert response.status_code == status
    if status != 200:
        assert "grades" not in response.get_json()


def test_my_grades_show_only_released_own_grades(call, graded):
    body = call("trainee-read", "GET", "/api/v1/courses/api-101/grades").get_json()
    cells = {g["assessment_id"]: g for g in body["grades"]}
    assert set(cells) == {graded.quiz.assessment_id}  # the draft stays hidden
    assert Decimal(cells[graded.quiz.assessment_id]["points"]) == 80
    assert body["result"]["grade"] is not None
    classmate = call("trainee-read", "GET", "/api/v1/courses/api-101/grades").get_json()
    assert "30" not in str(classmate["grades"])


GRADEBOOK = {
    "anonymous": 401,
    "trainee-read": 403,
    "trainee-learn": 403,
    "instructor-teach": 200,
    "instructor-read": 200,
    "other-instructor-teach": 403,
    "certifier-certify": 403,
    "admin-all": 200,
}


@pytest.mark.parametrize(("caller", "status"), GRADEBOOK.items())
def test_gradebook_matrix(call, graded, caller, status):
    response = call(caller, "GET", "/api/v1/courses/API-101/gradebook")
    assert response.status_code == status
    if status != 200:
        assert "items" not in response.get_json()


def test_gradebook_lists_trainees_by_assessments(call, graded):
    body = call("instructor-teach", "GET", "/api/v1/courses/API-101/gradebook").get_json()
    assert [a["id"] for a in body["assessments"]] == [
        graded.quiz.assessment_id,
        graded.assignment.assessment_id,
    ]
    rows = {row["trainee"]["name"]: row for row in body["items"]}
    assert list(rows) == ["Georgi Petrov", "Мария Иванова"]
    maria = {g["assessment_id"]: g for g in rows["Мария Иванова"]["grades"]}
    assert maria[graded.assignment.assessment_id]["status"] == "draft"  # staff see drafts
    assert body["total"] == 2
    page = call("instructor-teach", "GET", "/api/v1/courses/API-101/gradebook?per_page=1&page=2")
    assert [r["trainee"]["name"] for r in page.get_json()["items"]] == ["Мария Иванова"]


def test_gradebook_cohort_filter(call, graded, make_cohort):
    elsewhere = call(
        "instructor-teach",
        "GET",
        f"/api/v1/courses/API-101/gradebook?cohort_id={graded.other_cohort.id}",
    )
    assert elsewhere.status_code == 422
    assert elsewhere.get_json()["errors"][0]["field"] == "cohort_id"
    empty = make_cohort(graded.course)
    body = call(
        "instructor-teach", "GET", f"/api/v1/courses/API-101/gradebook?cohort_id={empty.id}"
    ).get_json()
    assert body["items"] == []
    assert body["total"] == 0


def test_gradebook_query_count_is_constant(
    app, client, graded, token_for, make_user, make_enrolment
):
    from tests.conftest import count_queries

    headers = token_for(graded.instructor, "teach")
    url = "/api/v1/courses/API-101/gradebook"

    def counted() -> int:
        client.get(url, headers=headers)  # same warm state before each count
        with count_queries(app) as queries:
            assert client.get(url, headers=headers).status_code == 200
        return queries.count

    few = counted()
    for n in range(5):
        make_enrolment(graded.cohort, make_user(name=f"Extra {n}"))
    assert counted() == few


@pytest.fixture
def mapped(db, world, make_user):
    """Map the quiz to a competency, so the trainee's profile shows the framework."""
    admin = make_user(roles=[Role.ADMIN])
    framework = competency_ops.create_framework(
        code="S4C-API", name_en="API framework", actor=admin
    )
    competency = competency_ops.create_competency(
        framework, code="PM.1", title_en="Plan a project", parent=None, actor=admin
    )
    level = next(lv for lv in framework.levels if lv.rank == 3)
    competency_ops.map_assessment(world.quiz.assessment, competency, level, actor=admin)
    db.session.commit()
    return competency


PROFILE = {
    "anonymous": 401,
    "trainee-read": 200,
    "trainee-learn": 403,
    "instructor-read": 200,
    "other-instructor-teach": 403,
    "certifier-certify": 403,
    "admin-all": 200,
}


@pytest.mark.parametrize(("caller", "status"), PROFILE.items())
def test_profile_matrix(call, world, mapped, caller, status):
    response = call(caller, "GET", f"/api/v1/users/{world.trainee.id}/competencies")
    assert response.status_code == status
    if status == 200:
        codes = [c["code"] for f in response.get_json()["frameworks"] for c in f["competencies"]]
        assert codes == ["PM.1"]


def test_profile_relation_decides(call, world, mapped, token_for, client):
    url = f"/api/v1/users/{world.trainee.id}/competencies"
    for who, status in [
        (world.other_instructor, 403),
        (world.classmate, 403),
        (world.instructor, 200),
        (world.certifier, 200),
    ]:
        response = client.get(url, headers=token_for(who, "read"))
        assert_matches_openapi(response)
        assert response.status_code == status, who.name
    own = call("trainee-read", "GET", "/api/v1/me/competencies").get_json()
    assert own["trainee"]["id"] == world.trainee.id
    assert call("trainee-read", "GET", "/api/v1/users/999999/competencies").status_code == 404


def test_gradebook_per_page_bounds_the_work(call, graded, make_user, make_enrolment, monkeypatch):
    import courses.gradebook.queries as gradebook_queries

    for n in range(5):
        make_enrolment(graded.cohort, make_user(name=f"Extra {n}"))
    computed = []
    real = gradebook_queries.course_grade

    def counting(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gradebook_queries, "course_grade", counting)
    url = "/api/v1/courses/API-101/gradebook?per_page=2"
    body = call("instructor-teach", "GET", url + "&page=2").get_json()
    assert len(computed) == 2
    assert [row["trainee"]["name"] for row in body["items"]] == ["Extra 2", "Extra 3"]
    assert body["total"] == 7
    assert body["page"] == 2
    assert body["per_page"] == 2
    assert "page=3" in body["links"]["next"]
    assert "page=1" in body["links"]["prev"]
    last = call("instructor-teach", "GET", url + "&page=4").get_json()
    assert [row["trainee"]["name"] for row in last["items"]] == ["Мария Иванова"]
    assert last["links"]["next"] is None
    computed.clear()
    beyond = call("instructor-teach", "GET", url + "&page=9").get_json()
    assert beyond["items"] == []
    assert beyond["page"] == 9
    assert beyond["total"] == 7
    assert computed == []
