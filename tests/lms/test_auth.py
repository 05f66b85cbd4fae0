"""Log-in, log-out, registration and the account page, through the web pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login.config import COOKIE_NAME as REMEMBER

from lms.db import utcnow
from lms.models import AuditLog, Role, User
from tests.lms.test_auth_reset import link_in

PASSWORD = "correct horse battery"


def user_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def audit_actions(db, user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.object_type == "User", AuditLog.object_id == str(user.id))
            .order_by(AuditLog.id)
        )
    )


def login(client, email, password=PASSWORD, **extra):
    return client.post_form("/login", {"email": email, "password": password, **extra})


# --- log-in ------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert 'name="remember"' in html
    assert 'href="/forgot-password"' in html


def test_login_with_right_password_signs_in_and_records_the_time(client, db, make_user):
    user = make_user(email="ana@example.org", password=PASSWORD)
    before = utcnow()
    response = login(client, "  ANA@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert user.last_login_at >= before - timedelta(seconds=1)
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account", "/account"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_follows_only_local_next(client, make_user, next_url, expected):
    make_user(email="next@example.org", password=PASSWORD)
    response = client.post_form(
        "/login?" + f"next={next_url}", {"email": "next@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_with_wrong_password_says_so_and_stays_out(client, db, make_user):
    user = make_user(email="wrong@example.org", password=PASSWORD)
    response = login(client, "wrong@example.org", "not the password")
    assert response.status_code == 200
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.last_login_at is None
    assert client.get("/account").status_code == 302


def test_login_with_unknown_address_gives_the_same_message(client):
    response = login(client, "nobody@example.org", "whatever password")
    assert response.status_code == 200
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)


def test_login_with_empty_fields_explains(client):
    response = login(client, "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please enter your e-mail address." in html
    assert "Please enter your password." in html


def test_inactive_user_cannot_log_in(client, db, make_user):
    user = make_user(email="gone@example.org", password=PASSWORD, active=False)
    response = login(client, "gone@example.org")
    assert response.status_code == 403
    assert "This account has been deactivated" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.last_login_at is None
    assert client.get("/account").status_code == 302


def test_inactive_user_with_a_wrong_password_learns_nothing(client, make_user):
    make_user(email="gone2@example.org", password=PASSWORD, active=False)
    response = login(client, "gone2@example.org", "not the password")
    html = response.get_data(as_text=True)
    assert "deactivated" not in html
    assert "The e-mail address or the password is wrong." in html


def test_deactivation_ends_an_existing_session(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    assert client.get("/account").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logged_in_user_visiting_login_is_sent_on(client, login_as):
    login_as(Role.TRAINEE)
    response = client.get("/login?next=/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


# --- cookies -----------------------------------------------------------------


def _cookie(response, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie set")


def test_login_cookies_are_httponly_and_samesite_lax(app, client, make_user):
    make_user(email="cookie@example.org", password=PASSWORD)
    response = login(client, "cookie@example.org", remember="y")
    assert response.status_code == 302
    for name in (app.config["SESSION_COOKIE_NAME"], REMEMBER):
        header = _cookie(response, name)
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
        assert "Secure" not in header  # BASE_URL is http in the tests


def test_without_remember_me_no_remember_cookie_is_set(app, client, make_user):
    make_user(email="forget@example.org", password=PASSWORD)
    response = login(client, "forget@example.org")
    names = [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")]
    assert REMEMBER not in names


def test_cookies_are_secure_when_served_over_https(tmp_path):
    from lms import create_app
    from lms.auth.operations import create_user
    from lms.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "https-test-" * 4,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'https.sqlite3'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "BASE_URL": "https://lms.example.org",
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        create_user(email="s@example.org", name="Secure", password=PASSWORD)
        db.session.commit()
        client = app.test_client()
        response = client.post(
            "/login",
            data={"email": "s@example.org", "password": PASSWORD, "remember": "y"},
            base_url="https://lms.example.org",
        )
        assert response.status_code == 302
        for name in (app.config["SESSION_COOKIE_NAME"], REMEMBER):
            header = _cookie(response, name)
            assert "Secure" in header
            assert "HttpOnly" in header
            assert "SameSite=Lax" in header
        db.session.remove()
        db.engine.dispose()


# --- log-out -----------------------------------------------------------------


def test_logout_needs_post_with_csrf(client, login_as):
    login_as(Role.TRAINEE)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/account").status_code == 200
    response = client.post_form("/logout")
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_logout_ends_the_remember_me_cookie_too(app, client, make_user):
    make_user(email="remember@example.org", password=PASSWORD)
    login(client, "remember@example.org", remember="y")
    client.post_form("/logout")
    with client.session_transaction() as session:
        session.clear()  # as if the browser had been closed
    assert client.get("/account").status_code == 302


# --- CSRF --------------------------------------------------------------------


def test_login_without_csrf_token_is_refused(client, db, make_user):
    user = make_user(email="csrf@example.org", password=PASSWORD)
    db.session.commit()  # the CSRF error handler rolls back what is pending
    response = client.post("/login", data={"email": "csrf@example.org", "password": PASSWORD})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.last_login_at is None
    assert client.get("/account").status_code == 302


def test_register_without_csrf_token_is_refused(client, db):
    before = user_count(db)
    response = client.post(
        "/register",
        data={"name": "No Token", "email": "notoken@example.org"},
    )
    assert response.status_code == 400
    assert user_count(db) == before


def test_csrf_token_from_the_page_is_accepted(client, make_user):
    from tests.conftest import extract_csrf

    make_user(email="page@example.org", password=PASSWORD)
    token = extract_csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": "page@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


# --- registration ------------------------------------------------------------


def register(client, **fields):
    data = {"name": "Мария Иванова", "email": "maria@example.org"}
    data.update(fields)
    return client.post_form("/register", data)


@pytest.mark.parametrize(
    "name",
    [
        "Мария Иванова",
        "Zoë 🎓 Ørsted",
        "مريم الأحمد",
        "<script>alert(1)</script>",
        'Tom & Jerry\'s "Best"',
        "N" * 200,
    ],
)
def test_registration_accepts_any_name_and_renders_it_escaped(client, db, name, outbox):
    response = register(client, name=name, email="New.Person@Example.org")
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.org"))
    assert user is not None
    assert user.name == name
    assert user.roles == {Role.TRAINEE}
    assert user.password_hash is None  # chosen through the e-mailed link
    [message] = outbox()
    assert message["To"] == "new.person@example.org"
    assert name in message.get_content()
    response = client.post_form(
        link_in(message), {"password": PASSWORD, "confirm": PASSWORD}
    )  # logs in
    assert response.status_code == 302
    assert user.check_password(PASSWORD)
    html = client.get("/account").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    escaped = (
        name.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )
    assert f'<dd class="col-sm-8" id="account-name">{escaped}</dd>' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Please enter your name."),
        ({"name": "   "}, "Please enter your name."),
        ({"name": "N" * 201}, "At most 200 characters."),
        ({"name": "Line\nbreak"}, "Control characters"),
        ({"name": "Nul\x00byte"}, "Control characters"),
        # A right-to-left override makes the printed name read "Ivan" backwards.
        ({"name": "\u202enavI"}, "Control characters"),
        ({"name": "Ann\u2066a"}, "Control characters"),
        ({"email": ""}, "Please enter an e-mail address."),
        ({"email": "not-an-address"}, "This is not a valid e-mail address."),
        ({"email": "a" * 250 + "@example.org"}, "At most 254 characters."),
    ],
)
def test_registration_bad_input_explains_and_changes_nothing(
    client, db, make_user, fields, message, outbox
):
    make_user(email="taken@example.org")
    before = user_count(db)
    audit_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    response = register(client, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert user_count(db) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audit_before
    assert client.get("/account").status_code == 302
    assert outbox() == []


def test_registration_answers_the_same_for_an_existing_address(client, db, make_user, outbox):
    owner = make_user(email="taken@example.org", name="Owner", password=PASSWORD)
    db.session.commit()
    before = user_count(db)
    answers = []
    for address in ("TAKEN@example.ORG", "fresh@example.org"):
        response = register(client, email=address, name="Someone Else")
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", page)  # signed with the time
        answers.append((response.headers["Location"], page.replace(address, "ADDRESS")))
    assert answers[0] == answers[1]
    assert "We have sent a message to ADDRESS" in answers[0][1]
    assert user_count(db) == before + 1  # only the new address got an account
    assert owner.check_password(PASSWORD)  # the existing account is unchanged
    notice, welcome = sorted(outbox(), key=lambda m: m["To"] != "taken@example.org")
    assert notice["To"] == "taken@example.org"
    assert welcome["To"] == "fresh@example.org"
    assert "Someone tried to create an account" in notice.get_content()
    assert "/forgot-password" in notice.get_content()
    assert "/reset-password/" not in notice.get_content()  # no link that changes anything


def test_logged_in_user_is_sent_away_from_registration(client, login_as):
    login_as(Role.TRAINEE)
    assert client.get("/register").status_code == 302


# --- the account page --------------------------------------------------------


def test_account_page_changes_name_and_language(client, db, login_as, make_user):
    user = login_as(make_user(name="Old Name", password=PASSWORD))
    page = client.get("/account").get_data(as_text=True)
    assert "Old Name" in page
    assert user.email in page
    response = client.post_form("/account", {"name": " Петър Петров ", "locale": "bg"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name == "Петър Петров"
    assert user.locale == "bg"
    assert '<html lang="bg">' in client.get("/account").get_data(as_text=True)
    assert "user.update_profile" in audit_actions(db, user)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Please enter your name."),
        ({"name": "x" * 201}, "At most 200 characters."),
        ({"locale": "de"}, "Not a valid choice"),
    ],
)
def test_account_page_bad_input_changes_nothing(client, db, login_as, make_user, fields, message):
    user = login_as(make_user(name="Kept Name"))
    response = client.post_form("/account", {"name": "Kept Name", "locale": "en", **fields})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.name == "Kept Name"
    assert user.locale is None


def test_change_password_needs_the_current_one(client, db, login_as, make_user):
    user = login_as(make_user(password=PASSWORD))
    old_hash = user.password_hash
    response = client.post_form(
        "/account/password",
        {
            "current_password": "wrong password",
            "password": "a new password",
            "confirm": "a new password",
        },
    )
    assert response.status_code == 200
    assert "The current password is wrong." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == old_hash
    assert "user.change_password" not in audit_actions(db, user)


def test_change_password_ends_other_sessions_but_keeps_this_one(app, client, db, make_user):
    user = make_user(email="change@example.org", password=PASSWORD)
    login(client, "change@example.org")
    other = app.test_client()
    login(other, "change@example.org")
    assert other.get("/account").status_code == 200

    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": "a brand new one", "confirm": "a brand new one"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("a brand new one")
    assert not user.check_password(PASSWORD)
    assert "user.change_password" in audit_actions(db, user)
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert login(other, "change@example.org").status_code == 200  # the old password fails
    assert login(other, "change@example.org", "a brand new one").status_code == 302


def test_change_password_keeps_remember_me_working(app, client, db, make_user):
    user = make_user(email="keep@example.org", password=PASSWORD)
    login(client, "keep@example.org", remember="y")
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": "a brand new one", "confirm": "a brand new one"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("a brand new one")
    # This device's session stays open, so its remember-me cookie still works.
    with client.session_transaction() as session:
        session.clear()
    assert client.get("/account").status_code == 200


# --- rate limits -------------------------------------------------------------


def test_failed_logins_are_limited_per_account(app, client, db, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "3 per 15 minutes")
    make_user(email="target@example.org", password=PASSWORD)
    make_user(email="bystander@example.org", password=PASSWORD)
    db.session.commit()  # the 429 page rolls back what is pending
    for _ in range(3):
        assert login(client, "target@example.org", "guess guess").status_code == 200
    response = login(client, "Target@Example.org")  # even the right password now waits
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "too many attempts" in response.get_data(as_text=True).lower()
    assert client.get("/account").status_code == 302
    assert login(client, "bystander@example.org").status_code == 302  # others are unaffected


def test_successful_logins_do_not_use_up_the_account_limit(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2 per 15 minutes")
    make_user(email="often@example.org", password=PASSWORD)
    for _ in range(4):
        assert login(client, "often@example.org").status_code == 302
        client.post_form("/logout")


def test_logins_are_limited_per_address(app, client, db, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "4 per 15 minutes")
    make_user(email="last@example.org", password=PASSWORD)
    db.session.commit()  # the 429 page rolls back what is pending
    here = {"REMOTE_ADDR": "203.0.113.7"}
    for n in range(4):
        response = client.post_form(
            "/login", {"email": f"guess{n}@example.org", "password": "x"}, environ_base=here
        )
        assert response.status_code == 200
    response = client.post_form(
        "/login", {"email": "last@example.org", "password": PASSWORD}, environ_base=here
    )
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    elsewhere = {"REMOTE_ADDR": "198.51.100.9"}
    response = client.post_form(
        "/login", {"email": "last@example.org", "password": PASSWORD}, environ_base=elsewhere
    )
    assert response.status_code == 302


def test_looking_at_the_login_page_is_not_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "2 per 15 minutes")
    for _ in range(5):
        assert client.get("/login").status_code == 200


def test_wrong_current_passwords_are_limited_too(app, client, login_as, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2 per 15 minutes")
    login_as(make_user(password=PASSWORD))
    data = {
        "current_password": "guess guess",
        "password": "new password 1",
        "confirm": "new password 1",
    }
    assert client.post_form("/account/password", data).status_code == 200
    assert client.post_form("/account/password", data).status_code == 200
    assert client.post_form("/account/password", data).status_code == 429


@pytest.mark.parametrize("name", ["\u202enavI", "Tab\there", "Nul\x00"])
def test_accounts_made_outside_forms_refuse_hidden_characters(db, name):
    """The CLI, CSV import and API create accounts without the form: the operation refuses too."""
    from lms.auth.operations import AccountError, create_user

    before = user_count(db)
    with pytest.raises(AccountError, match="invisible control characters"):
        create_user(email="hidden@example.org", name=name, password=None)
    assert user_count(db) == before
