"""Admin pages for users and roles."""

from __future__ import annotations

import re
import shutil
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.models import AuditLog, Role, User
from tests.conftest import count_queries

PASSWORD = "correct horse battery"


@pytest.fixture
def outbox(app):
    """Read the messages written to the instance outbox during the test."""
    folder = Path(app.instance_path) / "outbox"
    shutil.rmtree(folder, ignore_errors=True)
    yield lambda: [
        message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in sorted(folder.glob("*.eml"))
    ]
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def admin(login_as, make_user):
    return login_as(make_user(name="Admin Person", roles=[Role.ADMIN], password=PASSWORD))


def user_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def actions(db, user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.object_type == "User", AuditLog.object_id == str(user.id))
            .order_by(AuditLog.id)
        )
    )


def names_listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/admin/users/\d+">([^<]*)</a></td>', html)


# --- the list ----------------------------------------------------------------


def test_list_shows_users_with_roles_and_state(client, make_user, admin):
    make_user(name="Bistra Trainee", email="bistra@example.org")
    make_user(name="Closed Account", active=False)
    html = client.get("/admin/users").get_data(as_text=True)
    assert {"Bistra Trainee", "Closed Account", "Admin Person"} <= set(names_listed(html))
    assert "bistra@example.org" in html
    assert "Deactivated" in html
    assert "Administrator" in html


def test_list_escapes_names(client, make_user, admin):
    make_user(name='<script>alert("x")</script> & Co')
    html = client.get("/admin/users").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_search_by_name_and_email(client, make_user, admin):
    make_user(name="Иван Петров", email="ivan@example.org")
    make_user(name="Maria Dimitrova", email="md@city.example")
    make_user(name="100% Sure_Name", email="pct@example.org")
    assert names_listed(client.get("/admin/users?q=Петров").get_data(as_text=True)) == [
        "Иван Петров"
    ]
    assert names_listed(client.get("/admin/users?q=CITY.example").get_data(as_text=True)) == [
        "Maria Dimitrova"
    ]
    # LIKE wildcards in the search are taken literally.
    assert names_listed(client.get("/admin/users?q=0%25 S").get_data(as_text=True)) == [
        "100% Sure_Name"
    ]
    assert names_listed(client.get("/admin/users?q=_").get_data(as_text=True)) == ["100% Sure_Name"]


def test_filter_by_role_and_state(client, make_user, admin):
    make_user(name="Ina Instructor", roles=[Role.INSTRUCTOR])
    make_user(name="Cveta Certifier", roles=[Role.CERTIFIER, Role.INSTRUCTOR], active=False)
    make_user(name="Tina Trainee")
    listed = names_listed(client.get("/admin/users?role=instructor").get_data(as_text=True))
    assert listed == ["Cveta Certifier", "Ina Instructor"]
    listed = names_listed(
        client.get("/admin/users?role=instructor&status=active").get_data(as_text=True)
    )
    assert listed == ["Ina Instructor"]
    listed = names_listed(client.get("/admin/users?status=inactive").get_data(as_text=True))
    assert listed == ["Cveta Certifier"]


def test_unknown_filter_values_are_ignored(client, admin):
    response = client.get("/admin/users?role=wizard&status=maybe&page=abc")
    assert response.status_code == 200
    assert "Admin Person" in names_listed(response.get_data(as_text=True))


