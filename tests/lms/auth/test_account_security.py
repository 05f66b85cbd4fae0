"""The account's sessions page, password confirmation, and API tokens on password changes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from lms.api.models import ApiToken
from lms.api.operations import create_token
from lms.auth import sessions
from lms.db import utcnow
from lms.models import AuditLog, UserSession
from tests.api_helpers import bearer

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new password"


def login(client, email, password=PASSWORD, agent="Browser/1.0"):
    return client.post_form(
        "/login",
        {"email": email, "password": password},
        environ_base={"HTTP_USER_AGENT": agent},
    )


def token_for(user) -> tuple[ApiToken, str]:
    expires = datetime.combine(date.today() + timedelta(days=30), datetime.min.time()).astimezone()
    return create_token(user, name="Script", scopes=["read"], expires_at=expires)


def open_count(db, user) -> int:
    return len(sessions.open_sessions(user))


# --- the sessions page -------------------------------------------------------


def test_sessions_page_lists_devices_and_marks_this_one(app, client, db, make_user):
    user = make_user(email="list@example.org", password=PASSWORD)
    login(client, "list@example.org", agent="Firefox <script>")
    other = app.test_client()
    login(other, "list@example.org", agent="Mobile Safari")
    token, _secret = token_for(user)
    db.session.commit()

    html = client.get("/account/sessions").get_data(as_text=True)
    assert "Firefox &lt;script&gt;" in html
    assert "<script>" not in html
    assert "Mobile Safari" in html
    assert html.count("this session") == 1
    this_row = re.search(r'<tr id="session-\d+">(.*?)</tr>', html, re.S).group(1)
    assert "Firefox" in this_row
    assert "this session" in this_row
    assert token.prefix in html
    assert 'href="/account/sessions"' in client.get("/account").get_data(as_text=True)


def test_ending_another_session_logs_that_device_out(app, client, db, make_user):
    user = make_user(email="end@example.org", password=PASSWORD)
    login(client, "end@example.org")
    other = app.test_client()
    login(other, "end@example.org", agent="Other device")
    record = db.session.scalar(
        sa.select(UserSession).where(UserSession.user_agent == "Other device")
    )
    assert client.post(f"/account/sessions/{record.id}/end").status_code == 400  # no CSRF token
    response = client.post_form(f"/account/sessions/{record.id}/end")
    assert response.status_code == 302
    assert other.get("/account").status_code == 302
    assert client.get("/account").status_code == 200
    assert open_count(db, user) == 1
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "session.end")).data == {
        "session": record.id
    }


def test_ending_this_session_logs_out_here(client, db, make_user):
    make_user(email="self@example.org", password=PASSWORD)
    login(client, "self@example.org")
    record = db.session.scalar(sa.select(UserSession).order_by(UserSession.id.desc()))
    response = client.post_form(f"/account/sessions/{record.id}/end")
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_someone_elses_session_is_not_found(app, client, db, make_user):
    make_user(email="mine@example.org", password=PASSWORD)
    make_user(email="theirs@example.org", password=PASSWORD)
    login(client, "mine@example.org")
    other = app.test_client()
    login(other, "theirs@example.org")
    theirs = db.session.scalar(sa.select(UserSession).order_by(UserSession.id.desc()))
    assert client.post_form(f"/account/sessions/{theirs.id}/end").status_code == 404
    assert other.get("/account").status_code == 200


def test_revoking_a_token_from_the_sessions_page_comes_back_to_it(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    token, secret = token_for(user)
    db.session.commit()
    response = client.post_form(f"/account/tokens/{token.id}/revoke", {"next": "/account/sessions"})
    assert response.status_code == 302
    assert response.location == "/account/sessions"
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


# --- confirming the password before creating API tokens -----------------------


def token_form() -> dict:
    return {
        "name": "Integration",
        "scopes": ["read"],
        "expires_on": (date.today() + timedelta(days=300)).isoformat(),
    }


def token_count(db, user) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    )


def test_token_creation_without_a_recent_password_is_refused(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))  # a session, but no password typed in it
    page = client.get("/account/tokens").get_data(as_text=True)
    assert 'id="confirm-first"' in page
    assert 'name="scopes"' not in page
    response = client.post_form("/account/tokens", token_form())
    assert response.status_code == 302
    assert response.location.startswith("/account/confirm-password")
    assert token_count(db, user) == 0


def test_password_typed_too_long_ago_no_longer_counts(client, db, make_user):
    user = make_user(email="late@example.org", password=PASSWORD)
    login(client, "late@example.org")
    record = sessions.open_sessions(user)[0]
    record.password_confirmed_at = utcnow() - sessions.CONFIRMATION_WINDOW - timedelta(seconds=5)
    db.session.commit()
    assert client.post_form("/account/tokens", token_form()).status_code == 302
    assert token_count(db, user) == 0


def test_confirming_the_password_allows_creating_a_token(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    target = "/account/confirm-password?next=/account/tokens"
    response = client.post_form(target, {"password": "not it at all"})
    assert response.status_code == 200
    assert "The password is wrong." in response.get_data(as_text=True)
    assert client.post_form("/account/tokens", token_form()).status_code == 302
    response = client.post_form(target, {"password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/account/tokens"
    response = client.post_form("/account/tokens", token_form())
    assert response.status_code == 200
    assert 'id="token-secret"' in response.get_data(as_text=True)
    assert token_count(db, user) == 1


def test_confirmation_goes_only_to_local_pages(client, login_as, make_user):
    login_as(make_user(password=PASSWORD))
    response = client.post_form(
        "/account/confirm-password?next=https://evil.example/", {"password": PASSWORD}
    )
    assert response.location == "/account"


def test_wrong_confirmations_are_limited(app, client, login_as, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2 per 15 minutes")
    login_as(make_user(password=PASSWORD))
    for _ in range(2):
        assert client.post_form("/account/confirm-password", {"password": "x"}).status_code == 200
    assert client.post_form("/account/confirm-password", {"password": PASSWORD}).status_code == 429


# --- API tokens when the password changes ------------------------------------


def change_password(client, **extra):
    return client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **extra},
    )


def test_password_change_keeps_tokens_unless_asked(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    _token, secret = token_for(user)
    db.session.commit()
    assert 'name="revoke_tokens"' in client.get("/account/password").get_data(as_text=True)
    assert change_password(client).status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_password_change_revokes_tokens_when_asked(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    _token, secret = token_for(user)
    db.session.commit()
    assert change_password(client, revoke_tokens="y").status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert client.get("/account").status_code == 200  # this session goes on


def test_password_reset_revokes_every_token(app, client, db, make_user):
    from lms.auth.operations import make_password_token

    user = make_user(email="tokens@example.org", password=PASSWORD)
    _token, secret = token_for(user)
    token = make_password_token(user)
    db.session.commit()
    response = client.post_form(
        f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "user.revoke_api_tokens")
    ).data == {"count": 1}
