"""Fixtures: app, db, client, login_as and factories.

The suite runs on SQLite by default and on PostgreSQL when LMS_TEST_DATABASE_URL
is set. Each test runs inside a transaction that is rolled back; the session
joins it with savepoints, so a view's commit stays inside the test.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
from contextlib import ExitStack
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import settings
from itsdangerous import URLSafeTimedSerializer

from lms import create_app
from lms.extensions import db as _db
from lms.extensions import limiter
from lms.models import Role

TEST_DATABASE_URL = os.environ.get("LMS_TEST_DATABASE_URL")

# Property tests judge outcomes, never time: a shared, loaded machine must not fail
# an example for being slow (performance is measured in bench/, not here).
settings.register_profile("lms", deadline=None)
settings.load_profile("lms")


class Client(FlaskClient):
    """A test client that can produce a valid CSRF token for its own session."""

    def csrf_token(self) -> str:
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def open(self, *args, **kwargs):
        # The test's app context stays pushed, so every request shares one ``g``:
        # forget what the previous request cached there (user, locale, CSRF
        # token), as a real server would.
        from flask import g

        for key in list(g):
            g.pop(key)
        return super().open(*args, **kwargs)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        """POST a form with a valid CSRF token, as a browser would."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-" * 4,
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL or f"sqlite:///{instance / 'test.sqlite3'}",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast; production uses scrypt
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        # One process: counters in memory, emptied before each test.
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_MEMORY_ALLOWED": True,
        # Verification counts are flushed by the tests that check them, never by chance.
        "VERIFICATION_COUNTS_FLUSH_SECONDS": 10**9,
    }
    app = create_app(config)
    app.test_client_class = Client
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        if TEST_DATABASE_URL:
            _db.drop_all()
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture
def app(_app):
    """The application, with every database write of the test rolled back afterwards."""
    with _app.app_context():
        engines = _db.engines
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.dict(
                _db.session.session_factory.kw, {"join_transaction_mode": "create_savepoint"}
            )
        )
        for key, engine in list(engines.items()):
            conn = stack.enter_context(engine.connect())
            stack.callback(conn.begin().rollback)
            stack.enter_context(mock.patch.dict(engines, {key: conn}))
        limiter.reset()
        with _app.app_context():
            yield _app
            _db.session.remove()


@pytest.fixture
def committing_app(_app):
    """The application with real commits, for tests of concurrency; tables are emptied after."""
    with _app.app_context():
        yield _app
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


_counter = itertools.count(1)


@pytest.fixture
def make_user(db):
    """Create a user: ``make_user(roles=[Role.INSTRUCTOR], name=..., password=...)``."""
    from lms.auth.operations import create_user

    def make(*, email=None, name=None, password=None, roles=(Role.TRAINEE,), active=True):
        n = next(_counter)
        user = create_user(
            email=email or f"user{n}@example.org",
            name=name or f"Test User {n}",
            password=password,
            roles=roles,
        )
        user.active = active
        db.session.flush()
        return user

    return make


@pytest.fixture
def login_as(client, make_user):
    """Log the test client in: ``login_as(Role.ADMIN)`` or ``login_as(user)``; returns the user."""

    def login(who, *, password_confirmed=False):
        user = who if not isinstance(who, (Role, str)) else make_user(roles=[Role(who)])
        sign_in(client, user, password_confirmed=password_confirmed)
        return user

    return login


def sign_in(client, user, *, password_confirmed=False) -> None:
    """Log ``client`` in as ``user`` without the log-in form: open a session and set its cookie.

    ``password_confirmed`` makes it a session where the password was just typed.
    """
    from lms.auth import sessions

    # A POST, as the log-in form is: opening a session writes.
    with client.application.test_request_context("/login", method="POST"):
        sessions.start(
            user, address="127.0.0.1", user_agent="pytest", password_confirmed=password_confirmed
        )
    _db.session.commit()  # inside the test's outer transaction
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def count_queries(app):
    """Context manager counting SQL statements: ``with count_queries(app) as counter: ...``."""
    return _QueryCounter(app)


class _QueryCounter:
    def __init__(self, app):
        self.app = app
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            return
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        with self.app.app_context():
            self.engine = _db.engine
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def outbox(app):
    """Read the messages written to the instance outbox during the test."""
    folder = Path(app.instance_path) / "outbox"
    shutil.rmtree(folder, ignore_errors=True)

    def messages():
        paths = sorted(folder.glob("*.eml"))
        return [message_from_bytes(p.read_bytes(), policy=default_policy) for p in paths]

    yield messages
    shutil.rmtree(folder, ignore_errors=True)