def test_list_is_paginated_and_keeps_the_filters(app, client, make_user, admin, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(5):
        make_user(name=f"Paged {n}", roles=[Role.EMPLOYER])
    first = client.get("/admin/users?role=employer").get_data(as_text=True)
    assert names_listed(first) == ["Paged 0", "Paged 1"]
    assert "/admin/users?page=2&amp;role=employer" in first
    third = client.get("/admin/users?role=employer&page=3").get_data(as_text=True)
    assert names_listed(third) == ["Paged 4"]


def test_list_uses_a_fixed_number_of_queries(app, client, make_user, admin):
    def queries_for_page() -> int:
        with count_queries(app) as counter:
            assert client.get("/admin/users").status_code == 200
        return counter.count

    make_user(roles=[Role.TRAINEE, Role.INSTRUCTOR])
    few = queries_for_page()
    for _ in range(15):
        make_user(roles=[Role.TRAINEE, Role.CERTIFIER])
    assert queries_for_page() == few
    assert few <= 6


# --- creating users ----------------------------------------------------------


def test_create_user_with_password_and_roles(client, db, admin, outbox):
    response = client.post_form(
        "/admin/users/new",
        {
            "name": "Нова Инструкторка",
            "email": "Nova@Example.org",
            "roles": ["instructor", "certifier"],
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "nova@example.org"))
    assert response.headers["Location"] == f"/admin/users/{user.id}"
    assert user.roles == {Role.INSTRUCTOR, Role.CERTIFIER}
    assert user.check_password(PASSWORD)
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.object_id == str(user.id)))
    assert entry.action == "user.create"
    assert entry.actor_id == admin.id
    assert outbox() == []


