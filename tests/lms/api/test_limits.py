"""Rate limits, body size, unknown fields and other bad input, as problem documents."""

import json

import pytest

from lms.models import Role
from tests.api_helpers import assert_matches_openapi, bearer
from tests.conftest import sign_in
from tests.lms.api.conftest import count_notes


def test_rate_limit_per_token_with_retry_after(app, client, make_user, token_for, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    first = bearer(token_for(make_user(), scopes=["read"]))
    second = bearer(token_for(make_user(), scopes=["read"]))
    for _ in range(3):
        assert client.get("/api/v1/me", headers=first).status_code == 200
    response = client.get("/api/v1/me", headers=first)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 429
    assert_matches_openapi(response)
    # Another token from the same address has its own allowance.
    assert client.get("/api/v1/me", headers=second).status_code == 200


def test_rate_limit_per_address(app, client, make_user, token_for, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_PER_ADDRESS", "4 per minute")
    tokens = [bearer(token_for(make_user(), scopes=["read"])) for _ in range(5)]
    statuses = [client.get("/api/v1/me", headers=t).status_code for t in tokens]
    assert statuses == [200, 200, 200, 200, 429]
    other = client.get("/api/v1/me", headers=tokens[0], environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_anonymous_catalogue_reads_are_limited_too(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    assert [client.get("/api/v1/programmes").status_code for _ in range(3)] == [200, 200, 429]


def test_oversized_body_is_413(notes_app, notes_user):
    notes_app.config["API_MAX_CONTENT_LENGTH"] = 1000
    try:
        user, secret = notes_user
        client = notes_app.test_client()
        body = json.dumps({"note": "x" * 2000})
        response = client.post(
            "/api/v1/test-notes", data=body, content_type="application/json", headers=bearer(secret)
        )
        assert response.status_code == 413
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 413
        assert count_notes(user.id) == 0
    finally:
        notes_app.config["API_MAX_CONTENT_LENGTH"] = 1024 * 1024


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"note": "ok", "admin": True}, ["admin"]),
        ({}, ["note"]),
        ({"note": ""}, ["note"]),
        ({"note": 5}, ["note"]),
        ({"note": "x" * 51, "extra": 1}, ["extra", "note"]),
    ],
)
def test_invalid_and_unknown_fields_are_422(notes_app, notes_user, body, fields):
    user, secret = notes_user
    client = notes_app.test_client()
    response = client.post("/api/v1/test-notes", json=body, headers=bearer(secret))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["title"] == "Unprocessable Content"
    assert sorted(e["field"] for e in problem["errors"]) == fields
    assert all(e["message"] for e in problem["errors"])
    assert count_notes(user.id) == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("{not json", "application/json"), ("[1, 2]", "application/json"), ("note=x", "text/plain")],
)
def test_malformed_bodies_are_problems_not_500(notes_app, notes_user, data, content_type):
    user, secret = notes_user
    client = notes_app.test_client()
    response = client.post(
        "/api/v1/test-notes", data=data, content_type=content_type, headers=bearer(secret)
    )
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/problem+json"
    assert count_notes(user.id) == 0


def test_writes_ignore_session_cookies_and_need_no_csrf(notes_app, notes_user):
    user, secret = notes_user
    client = notes_app.test_client()
    sign_in(client, user)
    assert client.post("/api/v1/test-notes", json={"note": "x"}).status_code == 401
    assert count_notes(user.id) == 0
    response = client.post("/api/v1/test-notes", json={"note": "x"}, headers=bearer(secret))
    assert response.status_code == 201
    assert response.get_json()["actor_id"] == user.id
    assert count_notes(user.id) == 1


def test_write_scope_is_required(notes_app):
    from lms.api.operations import create_token
    from lms.auth.operations import create_user
    from lms.db import utcnow
    from lms.extensions import db

    user = create_user(email="readonly@example.org", name="R", password=None, roles=[Role.TRAINEE])
    db.session.flush()
    from datetime import timedelta

    _, secret = create_token(
        user, name="r", scopes=["read"], expires_at=utcnow() + timedelta(days=1)
    )
    db.session.commit()
    client = notes_app.test_client()
    response = client.post("/api/v1/test-notes", json={"note": "x"}, headers=bearer(secret))
    assert response.status_code == 403
    assert count_notes(user.id) == 0
