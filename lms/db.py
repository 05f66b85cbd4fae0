"""Declarative base, column types and engine tuning shared by every domain."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar, cast

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones; PostgreSQL has ``timestamptz``. Both give back an
    aware datetime in UTC, and naive values are refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def column_length(column: sa.ColumnElement) -> int:
    """Return the declared length of a ``String`` column, e.g. for a form's maximum."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no declared length")
    return length


def affected_rows(result: sa.Result) -> int:
    """Return how many rows an executed UPDATE or DELETE changed.

    ``Session.execute`` is typed to return a plain ``Result``; for these statements it
    is a ``CursorResult``, which has the count.
    """
    return cast(sa.CursorResult, result).rowcount


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# --- SQLite tuning --------------------------------------------------------
# Foreign keys on, WAL, a busy timeout, and write transactions begun IMMEDIATE:
# a DEFERRED read-then-write transaction fails with "database is locked" under
# concurrent workers, an IMMEDIATE one waits for the lock instead. But SQLite has
# one write lock for the whole file: a request that only reads must not take it,
# or a slow one (verifying an uploaded credential) stalls every write of the site.
# So GET, HEAD and OPTIONS requests, and views marked @read_only whatever their
# method, begin plain read transactions and are refused any write; the rare write
# such a request must make (noting a token's use) is declared with
# ``with writing(session):`` and made in its own short IMMEDIATE transaction.

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_ATTRIBUTE = "lms_read_only"

View = TypeVar("View", bound=Callable)


class WriteInReadOnlyRequest(RuntimeError):
    """A request that declared it only reads tried to write: a programming error."""


def read_only(view: View) -> View:
    """Mark a view that never writes, whatever its method (a POST that only verifies).

    Its requests take no write lock on SQLite, and any INSERT, UPDATE or DELETE they
    try raises WriteInReadOnlyRequest, on every engine. Place it under the route
    decorator; views without it keep the write lock for unsafe methods.
    """
    setattr(view, READ_ONLY_ATTRIBUTE, True)
    return view


@contextmanager
def writing(session: sa.orm.Session | sa.orm.scoped_session) -> Iterator[None]:
    """Declare a write in a read-only request; it runs in its own transaction, committed.

    The request's read transaction is ended first: SQLite cannot safely upgrade a read
    transaction to a write one under concurrent writers ("database is locked"), so
    the write begins IMMEDIATE, waiting its turn for the lock, and is committed at once.
    """
    session.commit()
    writing_before = g.get("lms_writing", False) if has_request_context() else False
    if has_request_context():
        g.lms_writing = True
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        if has_request_context():
            g.lms_writing = writing_before


def request_is_read_only() -> bool:
    """Return whether the current request only reads (safe method or @read_only view)."""
    if not has_request_context() or g.get("lms_writing", False):
        return False
    if request.method in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, READ_ONLY_ATTRIBUTE, False)


def request_memo(name: str) -> dict | None:
    """A dict kept for the rest of a request that only reads, or None in any other.

    For answers several parts of a page ask and that cannot change while nothing is
    written (whether the user studies a course, a course's quizzes).
    """
    if not request_is_read_only():
        return None
    return g.setdefault(f"lms_memo_{name}", {})


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _upper(value):
    return value.upper() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not _is_sqlite(dbapi_connection):
        return
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_connection.isolation_level = None
    # SQLite's own lower()/upper() fold ASCII only; use Python's, as PostgreSQL
    # folds every script, so "Иванова" matches "ИВАНОВА" on both engines.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    dbapi_connection.create_function("upper", 1, _upper, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN" if request_is_read_only() else "BEGIN IMMEDIATE")


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_writes_when_read_only(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip()[:7].upper().startswith(_WRITES) and request_is_read_only():
        raise WriteInReadOnlyRequest(
            f"{request.method} {request.path} is read-only but tried: {statement[:80]}"
        )
