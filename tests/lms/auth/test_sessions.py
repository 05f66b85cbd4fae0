"""Server-side sessions: what each log-in records, when it is seen, and how it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_login.config import COOKIE_NAME as REMEMBER

from lms.auth import sessions
from lms.db import utcnow
from lms.models import UserSession

PASSWORD = "correct horse battery"


def login(client, email, password=PASSWORD, **extra):
    return client.post_form("/login", {"email": email, "password": password, **extra})


def rows(db, user) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        )
    )


def test_login_records_the_device_and_keeps_only_a_hash(app, client, db, make_user):
    user = make_user(email="who@example.org", password=PASSWORD)
    response = client.post_form(
        "/login",
        {"email": "who@example.org", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.4", "HTTP_USER_AGENT": "Firefox/140.0"},
    )
    assert response.status_code == 302
    [record] = rows(db, user)
    assert record.address == "198.51.100.4"
    assert record.user_agent == "Firefox/140.0"
    assert record.ended_at is None
    assert not record.remember
    assert record.password_confirmed_at is not None
    with client.session_transaction() as session:
        key = session["_user_id"]
    assert record.secret_hash == sessions.hash_key(key)
    assert key not in record.secret_hash
    assert record.expires_at - record.created_at == app.config["PERMANENT_SESSION_LIFETIME"]


def test_remember_me_lasts_the_remember_period_and_names_the_session(app, client, db, make_user):
    user = make_user(email="rem@example.org", password=PASSWORD)
    login(client, "rem@example.org", remember="y")
    [record] = rows(db, user)
    assert record.remember
    assert record.expires_at - record.created_at == app.config["REMEMBER_COOKIE_DURATION"]
    value = client.get_cookie(REMEMBER).value
    key = value.rsplit("|", 1)[0]
    assert sessions.hash_key(key) == record.secret_hash
    assert str(user.id) != key.split(":")[0]  # no user id or password stamp in the cookie


def test_logout_ends_the_record(client, db, make_user):
    user = make_user(email="out@example.org", password=PASSWORD)
    login(client, "out@example.org")
    client.post_form("/logout")
    [record] = rows(db, user)
    assert record.ended_at is not None
    assert record.end_reason == "logout"


def test_expired_session_opens_nothing(client, db, make_user):
    user = make_user(email="old@example.org", password=PASSWORD)
    login(client, "old@example.org")
    [record] = rows(db, user)
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_reading_pages_writes_last_seen_only_every_few_minutes(client, db, make_user):
    user = make_user(email="seen@example.org", password=PASSWORD)
    login(client, "seen@example.org")
    [record] = rows(db, user)
    first_seen = record.last_seen_at
    assert client.get("/account").status_code == 200
    db.session.refresh(record)
    assert record.last_seen_at == first_seen

    long_ago = utcnow() - sessions.LAST_SEEN_RESOLUTION - timedelta(minutes=1)
    record.last_seen_at = long_ago
    db.session.commit()
    assert client.get("/account").status_code == 200
    db.session.refresh(record)
    assert record.last_seen_at > long_ago + timedelta(minutes=1)


def test_admin_setting_a_password_ends_every_session(app, client, db, make_user):
    from lms.auth.operations import set_password

    user = make_user(email="set@example.org", password=PASSWORD)
    login(client, "set@example.org")
    set_password(user, "chosen by the admin", actor=None)
    db.session.commit()
    assert client.get("/account").status_code == 302
    assert {r.end_reason for r in rows(db, user)} == {"password"}


def test_ending_someone_elses_session_is_refused(db, make_user):
    owner = make_user(password=PASSWORD)
    other = make_user(password=PASSWORD)
    with current_app.test_request_context(method="POST"):
        record = sessions.start(owner, address=None, user_agent=None)
    with pytest.raises(sessions.SessionError):
        sessions.end(record, actor=other, reason="ended")
    assert record.ended_at is None


def test_get_id_without_a_session_is_an_error(make_user):
    with pytest.raises(RuntimeError, match="start a session"):
        make_user().get_id()


def test_durations_from_the_environment_are_seconds(app, client, db, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_DURATION", 3600)
    user = make_user(email="env@example.org", password=PASSWORD)
    login(client, "env@example.org", remember="y")
    [record] = rows(db, user)
    assert record.expires_at - record.created_at == timedelta(hours=1)


def test_sessions_ended_long_ago_are_forgotten_at_the_next_log_in(client, db, make_user):
    user = make_user(email="prune@example.org", password=PASSWORD)
    login(client, "prune@example.org")
    client.post_form("/logout")
    login(client, "prune@example.org")
    client.post_form("/logout")
    old, recent = rows(db, user)
    old.ended_at = utcnow() - sessions.KEEP_ENDED - timedelta(days=1)
    db.session.commit()
    login(client, "prune@example.org")
    assert [r.id for r in rows(db, user)][:1] == [recent.id]
    assert len(rows(db, user)) == 2