def test_create_user_without_password_mails_a_link_to_set_one(app, client, db, admin, outbox):
    response = client.post_form(
        "/admin/users/new",
        {"name": "Invited Person", "email": "invited@example.org", "roles": ["employer"]},
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "invited@example.org"))
    assert user.password_hash is None
    [message] = outbox()
    assert message["To"] == "invited@example.org"
    assert "Your account" in message["Subject"]
    path = re.search(r"http://localhost(/reset-password/\S+)", message.get_content()).group(1)

    newcomer = app.test_client()
    assert newcomer.get(path).status_code == 200
    response = newcomer.post_form(
        path, {"password": "my own password", "confirm": "my own password"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("my own password")
    assert newcomer.get(path).status_code == 400  # used once


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "EXISTING@example.org"}, "An account with this e-mail address already exists."),
        ({"roles": []}, "Choose at least one role."),
        ({"roles": ["wizard"]}, "is not a valid choice"),
        ({"name": ""}, "Please enter your name."),
        ({"name": "x" * 201}, "At most 200 characters."),
        ({"email": "nope"}, "This is not a valid e-mail address."),
        ({"password": "short"}, "Between 10 and 128 characters."),
    ],
)
def test_create_user_bad_input_changes_nothing(
    client, db, make_user, admin, outbox, fields, message
):
    make_user(email="existing@example.org")
    before = user_count(db)
    data = {"name": "Someone", "email": "someone@example.org", "roles": ["trainee"]}
    data.update(fields)
    response = client.post_form("/admin/users/new", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert user_count(db) == before
    assert outbox() == []


# --- editing users -----------------------------------------------------------


def checked_roles(html: str) -> set[str]:
    boxes = re.findall(r'<input[^>]*name="roles"[^>]*>', html)
    return {re.search(r'value="(\w+)"', box).group(1) for box in boxes if " checked" in box}


def test_edit_page_shows_the_user(client, make_user, admin):
    user = make_user(name="Edit Me", roles=[Role.TRAINEE, Role.EMPLOYER])
    html = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Edit Me" in html
    assert user.email in html
    assert checked_roles(html) == {"trainee", "employer"}
    assert len(re.findall(r'name="roles"', html)) == len(Role)


def test_edit_changes_name_email_roles_and_state(app, client, db, make_user, admin):
    user = make_user(name="Before", email="before@example.org", password=PASSWORD)
    db.session.commit()
    victim = app.test_client()
    victim.post_form("/login", {"email": "before@example.org", "password": PASSWORD})
    assert victim.get("/account").status_code == 200

    response = client.post_form(
        f"/admin/users/{user.id}",
        {"name": "After", "email": "After@Example.org", "roles": ["instructor", "admin"]},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.email, user.active) == ("After", "after@example.org", False)
    assert user.roles == {Role.INSTRUCTOR, Role.ADMIN}
    assert actions(db, user)[-3:] == ["user.update", "user.set_roles", "user.deactivate"]
    role_entry = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "user.set_roles", AuditLog.object_id == str(user.id)
        )
    )
    assert role_entry.actor_id == admin.id
    assert role_entry.data == {"added": ["admin", "instructor"], "removed": ["trainee"]}
    assert victim.get("/account").status_code == 302  # deactivated: the session is over

    response = client.post_form(
        f"/admin/users/{user.id}",
        {"name": "After", "email": "after@example.org", "roles": ["instructor"], "active": "y"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.active
    assert actions(db, user)[-2:] == ["user.set_roles", "user.reactivate"]


def test_saving_without_changes_writes_no_audit_rows(client, db, make_user, admin):
    user = make_user(name="Same", email="same@example.org")
    before = actions(db, user)
    response = client.post_form(
        f"/admin/users/{user.id}",
        {"name": "Same", "email": "same@example.org", "roles": ["trainee"], "active": "y"},
    )
    assert response.status_code == 302
    assert actions(db, user) == before


def test_admin_cannot_remove_their_own_admin_role(client, db, admin):
    response = client.post_form(
        f"/admin/users/{admin.id}",
        {"name": "Admin Person", "email": admin.email, "roles": ["trainee"], "active": "y"},
    )
    assert response.status_code == 200
    assert "You cannot remove your own admin role." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.roles == {Role.ADMIN}


def test_admin_cannot_deactivate_themselves(client, db, admin):
    response = client.post_form(
        f"/admin/users/{admin.id}",
        {"name": "Renamed", "email": admin.email, "roles": ["admin"]},
    )
    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active
    assert admin.name == "Admin Person"


def test_self_protection_holds_in_the_operations_too(db, make_user):
    from lms.auth import operations as ops

    boss = make_user(roles=[Role.ADMIN])
    with pytest.raises(ops.AccountError, match="own admin role"):
        ops.set_roles(boss, [Role.TRAINEE], actor=boss)
    with pytest.raises(ops.AccountError, match="deactivate your own"):
        ops.deactivate(boss, actor=boss)
    assert boss.roles == {Role.ADMIN}
    assert boss.active


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "TAKEN@example.org"}, "An account with this e-mail address already exists."),
        ({"roles": []}, "Choose at least one role."),
        ({"name": "  "}, "Please enter your name."),
        ({"email": "x" * 250 + "@example.org"}, "At most 254 characters."),
    ],
)
def test_edit_bad_input_changes_nothing(client, db, make_user, admin, fields, message):
    make_user(email="taken@example.org")
    user = make_user(name="Stays", email="stays@example.org", roles=[Role.EMPLOYER])
    audit_before = actions(db, user)
    data = {"name": "Changed", "email": "changed@example.org", "roles": ["trainee"]}
    data.update(fields)
    response = client.post_form(f"/admin/users/{user.id}", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert (user.name, user.email, user.active) == ("Stays", "stays@example.org", True)
    assert user.roles == {Role.EMPLOYER}
    assert actions(db, user) == audit_before


def test_edit_of_a_missing_user_is_404(client, admin):
    assert client.get("/admin/users/999999").status_code == 404


def test_admin_can_mail_a_password_link(client, db, make_user, admin, outbox):
    user = make_user(email="forgetful@example.org", password=PASSWORD)
    response = client.post_form(f"/admin/users/{user.id}/password-link")
    assert response.status_code == 302
    [message] = outbox()
    assert message["To"] == "forgetful@example.org"
    assert "/reset-password/" in message.get_content()


def test_no_password_link_for_a_deactivated_account(client, make_user, admin, outbox):
    user = make_user(active=False)
    response = client.post_form(f"/admin/users/{user.id}/password-link")
    assert response.status_code == 302
    assert outbox() == []
