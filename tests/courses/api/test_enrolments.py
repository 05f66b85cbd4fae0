"""Enrolments over the API: permissions, documents, bad inputs and idempotent retries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from courses.models import Enrolment, EnrolmentStatus
from tests.api_helpers import assert_matches_openapi

# (who, scopes): who is an attribute of the world, None for anonymous.
CALLERS = {
    "anonymous": (None, ()),
    "trainee-read": ("trainee", ("read",)),
    "trainee-learn": ("trainee", ("learn",)),
    "outsider-learn": ("outsider", ("learn",)),
    "instructor-teach": ("instructor", ("teach",)),
    "instructor-read": ("instructor", ("read",)),
    "other-instructor-teach": ("other_instructor", ("teach",)),
    "certifier-certify": ("certifier", ("certify",)),
    "admin-all": ("admin", ("read", "learn", "teach", "certify", "admin")),
}


@pytest.fixture
def call(client, world, token_for):
    """Send a request as one of CALLERS; check the response against the OpenAPI document."""

    def send(caller: str, method: str, url: str, json=None, headers=None):
        who, scopes = CALLERS[caller]
        sent = dict(headers or {})
        if who is not None:
            sent.update(token_for(getattr(world, who), *scopes))
        response = client.open(url, method=method, json=json, headers=sent)
        assert_matches_openapi(response)
        return response

    return send


def enrolment_count(db, **where) -> int:
    query = sa.select(sa.func.count(Enrolment.id))
    for name, value in where.items():
        query = query.where(getattr(Enrolment, name) == value)
    return db.session.scalar(query)


MY_LIST = {
    "anonymous": 401,
    "trainee-read": 200,
    "trainee-learn": 200,
    "instructor-teach": 403,
    "certifier-certify": 403,
    "admin-all": 200,
}


@pytest.mark.parametrize(("caller", "status"), MY_LIST.items())
def test_own_enrolments_matrix(call, world, caller, status):
    response = call(caller, "GET", "/api/v1/me/enrolments")
    assert response.status_code == status
    if caller.startswith("trainee"):
        body = response.get_json()
        assert [item["id"] for item in body["items"]] == [world.enrolment.id]
        assert body["items"][0]["links"]["self"] == f"/api/v1/me/enrolments/{world.enrolment.id}"
        assert body["total"] == 1


def test_own_enrolments_filter_and_paginate(call, world, make_cohort, make_enrolment):
    second = make_enrolment(make_cohort(world.other_course), world.trainee, status="withdrawn")
    body = call("trainee-read", "GET", "/api/v1/me/enrolments?per_page=1").get_json()
    assert body["total"] == 2
    assert len(body["items"]) == 1
    assert body["links"]["next"]
    assert body["links"]["prev"] is None
    page2 = call("trainee-read", "GET", "/api/v1/me/enrolments?per_page=1&page=2").get_json()
    assert [i["id"] for i in body["items"] + page2["items"]] == [world.enrolment.id, second.id]
    only = call("trainee-read", "GET", "/api/v1/me/enrolments?status=withdrawn").get_json()
    assert [i["id"] for i in only["items"]] == [second.id]
    by_course = call("trainee-read", "GET", "/api/v1/me/enrolments?course=api-101").get_json()
    assert [i["id"] for i in by_course["items"]] == [world.enrolment.id]


def test_someone_elses_enrolment_is_not_found(call, world):
    url = f"/api/v1/me/enrolments/{world.classmate_enrolment.id}"
    response = call("trainee-read", "GET", url)
    assert response.status_code == 404
    assert "Georgi" not in response.get_data(as_text=True)
    response = call("trainee-learn", "POST", url + "/withdraw")
    assert response.status_code == 404
    assert world.classmate_enrolment.status == EnrolmentStatus.ACTIVE


SELF_ENROL = {
    "anonymous": 401,
    "trainee-read": 403,
    "outsider-learn": 201,
    "instructor-teach": 403,
    "certifier-certify": 403,
}


@pytest.mark.parametrize(("caller", "status"), SELF_ENROL.items())
def test_self_enrol_matrix(call, db, world, caller, status):
    response = call(caller, "POST", "/api/v1/me/enrolments", json={"cohort_id": world.cohort.id})
    assert response.status_code == status
    created = enrolment_count(db, cohort_id=world.cohort.id, user_id=world.outsider.id)
    assert created == (1 if status == 201 else 0)
    if status == 201:
        body = response.get_json()
        assert body["status"] == "active"
        assert body["user"]["id"] == world.outsider.id
        assert response.headers["Location"] == body["links"]["self"]


def test_self_enrol_twice_is_a_conflict(call, world):
    response = call(
        "trainee-learn", "POST", "/api/v1/me/enrolments", json={"cohort_id": world.cohort.id}
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "already enrolled" in response.get_json()["detail"]


def test_self_enrol_follows_the_cohort_rules(call, db, world, make_cohort):
    staff_only = make_cohort(world.course, self_enrolment=False)
    response = call(
        "outsider-learn", "POST", "/api/v1/me/enrolments", json={"cohort_id": staff_only.id}
    )
    assert response.status_code == 409
    assert enrolment_count(db, cohort_id=staff_only.id) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "cohort_id"),
        ({"cohort_id": "x"}, "cohort_id"),
        ({"cohort_id": 0}, "cohort_id"),
        ({"cohort_id": 1, "extra": True}, "extra"),
        ([1, 2], "body"),
    ],
)
def test_self_enrol_bad_inputs(call, db, world, body, field):
    before = enrolment_count(db)
    response = call("outsider-learn", "POST", "/api/v1/me/enrolments", json=body)
    assert response.status_code == 422
    fields = [e["field"] for e in response.get_json()["errors"]]
    assert any(f.startswith(field) or field == "body" for f in fields), fields
    assert enrolment_count(db) == before


def test_self_enrol_unknown_cohort(call, db, world):
    response = call("outsider-learn", "POST", "/api/v1/me/enrolments", json={"cohort_id": 999999})
    assert response.status_code == 404


def test_self_enrol_retry_returns_the_first_result(call, db, world):
    headers = {"Idempotency-Key": "enrol-outsider-1"}
    body = {"cohort_id": world.cohort.id}
    first = call("outsider-learn", "POST", "/api/v1/me/enrolments", json=body, headers=headers)
    again = call("outsider-learn", "POST", "/api/v1/me/enrolments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert enrolment_count(db, cohort_id=world.cohort.id, user_id=world.outsider.id) == 1


def test_withdraw_own(call, world):
    url = f"/api/v1/me/enrolments/{world.enrolment.id}/withdraw"
    assert call("trainee-read", "POST", url).status_code == 403
    response = call("trainee-learn", "POST", url)
    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    assert call("trainee-learn", "POST", url).status_code == 409


ROSTER = {
    "anonymous": 401,
    "trainee-learn": 403,
    "trainee-read": 403,
    "instructor-read": 403,
    "instructor-teach": 200,
    "other-instructor-teach": 403,
    "admin-all": 200,
}


@pytest.mark.parametrize(("caller", "status"), ROSTER.items())
def test_roster_matrix(call, world, caller, status):
    response = call(caller, "GET", f"/api/v1/cohorts/{world.cohort.id}/enrolments")
    assert response.status_code == status
    if status == 200:
        names = [i["user"]["name"] for i in response.get_json()["items"]]
        assert names == ["Georgi Petrov", "Мария Иванова"]
    else:
        assert "Georgi" not in response.get_data(as_text=True)


def test_roster_filter(call, world, make_enrolment):
    make_enrolment(world.cohort, world.outsider, status="waitlisted")
    url = f"/api/v1/cohorts/{world.cohort.id}/enrolments?status=waitlisted"
    body = call("instructor-teach", "GET", url).get_json()
    assert [i["user"]["id"] for i in body["items"]] == [world.outsider.id]
    bad = call("instructor-teach", "GET", url.replace("waitlisted", "nonsense"))
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "status"


STAFF_ENROL = {
    "anonymous": 401,
    "trainee-learn": 403,
    "instructor-read": 403,
    "instructor-teach": 201,
    "other-instructor-teach": 403,
    "admin-all": 201,
}


@pytest.mark.parametrize(("caller", "status"), STAFF_ENROL.items())
def test_staff_enrol_matrix(call, db, world, caller, status):
    url = f"/api/v1/cohorts/{world.cohort.id}/enrolments"
    response = call(caller, "POST", url, json={"email": "OUT@example.org"})
    assert response.status_code == status
    created = enrolment_count(db, cohort_id=world.cohort.id, user_id=world.outsider.id)
    assert created == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nobody@example.org"}, "email"),
        ({"email": "not an address"}, "email"),
        ({"email": "a@b.c" * 100}, "email"),
        ({}, "email"),
        ({"email": "out@example.org", "name": "x"}, "name"),
    ],
)
def test_staff_enrol_bad_inputs(call, db, world, body, field):
    before = enrolment_count(db)
    url = f"/api/v1/cohorts/{world.cohort.id}/enrolments"
    response = call("instructor-teach", "POST", url, json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert enrolment_count(db) == before


def test_staff_enrol_retry_returns_the_first_result(call, db, world):
    url = f"/api/v1/cohorts/{world.cohort.id}/enrolments"
    headers = {"Idempotency-Key": "staff-enrol-1"}
    first = call(
        "instructor-teach", "POST", url, json={"email": "out@example.org"}, headers=headers
    )
    again = call(
        "instructor-teach", "POST", url, json={"email": "out@example.org"}, headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert enrolment_count(db, cohort_id=world.cohort.id, user_id=world.outsider.id) == 1


def test_staff_withdraw(call, world):
    url = f"/api/v1/cohorts/{world.cohort.id}/enrolments/{world.enrolment.id}/withdraw"
    assert call("other-instructor-teach", "POST", url).status_code == 403
    assert call("trainee-learn", "POST", url).status_code == 403
    assert world.enrolment.status == EnrolmentStatus.ACTIVE
    response = call("instructor-teach", "POST", url)
    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    wrong_cohort = f"/api/v1/cohorts/{world.other_cohort.id}/enrolments/{world.enrolment.id}"
    assert call("other-instructor-teach", "GET", wrong_cohort).status_code == 404


def test_ids_no_column_can_hold_are_refused_cleanly(call, db, world):
    huge = 2**40
    assert call("trainee-read", "GET", f"/api/v1/me/enrolments/{huge}").status_code == 404
    assert call("instructor-teach", "GET", f"/api/v1/cohorts/{huge}/enrolments").status_code == 404
    response = call("outsider-learn", "POST", "/api/v1/me/enrolments", json={"cohort_id": huge})
    assert response.status_code == 422
    assert call("trainee-read", "GET", f"/api/v1/quiz-attempts/{huge}").status_code == 404
