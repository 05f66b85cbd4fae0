"""A stolen cookie stops working when its owner logs out or changes the password.

Each test logs in with one browser, copies its cookies into a second one (the
thief) and checks what the copy still opens.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_login.config import COOKIE_NAME as REMEMBER

from lms.api.models import ApiToken
from lms.auth import sessions
from lms.db import utcnow

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new password"


def login(client, email, password=PASSWORD, **extra):
    return client.post_form("/login", {"email": email, "password": password, **extra})


def copy_cookies(app, source, target, *names) -> None:
    """Give ``target`` the browser cookies ``names`` of ``source``, as a thief would."""
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"{name} not set"
        target.set_cookie(name, cookie.value)


def session_cookie(app) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def test_copied_session_cookie_opens_nothing_after_logout(app, client, make_user):
    make_user(email="victim@example.org", password=PASSWORD)
    assert login(client, "victim@example.org").status_code == 302
    thief = app.test_client()
    copy_cookies(app, client, thief, session_cookie(app))
    assert thief.get("/account").status_code == 200  # the copy works while the session is open

    assert client.post_form("/logout").status_code == 302
    assert client.get("/account").status_code == 302
    response = thief.get("/account")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_copied_remember_cookie_is_refused_after_logout(app, client, make_user):
    make_user(email="remember@example.org", password=PASSWORD)
    assert login(client, "remember@example.org", remember="y").status_code == 302
    thief = app.test_client()
    copy_cookies(app, client, thief, REMEMBER)
    assert thief.get("/account").status_code == 200  # restored from the remember cookie

    client.post_form("/logout")
    fresh_thief = app.test_client()
    copy_cookies(app, thief, fresh_thief, REMEMBER)
    assert fresh_thief.get("/account").status_code == 302
    assert thief.get("/account").status_code == 302  # the restored session ended too


def test_password_change_ends_copied_sessions_but_keeps_this_one(app, client, db, make_user):
    make_user(email="change@example.org", password=PASSWORD)
    login(client, "change@example.org", remember="y")
    thief = app.test_client()
    copy_cookies(app, client, thief, session_cookie(app), REMEMBER)
    elsewhere = app.test_client()
    login(elsewhere, "change@example.org")

    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    # The copy names the very session the password was changed in: it stays open, as the
    # owner's does. Every other session ends.
    assert elsewhere.get("/account").status_code == 302
    assert client.get("/account").status_code == 200


def test_password_reset_ends_every_session(app, client, db, make_user):
    from lms.auth.operations import make_password_token

    user = make_user(email="reset@example.org", password=PASSWORD)
    login(client, "reset@example.org", remember="y")
    thief = app.test_client()
    copy_cookies(app, client, thief, session_cookie(app), REMEMBER)
    token = make_password_token(user)
    db.session.commit()

    other = app.test_client()
    response = other.post_form(
        f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert other.get("/account").status_code == 200  # logged in by the reset
    assert client.get("/account").status_code == 302
    assert thief.get("/account").status_code == 302


def test_deactivation_ends_every_session_for_good(app, client, db, make_user):
    from lms.auth.operations import deactivate, reactivate

    user = make_user(email="closed@example.org", password=PASSWORD)
    login(client, "closed@example.org", remember="y")
    thief = app.test_client()
    copy_cookies(app, client, thief, REMEMBER)
    deactivate(user, actor=None)
    db.session.commit()
    assert client.get("/account").status_code == 302
    reactivate(user, actor=None)
    db.session.commit()
    # Opening the account again does not bring the old sessions back.
    assert client.get("/account").status_code == 302
    assert thief.get("/account").status_code == 302


def test_stolen_session_cannot_mint_a_lasting_api_token(app, client, db, make_user):
    """A token would outlive the session: making one needs the password, not just the cookie."""
    user = make_user(email="mint@example.org", password=PASSWORD)
    login(client, "mint@example.org")
    for record in sessions.open_sessions(user):  # the owner logged in a while ago
        record.password_confirmed_at = utcnow() - sessions.CONFIRMATION_WINDOW * 2
    db.session.commit()
    thief = app.test_client()
    copy_cookies(app, client, thief, session_cookie(app))
    response = thief.post_form(
        "/account/tokens",
        {
            "name": "backdoor",
            "scopes": ["read"],
            "expires_on": (date.today() + timedelta(days=360)).isoformat(),
        },
    )
    assert response.status_code == 302
    assert "/account/confirm-password" in response.location
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
