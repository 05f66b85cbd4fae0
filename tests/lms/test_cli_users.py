"""``lms users create``."""

from __future__ import annotations

import json

import sqlalchemy as sa

from lms.models import AuditLog, Role, User

PASSWORD = "correct horse battery"


def create(app, *args, password=PASSWORD):
    return app.test_cli_runner().invoke(
        args=["users", "create", *args, "--password-stdin"], input=password + "\n"
    )


def test_create_user_with_several_roles(app, db):
    result = create(
        app,
        "--email",
        "Cli.User@Example.org",
        "--name",
        "Иван CLI",
        "--role",
        "instructor",
        "--role",
        "certifier",
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["email"] == "cli.user@example.org"
    assert printed["roles"] == ["certifier", "instructor"]
    user = db.session.get(User, printed["id"])
    assert user.name == "Иван CLI"
    assert user.roles == {Role.INSTRUCTOR, Role.CERTIFIER}
    assert user.check_password(PASSWORD)
    assert (
        db.session.scalar(sa.select(AuditLog.action).where(AuditLog.object_id == str(user.id)))
        == "user.create"
    )


def test_default_role_is_trainee(app, db):
    result = create(app, "--email", "plain@example.org", "--name", "Plain")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["roles"] == ["trainee"]


def count_users(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_duplicate_email_in_another_case_is_a_clear_error(app, db, make_user):
    make_user(email="taken@example.org")
    db.session.commit()
    before = count_users(db)
    result = create(app, "--email", "TAKEN@Example.ORG", "--name", "Second")
    assert result.exit_code != 0
    assert "An account with the e-mail address taken@example.org already exists." in result.output
    assert count_users(db) == before


def test_short_password_is_refused(app, db):
    before = count_users(db)
    result = create(app, "--email", "short@example.org", "--name", "Short", password="short")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert count_users(db) == before


def test_unknown_role_is_refused(app, db):
    before = count_users(db)
    result = create(app, "--email", "r@example.org", "--name", "R", "--role", "wizard")
    assert result.exit_code != 0
    assert "wizard" in result.output
    assert count_users(db) == before
