"""Password reset by e-mailed link: signed, expiring, single-use, no account enumeration."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from lms.auth import operations as ops
from lms.models import AuditLog

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a new password 123"
LINK = re.compile(r"http://localhost(/reset-password/[A-Za-z0-9_.\-]+)")


def link_in(message) -> str:
    match = LINK.search(message.get_content())
    assert match, message.get_content()
    return match.group(1)


def forgot(client, email):
    return client.post_form("/forgot-password", {"email": email})


def test_full_reset_flow(client, db, make_user, outbox):
    user = make_user(email="reset@example.org", name="Ана Reset", password=PASSWORD)
    db.session.commit()
    response = forgot(client, " RESET@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"

    [message] = outbox()
    assert message["To"] == "reset@example.org"
    assert "Reset your password" in message["Subject"]
    assert "Ана Reset" in message.get_content()
    path = link_in(message)

    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "reset@example.org" in page.get_data(as_text=True)

    response = client.post_form(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    assert user.last_login_at is not None
    assert client.get("/account").status_code == 200  # logged in by the link
    assert db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "user.reset_password", AuditLog.object_id == str(user.id)
        )
    )

    client.post_form("/logout")
    reused = client.get(path)
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)
    again = client.post_form(path, {"password": "yet another one", "confirm": "yet another one"})
    assert again.status_code == 400
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD)

    assert (
        client.post_form("/login", {"email": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_forgot_page_answers_the_same_for_unknown_addresses(client, db, make_user, outbox):
    make_user(email="known@example.org", password=PASSWORD)
    make_user(email="closed@example.org", password=PASSWORD, active=False)
    db.session.commit()
    answers = []
    for email in ("known@example.org", "unknown@example.org", "closed@example.org"):
        response = forgot(client, email)
        flashed = client.get("/login").get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"]))
        assert "If an account uses this address" in flashed
    assert answers[0] == answers[1] == answers[2]
    assert [m["To"] for m in outbox()] == ["known@example.org"]


def test_forgot_page_bad_input_sends_nothing(client, outbox):
    response = forgot(client, "")
    assert response.status_code == 200
    assert "Please enter your e-mail address." in response.get_data(as_text=True)
    assert outbox() == []


def test_expired_link_is_refused(app, client, db, make_user, monkeypatch):
    user = make_user(email="late@example.org", password=PASSWORD)
    db.session.commit()
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    # Sign the token as if it had been made just over max_age seconds ago.
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - max_age - 5)
        token = ops.make_password_token(user)
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    response = client.post_form(
        f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_link_just_inside_its_age_still_works(app, client, db, make_user, monkeypatch):
    user = make_user(email="intime@example.org", password=PASSWORD)
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    with monkeypatch.context() as patch:
        patch.setattr(
            TimestampSigner, "get_timestamp", lambda self: int(time.time()) - max_age + 60
        )
        token = ops.make_password_token(user)
    assert client.get(f"/reset-password/{token}").status_code == 200


def test_new_account_link_lives_longer_than_a_reset_link(app, db, make_user, monkeypatch):
    user = make_user(email="invited@example.org")
    two_hours_ago = int(time.time()) - 2 * 3600
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: two_hours_ago)
        reset_token = ops.make_password_token(user, "reset")
        set_token = ops.make_password_token(user, "set")
    with pytest.raises(ops.InvalidToken, match="expired"):
        ops.user_for_password_token(reset_token)
    assert ops.user_for_password_token(set_token) is user


@pytest.mark.parametrize(
    "token",
    ["nonsense", "eyJ1IjoxfQ.ZZZZZZ.forged-signature", "a" * 300],
)
def test_forged_links_are_refused(client, token):
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 400
    assert "This link is not valid." in response.get_data(as_text=True)


def test_link_signed_with_another_secret_is_refused(client, make_user):
    from itsdangerous import URLSafeTimedSerializer

    user = make_user()
    forged = URLSafeTimedSerializer("another secret", salt=ops.PASSWORD_TOKEN_SALT).dumps(
        {"u": user.id, "s": user.security_stamp, "e": "x", "p": "reset"}
    )
    assert client.get(f"/reset-password/{forged}").status_code == 400


def test_a_password_change_voids_earlier_links(client, db, make_user):
    user = make_user(password=PASSWORD)
    token = ops.make_password_token(user)
    ops.change_password(user, current=PASSWORD, new="changed meanwhile")
    db.session.commit()
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)


def test_changing_the_address_voids_links_sent_to_the_old_one(client, db, make_user):
    user = make_user(email="old@example.org", password=PASSWORD)
    token = ops.make_password_token(user)
    ops.update_user(user, name=user.name, email="new@example.org", actor=None)
    db.session.commit()
    assert client.get(f"/reset-password/{token}").status_code == 400


def test_a_link_for_a_deactivated_account_is_refused(client, db, make_user):
    user = make_user(password=PASSWORD)
    token = ops.make_password_token(user)
    user.active = False
    db.session.commit()
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 400
    assert "deactivated" in response.get_data(as_text=True)


def test_reset_ends_sessions_opened_with_the_old_password(app, client, db, make_user):
    user = make_user(email="stolen@example.org", password=PASSWORD)
    db.session.commit()
    thief = app.test_client()
    thief.post_form("/login", {"email": "stolen@example.org", "password": PASSWORD})
    assert thief.get("/account").status_code == 200
    token = ops.make_password_token(user)
    client.post_form(
        f"/reset-password/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert thief.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Between 10 and 128 characters."),
        ({"password": NEW_PASSWORD, "confirm": "different one"}, "The two passwords differ."),
        ({"password": "", "confirm": ""}, "Please choose a password."),
    ],
)
def test_bad_new_password_keeps_the_link_usable(client, db, make_user, fields, message):
    user = make_user(password=PASSWORD)
    db.session.commit()
    token = ops.make_password_token(user)
    response = client.post_form(f"/reset-password/{token}", fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    assert client.get(f"/reset-password/{token}").status_code == 200


def test_link_is_built_from_base_url_not_the_host_header(
    app, client, db, make_user, outbox, monkeypatch
):
    make_user(email="host@example.org", password=PASSWORD)
    db.session.commit()
    # The session cookie does not travel to another host, so no CSRF token either.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    response = client.post(
        "/forgot-password", data={"email": "host@example.org"}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 302
    [message] = outbox()
    assert "evil.example" not in message.get_content()
    assert link_in(message).startswith("/reset-password/")


def test_a_reset_request_stores_the_mail_and_a_job_sends_it(
    client, db, make_user, outbox, monkeypatch, caplog
):
    from lms import jobs
    from notifications.models import OutgoingMail
    from notifications.tasks import deliver_mail

    make_user(email="queued@example.org", name="Queued Reader", password=PASSWORD)
    db.session.commit()
    real_enqueue, queued = jobs.enqueue, []
    monkeypatch.setattr(jobs, "enqueue", lambda task, *args, **kw: queued.append((task, args)))

    response = forgot(client, "queued@example.org")
    assert response.status_code == 302
    assert outbox() == []  # the page did not wait for the mail server
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.recipient == "queued@example.org"
    assert mail.sent_at is None
    assert queued == [(deliver_mail, (mail.id,))]  # the job gets the id, never the link
    token = LINK.search(mail.text).group(1).rsplit("/", 1)[1]
    # The stored body must carry the link; nothing else keeps it.
    assert all(token not in str(entry.data) for entry in db.session.scalars(sa.select(AuditLog)))
    assert token not in caplog.text

    for task, args in queued:
        real_enqueue(task, *args)
    [message] = outbox()
    assert message["To"] == "queued@example.org"
    assert link_in(message) == f"/reset-password/{token}"
    db.session.refresh(mail)
    assert mail.sent_at is not None
    assert token not in mail.text  # the copy kept once sent has no working link
    assert "http://localhost/reset-password/…" in mail.text
    assert client.get(link_in(message)).status_code == 200
