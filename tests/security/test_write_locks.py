"""Write locks where writes are: requests that only read never take the write lock.

SQLite has one write lock for the whole file, so a request that begins
``BEGIN IMMEDIATE`` without writing stalls every writer of the site. Requests with
a safe method, and views marked ``@read_only`` whatever their method, begin plain
read transactions; an undeclared write there is refused; a declared write
(``with writing(session):``) runs in its own short transaction, committed at once.
Issuance, the slowest writer, is held to the same in tests/certificates.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from flask import g

from lms.auth.operations import create_user
from lms.db import WriteInReadOnlyRequest, writing
from lms.extensions import db as _db
from lms.models import Role, User
from tests.conftest import sign_in
from tests.security.test_headers import _argument_free_get_routes

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")


class Undeclared:
    """Collect the writes (and SQLite write-lock begins) made outside ``writing()``."""

    def __init__(self, engine):
        self.engine = engine
        self.found: list[str] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES) and not g.get("lms_writing", False):
            self.found.append(statement.strip()[:80])

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._on_execute)


def another_connection_can_write() -> bool:
    """Return whether a second connection could take the write lock (or the row) right now."""
    engine = _db.engine
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            other.close()
    with engine.connect() as other:
        try:
            other.execute(sa.select(User.id).with_for_update(nowait=True)).all()
            return True
        except sa.exc.OperationalError:
            return False
        finally:
            other.rollback()


def test_an_undeclared_write_in_a_read_only_request_is_refused(app, db, make_user):
    user = make_user(name="Before")
    db.session.commit()
    with app.test_request_context("/courses", method="GET"):
        with pytest.raises(WriteInReadOnlyRequest):
            db.session.execute(sa.update(User).where(User.id == user.id).values(name="Sneaked"))
        db.session.rollback()
        with writing(db.session):
            db.session.execute(sa.update(User).where(User.id == user.id).values(name="Declared"))
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "Declared"


def test_a_read_holds_no_lock_and_a_declared_write_holds_it_only_inside(committing_app):
    user = create_user(email="locks@example.org", name="Before", password=None)
    _db.session.flush()
    user_id = user.id  # read before the commit: reading it after would begin a transaction
    _db.session.commit()
    with committing_app.test_request_context("/courses", method="GET"):
        assert _db.session.get(User, user_id).name == "Before"  # a read transaction is open
        assert another_connection_can_write()
        with writing(_db.session):
            _db.session.execute(sa.update(User).where(User.id == user_id).values(name="After"))
            assert not another_connection_can_write()  # the declared write holds the lock
        assert another_connection_can_write()  # ...only until it commits, at once
        with _db.engine.connect() as other:
            assert other.scalar(sa.select(User.name).where(User.id == user_id)) == "After"


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: getattr(r, "value", "anonymous"))
def test_no_page_takes_the_write_lock_or_writes(committing_app, role):
    client = committing_app.test_client()
    if role is not None:
        user = create_user(
            email=f"crawler-{role.value}@example.org", name="Crawler", password=None, roles=[role]
        )
        _db.session.commit()
        sign_in(client, user)
    routes = _argument_free_get_routes(committing_app)
    with Undeclared(_db.engine) as undeclared:
        for url in routes:
            response = client.get(url)
            assert response.status_code < 500, url
    assert undeclared.found == []


def test_choosing_the_language_already_chosen_takes_no_write_lock(committing_app):
    user = create_user(email="polyglot@example.org", name="Poly", password=None)
    user.locale = "bg"
    _db.session.commit()
    client = committing_app.test_client()
    sign_in(client, user)
    with Undeclared(_db.engine) as undeclared:
        response = client.post_form("/language", {"language": "bg", "next": "/"})
        assert response.status_code == 302
        # Another language is a write, made in its own declared transaction.
        response = client.post_form("/language", {"language": "en", "next": "/"})
        assert response.status_code == 302
    assert undeclared.found == []
    _db.session.expire_all()
    assert _db.session.get(User, user.id).locale == "en"
