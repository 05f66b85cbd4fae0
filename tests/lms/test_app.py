"""The application factory, configuration and database engine settings."""

import pytest
import sqlalchemy as sa

from lms import create_app
from lms.extensions import db


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 64


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_SECRET_KEY", "from-the-environment" * 2)
    monkeypatch.setenv("LMS_BASE_URL", "https://lms.example.org")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.secret_key == "from-the-environment" * 2
    assert not (tmp_path / "secret_key").exists()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'lms.sqlite3'}"


def test_sqlite_connections_are_tuned(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        db.engine.dispose()


def test_health(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_audit_log_is_append_only(app, db, make_user):
    from lms.models import AuditLog

    make_user()
    entry = db.session.scalars(sa.select(AuditLog)).first()
    assert entry.action == "user.create"
    entry.action = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()


def test_lower_folds_every_script_on_every_engine(app, db):
    assert db.session.execute(sa.text("SELECT lower('ИВАНОВА Émile')")).scalar() == "иванова émile"


def test_proxy_fix_gives_the_client_address(tmp_path):
    from flask import request

    app = create_app({"INSTANCE_PATH": str(tmp_path), "PROXY_FIX": 1})

    @app.get("/whoami")
    def whoami():
        return request.remote_addr or ""

    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.text == "203.0.113.9"
