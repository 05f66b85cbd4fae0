"""Rate-limit counters that every worker process of one instance shares.

Flask-Limiter keeps its counters in a ``limits`` storage. Its default,
``memory://``, lives inside one process: with ``gunicorn -w 4`` each worker
counts on its own, so a limit of 5 lets 20 attempts through, and a respawned
worker starts from zero. Redis (``LMS_RATELIMIT_STORAGE_URI=redis://…``) is the
production choice; without it the counters go to a small SQLite file in the
instance folder, which all workers of the instance open. It is a file of its
own, so counting never waits on the application database's write lock.
"""

from __future__ import annotations

import logging
import os
import shlex
import sqlite3
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from limits.storage import Storage

logger = logging.getLogger(__name__)

SQLITE_SCHEME = "lms+sqlite"
# One atomic statement: start a new window if the old one ran out, else add to it.
# (Every right-hand side sees the row as it was before the update.)
_INCREMENT = (
    "INSERT INTO rate_limits (key, count, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET"
    " count = CASE WHEN expires_at <= ? THEN excluded.count ELSE count + excluded.count END,"
    " expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END"
    " RETURNING count"
)
# Expired counters are swept every so many increments (per process).
SWEEP_EVERY = 500


class SQLiteStorage(Storage):
    """A ``limits`` storage in an SQLite file, for the fixed-window strategy.

    ``lms+sqlite:///relative/path`` or ``lms+sqlite:////absolute/path``. Each
    increment is one atomic upsert, so concurrent processes never lose a hit.
    """

    STORAGE_SCHEME = [SQLITE_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        prefix = SQLITE_SCHEME + ":///"
        if not uri or not uri.startswith(prefix) or uri == prefix:
            raise ValueError(f"expected {prefix}<path to a file>, not {uri!r}")
        self.path = uri[len(prefix) :]
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and process: a connection must not cross a fork.
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            _prepare(connection)
            local.connection, local.pid, local.increments = connection, os.getpid(), 0
        return local.connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter, starting a new window of ``expiry`` s if it ran out."""
        connection = self._connection()
        now = time.time()
        (count,) = connection.execute(_INCREMENT, (key, amount, now + expiry, now, now)).fetchone()
        self._local.increments += 1
        if self._local.increments % SWEEP_EVERY == 0:
            connection.execute("DELETE FROM rate_limits WHERE expires_at <= ?", (now,))
        return count

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute(
                "SELECT count FROM rate_limits WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute(
                "SELECT expires_at FROM rate_limits WHERE key = ? AND expires_at > ?", (key, now)
            )
            .fetchone()
        )
        return row[0] if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM rate_limits WHERE key = ?", (key,))


def _prepare(connection: sqlite3.Connection, patience: float = 5.0) -> None:
    """Switch the file to WAL and create the table, however many processes open it at once.

    Changing the journal mode needs the file to itself, and SQLite answers
    "database is locked" at once, without waiting out the busy timeout, when
    another process is opening or writing the file at that moment. Each step
    is idempotent, so a busy answer is simply tried again for a while.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS rate_limits ("
                " key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)"
            )
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def configured_workers(
    argv: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """Return how many gunicorn workers this process is one of, as far as the command shows."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    args = shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))
    # "gunicorn …" or "python -m gunicorn …" (argv[0] is then gunicorn/__main__.py)
    if argv and "gunicorn" in argv[0]:
        args += argv[1:]
    concurrency = environ.get("WEB_CONCURRENCY", "")
    workers = int(concurrency) if concurrency.isdigit() else 1
    for index, arg in enumerate(args):
        value = None
        if arg in ("-w", "--workers") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-w") and arg != "-w":
            value = arg[2:]
        if value is not None and value.isdigit():
            workers = int(value)
    return workers


def configure(app: Flask) -> None:
    """Choose where the app counts: the configured storage, else the instance's SQLite file.

    ``memory://`` counts per process, so it is refused unless
    ``RATELIMIT_MEMORY_ALLOWED`` says the app runs as one process (tests, a demo);
    even then, a start with several workers is logged as an error.
    """
    uri = app.config.get("RATELIMIT_STORAGE_URI")
    if not uri:
        uri = f"{SQLITE_SCHEME}:///{Path(app.instance_path) / 'ratelimits.sqlite3'}"
        app.config["RATELIMIT_STORAGE_URI"] = uri
    if not uri.startswith("memory://"):
        return
    if not app.config.get("RATELIMIT_MEMORY_ALLOWED"):
        raise RuntimeError(
            "LMS_RATELIMIT_STORAGE_URI=memory:// counts attempts separately in every worker "
            "process, so rate limits would not hold. Point it to Redis, leave it unset (a file "
            "in the instance folder), or set LMS_RATELIMIT_MEMORY_ALLOWED=1 for a single process."
        )
    workers = configured_workers()
    if workers > 1:
        logger.error(
            "rate limits are counted per process (memory://) but %s workers are configured: "
            "each worker allows the full limit; set LMS_RATELIMIT_STORAGE_URI to Redis",
            workers,
        )
    else:
        logger.warning("rate limits are counted in this process only (memory://)")
