"""Certificates over the API: holders, certifiers' decisions, idempotent issue, public verify."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from certificates import operations as ops
from certificates.models import Certificate
from certificates.operations import issuance
from lms.models import Role
from tests.api_helpers import assert_matches_openapi, bearer, make_token


@pytest.fixture
def people(db, world, trainee, make_user):
    other = make_user(name="Other Holder")
    return {
        "trainee": trainee,
        "other": other,
        "certifier": world.certifier,
        "admin": world.admin,
        "instructor": make_user(roles=[Role.INSTRUCTOR], name="Ina Instructor"),
    }


CALLERS = {
    "anonymous": (None, ()),
    "trainee-read": ("trainee", ("read",)),
    "trainee-learn": ("trainee", ("learn",)),
    "other-read": ("other", ("read",)),
    "certifier-certify": ("certifier", ("certify",)),
    "certifier-read": ("certifier", ("read",)),
    "instructor-teach": ("instructor", ("teach",)),
    "admin-certify": ("admin", ("certify",)),
}


@pytest.fixture
def call(client, db, people):
    def send(caller: str, method: str, url: str, json=None, headers=None):
        who, scopes = CALLERS[caller]
        sent = dict(headers or {})
        if who is not None:
            sent.update(bearer(make_token(people[who], scopes=scopes)))
            db.session.commit()
        response = client.open(url, method=method, json=json, headers=sent)
        assert_matches_openapi(response)
        return response

    return send


@pytest.fixture
def cert(db, world, people):
    issued = ops.issue_certificate(world.scheme, people["trainee"], actor=world.certifier)
    db.session.commit()
    return issued


def certificates(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Certificate.id)))


MINE = {"anonymous": 401, "trainee-read": 200, "trainee-learn": 403, "other-read": 200}


@pytest.mark.parametrize(("caller", "status"), MINE.items())
def test_my_certificates_matrix(call, cert, caller, status):
    response = call(caller, "GET", "/api/v1/me/certificates")
    assert response.status_code == status
    if caller == "trainee-read":
        items = response.get_json()["items"]
        assert [c["code"] for c in items] == [cert.code]
        assert items[0]["holder"]["name"] == "Мария Иванова-Петрова"
        assert "@" not in str(items)
    if caller == "other-read":
        assert response.get_json()["items"] == []


ONE = {
    "anonymous": 401,
    "trainee-read": 200,
    "other-read": 404,
    "certifier-read": 404,
    "certifier-certify": 200,
    "instructor-teach": 403,
}


@pytest.mark.parametrize(("caller", "status"), ONE.items())
def test_one_certificate_matrix(call, cert, caller, status):
    response = call(caller, "GET", f"/api/v1/certificates/{cert.code}")
    assert response.status_code == status
    if status != 200:
        assert cert.code not in response.get_data(as_text=True)


REGISTER = {"anonymous": 401, "trainee-read": 403, "certifier-read": 403, "certifier-certify": 200}


@pytest.mark.parametrize(("caller", "status"), REGISTER.items())
def test_register_matrix(call, cert, caller, status):
    response = call(caller, "GET", "/api/v1/certificates?status=active")
    assert response.status_code == status
    if status == 200:
        assert [c["code"] for c in response.get_json()["items"]] == [cert.code]


ISSUE = {
    "anonymous": 401,
    "trainee-read": 403,
    "trainee-learn": 403,
    "certifier-read": 403,
    "instructor-teach": 403,
    "certifier-certify": 201,
    "admin-certify": 201,
}


@pytest.mark.parametrize(("caller", "status"), ISSUE.items())
def test_issue_matrix(call, db, world, people, caller, status):
    body = {"scheme": world.scheme.code, "user_id": people["trainee"].id}
    response = call(caller, "POST", "/api/v1/certificates", json=body)
    assert response.status_code == status
    assert certificates(db) == (1 if status == 201 else 0)
    if status == 201:
        assert response.headers["Location"] == response.get_json()["links"]["self"]


def test_issue_is_idempotent(call, db, world, people):
    body = {"scheme": world.scheme.code, "user_id": people["trainee"].id}
    headers = {"Idempotency-Key": "issue-maria-1"}
    first = call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    replay = call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    fresh = call("certifier-certify", "POST", "/api/v1/certificates", json=body)
    assert fresh.status_code == 200  # the live certificate, not a second one
    assert fresh.get_json()["code"] == first.get_json()["code"]
    assert certificates(db) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"scheme", "user_id"}),
        ({"scheme": "NOPE", "user_id": 1}, {"scheme"}),
        ({"scheme": "", "user_id": "x"}, {"scheme", "user_id"}),
        ({"scheme": "S", "user_id": 999999}, {"scheme", "user_id"}),
        ({"scheme": "S", "user_id": 1, "grade": 100}, {"grade"}),
    ],
)
def test_issue_bad_inputs(call, db, world, body, fields):
    response = call("certifier-certify", "POST", "/api/v1/certificates", json=body)
    assert response.status_code == 422
    assert fields <= {e["field"] for e in response.get_json()["errors"]}
    assert certificates(db) == 0


def test_issue_refuses_an_ineligible_trainee(call, db, world, people):
    body = {"scheme": world.scheme.code, "user_id": people["other"].id}
    response = call("certifier-certify", "POST", "/api/v1/certificates", json=body)
    assert response.status_code == 422
    assert "not eligible" in response.get_json()["detail"]
    assert certificates(db) == 0


def test_suspend_reinstate_revoke(call, db, cert):
    url = f"/api/v1/certificates/{cert.code}"
    for caller in ("trainee-read", "certifier-read", "instructor-teach"):
        assert call(caller, "POST", url + "/revoke", json={"reason": "x"}).status_code == 403
    missing = call("certifier-certify", "POST", url + "/suspend", json={})
    assert missing.status_code == 422
    assert missing.get_json()["errors"][0]["field"] == "reason"
    too_long = call("certifier-certify", "POST", url + "/revoke", json={"reason": "x" * 501})
    assert too_long.status_code == 422
    db.session.refresh(cert)
    assert cert.status == "active"
    body = call("certifier-certify", "POST", url + "/suspend", json={"reason": "Audit"}).get_json()
    assert body["status"] == "suspended"
    assert (
        call("certifier-certify", "POST", url + "/suspend", json={"reason": "x"}).status_code == 409
    )
    body = call("certifier-certify", "POST", url + "/reinstate", json={}).get_json()
    assert body["status"] == "active"
    body = call(
        "certifier-certify", "POST", url + "/revoke", json={"reason": "Exam fraud <b>"}
    ).get_json()
    assert body["status"] == "revoked"
    assert body["revocation_reason"] == "Exam fraud <b>"
    verify = call("anonymous", "GET", f"/api/v1/verify/{cert.code}")
    assert verify.status_code == 200
    assert verify.get_json()["status"] == "revoked"
    assert (
        call("certifier-certify", "POST", url + "/suspend", json={"reason": "x"}).status_code == 409
    )
    assert (
        call(
            "certifier-certify", "POST", "/api/v1/certificates/NOPE/revoke", json={"reason": "x"}
        ).status_code
        == 404
    )


def test_public_verify_is_in_the_document(call, client, cert):
    report = call("anonymous", "GET", f"/api/v1/verify/{cert.code}")
    assert report.status_code == 200
    assert report.get_json()["valid"] is True
    assert set(report.get_json()) >= {"valid", "status", "checks", "credential"}
    unknown = call("anonymous", "GET", "/api/v1/verify/AAAA-BBBB-CCCC-DDDD")
    assert unknown.status_code == 404
    assert unknown.get_json()["valid"] is False
    upload = client.post("/api/v1/verify", json=cert.credential)
    assert_matches_openapi(upload)
    assert upload.status_code == 200
    assert upload.get_json()["valid"] is True
    broken = client.post("/api/v1/verify", data=b"{", content_type="application/json")
    assert_matches_openapi(broken)
    assert broken.status_code == 422


def test_revoking_in_error_through_the_api_blocks_a_new_certificate(call, db, cert):
    from certificates import operations as ops
    from certificates import queries

    url = f"/api/v1/certificates/{cert.code}/revoke"
    bad = call("certifier-certify", "POST", url, json={"reason": "x", "in_error": "perhaps"})
    assert bad.status_code == 422
    body = call(
        "certifier-certify", "POST", url, json={"reason": "Wrong exam sheet", "in_error": True}
    )
    assert body.status_code == 200
    db.session.refresh(cert)
    assert cert.revoked_in_error
    assert queries.reissue_block(cert.scheme, cert.user) is not None
    with pytest.raises(ops.CertificationError, match="issued in error"):
        ops.issue_certificate(cert.scheme, cert.user, actor=None)


class Killed(BaseException):
    """The worker dies: nothing after this runs, no handler answers."""


def test_a_key_left_by_a_worker_killed_while_rendering_is_freed_later(
    call, db, world, people, monkeypatch
):
    from datetime import timedelta

    from lms.api import idempotency
    from lms.api.models import IdempotencyRecord

    body = {"scheme": world.scheme.code, "user_id": people["trainee"].id}
    headers = {"Idempotency-Key": "killed-while-rendering"}

    def killed(draft):
        raise Killed

    # The first write commits the key's placeholder; the worker dies while rendering,
    # before anything could free the key again.
    monkeypatch.setattr(issuance, "_make", killed)
    monkeypatch.setattr(idempotency, "_release", lambda record_id: None)
    with pytest.raises(Killed):
        call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    db.session.rollback()
    monkeypatch.undo()
    assert certificates(db) == 0
    record = db.session.scalar(sa.select(IdempotencyRecord))
    assert record.response_status is None

    soon = call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    assert soon.status_code == 409, soon.get_data(as_text=True)
    assert "still being processed" in soon.get_data(as_text=True)

    record.created_at -= idempotency.ABANDONED_AFTER + timedelta(seconds=1)
    db.session.commit()
    later = call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    assert later.status_code == 201, later.get_data(as_text=True)
    assert certificates(db) == 1
    replay = call("certifier-certify", "POST", "/api/v1/certificates", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["code"] == later.get_json()["code"]
