"""Idempotency-Key: replay, conflicts, failures that free the key, races and expiry."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.api import idempotency
from lms.api.models import IdempotencyRecord
from lms.db import utcnow
from lms.extensions import db
from tests.api_helpers import bearer
from tests.lms.api.conftest import count_notes


def _post(client, secret, body, key="key-1"):
    headers = bearer(secret)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/test-notes", json=body, headers=headers)


def test_retry_replays_the_first_response(notes_app, notes_user):
    user, secret = notes_user
    client = notes_app.test_client()
    first = _post(client, secret, {"note": "hello"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = _post(client, secret, {"note": "hello"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count_notes(user.id) == 1


def test_without_a_key_every_request_creates(notes_app, notes_user):
    user, secret = notes_user
    client = notes_app.test_client()
    _post(client, secret, {"note": "a"}, key=None)
    _post(client, secret, {"note": "a"}, key=None)
    assert count_notes(user.id) == 2


def test_same_key_different_body_is_refused(notes_app, notes_user):
    user, secret = notes_user
    client = notes_app.test_client()
    _post(client, secret, {"note": "one"})
    response = _post(client, secret, {"note": "two"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert count_notes(user.id) == 1


def test_keys_belong_to_their_user(notes_app, notes_user):
    from lms.auth.operations import create_user
    from tests.api_helpers import make_token

    _user, secret = notes_user
    other = create_user(
        email="other-idem@example.org", name="Other", roles=["trainee"], password=None
    )
    db.session.flush()
    other_secret = make_token(other, scopes=["learn"])
    db.session.commit()
    client = notes_app.test_client()
    _post(client, secret, {"note": "same"})
    response = _post(client, other_secret, {"note": "same"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert count_notes(other.id) == 1


def test_failed_request_leaves_the_key_free(notes_app, notes_user):
    _user, secret = notes_user
    client = notes_app.test_client()
    assert _post(client, secret, {"note": "x", "fail": True}).status_code == 409
    assert _post(client, secret, {"note": "x", "extra": 1}, key="key-2").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0
    assert _post(client, secret, {"note": "x"}).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "ключ"])
def test_bad_keys_are_422(notes_app, notes_user, key):
    user, secret = notes_user
    client = notes_app.test_client()
    response = client.post(
        "/api/v1/test-notes",
        json={"note": "x"},
        headers={**bearer(secret), "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert response.status_code == 422
    assert count_notes(user.id) == 0


def test_records_expire_after_a_day(notes_app, notes_user):
    user, secret = notes_user
    client = notes_app.test_client()
    _post(client, secret, {"note": "old"})
    db.session.execute(
        sa.update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    response = _post(client, secret, {"note": "old"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert count_notes(user.id) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 1


def test_concurrent_duplicates_create_once(committing_app, bare_notes_app, monkeypatch):
    """Two requests with one key racing past the lookup: the unique constraint settles it."""
    from lms.auth.operations import create_user
    from tests.api_helpers import make_token

    with bare_notes_app.app_context():
        user = create_user(
            email="race-idem@example.org", name="Race", roles=["trainee"], password=None
        )
        db.session.flush()
        secret = make_token(user, scopes=["learn"])
        db.session.commit()
        user_id = user.id
        racing = db.engine.dialect.name == "postgresql"
    # On PostgreSQL both requests pass the lookup before either inserts; SQLite's
    # write lock (BEGIN IMMEDIATE) already serialises them, so they just run.
    barrier = threading.Barrier(2, timeout=10)
    real_find = idempotency._find

    waited = set()

    def find_then_wait(uid, key):
        found = real_find(uid, key)
        if racing and threading.get_ident() not in waited:  # only the first lookup
            waited.add(threading.get_ident())
            barrier.wait()
        return found

    monkeypatch.setattr(idempotency, "_find", find_then_wait)
    results = []

    def post():
        client = bare_notes_app.test_client()
        with bare_notes_app.app_context():
            results.append(_post(client, secret, {"note": "race"}, key="race-key"))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([201, 201], [201, 409])
    replayed = [r for r in results if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == (1 if statuses == [201, 201] else 0)
    with bare_notes_app.app_context():
        assert count_notes(user_id) == 1
