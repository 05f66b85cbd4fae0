"""How often each scheme's certificates are verified, by month; never who verified.

A verification is public and must stay about as fast as a page that reads nothing:
on SQLite a GET request begins a plain read transaction and may not write (see
``lms.db``). So a check is not written when it happens. Each process counts in
memory (certificate code and month → count, under a lock) and adds its counts to
``verification_counts`` (scheme, month, count; one row per scheme and month) in
one short transaction of its own:

* when a check is recorded and ``VERIFICATION_COUNTS_FLUSH_SECONDS`` (default 60)
  have passed since the process last flushed: that one request pays one small
  upsert, made with ``writing()`` on a connection of its own, so the request's own
  transaction stays a read; every other check costs a dictionary update;
* when the process exits (``atexit``; gunicorn workers exit through it).

Trade-off: a process killed without exiting cleanly loses at most the counts of its
last interval, and an idle process holds its last counts until its next check or
its exit, so the table may lag the truth by up to the interval. A periodic job
cannot do better: a job runs in a worker process, whose memory holds none of the
web processes' counts. In exchange the check itself never waits for the write lock
or writes a row.

Flushing is additive and safe to repeat: the counts are taken out of memory before
they are written (put back if the write fails), and each row is upserted by adding,
so flushes of the same month, from one process or many, add up. Only checks of a
certificate in the register are counted (an unknown code, an unreadable file or a
refused request is not; an uploaded credential counts when it names a certificate of
the register, whether or not it verifies); the code is held in memory only until the flush turns it
into its scheme. No address, user, code or time finer than the month is stored.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.db import utcnow, writing
from lms.extensions import Model, db

logger = logging.getLogger(__name__)

#: Seconds between flushes of a process's counts, unless configured.
DEFAULT_FLUSH_SECONDS = 60
SETTING = "VERIFICATION_COUNTS_FLUSH_SECONDS"
_EXTENSION = "verification_counts"
_AT_EXIT = "verification_counts_at_exit"


class VerificationCount(Model):
    """How many times certificates of a scheme were verified in a month."""

    __tablename__ = "verification_counts"

    scheme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True
    )
    #: The first day of the month (UTC).
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=0)

    def __repr__(self) -> str:
        return f"<VerificationCount {self.scheme_id} {self.month:%Y-%m} {self.count}>"


def month_start(moment: date | None = None) -> date:
    """Return the first day of the month of ``moment`` (now, UTC, by default)."""
    moment = moment or utcnow()
    return date(moment.year, moment.month, 1)


class Tally:
    """One process's counts not yet written, safe to update from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, date]] = Counter()
        self.last_flush = time.monotonic()

    def add(self, codes: Iterable[str], month: date) -> None:
        with self._lock:
            for code in codes:
                self._counts[(code, month)] += 1

    def due(self, interval: float) -> bool:
        """Return True once per ``interval``: the caller then flushes."""
        with self._lock:
            if not self._counts or time.monotonic() - self.last_flush < interval:
                return False
            self.last_flush = time.monotonic()
            return True

    def take(self) -> Counter[tuple[str, date]]:
        """Return the counts and forget them (a second take returns nothing)."""
        with self._lock:
            taken, self._counts = self._counts, Counter()
            self.last_flush = time.monotonic()
            return taken

    def give_back(self, counts: Counter[tuple[str, date]]) -> None:
        with self._lock:
            self._counts.update(counts)

    def pending(self) -> dict[tuple[str, date], int]:
        with self._lock:
            return dict(self._counts)


def tally(app: Flask | None = None) -> Tally:
    """Return the application's tally, made (with its flush at exit) on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's app
    found = app.extensions.get(_EXTENSION)
    if found is None:
        found = app.extensions[_EXTENSION] = Tally()
        if not app.extensions.get(_AT_EXIT):
            app.extensions[_AT_EXIT] = True
            atexit.register(_flush_at_exit, app)
    return found


def record(*reports) -> None:
    """Count one check of each report's certificate; reports without one are not counted."""
    codes = [report.code for report in reports if getattr(report, "code", None)]
    if not codes:
        return
    counts = tally()
    counts.add(codes, month_start())
    interval = float(current_app.config.get(SETTING, DEFAULT_FLUSH_SECONDS))
    if counts.due(interval):
        flush()


def flush() -> int:
    """Add this process's counts to the table in a transaction of its own; return how many.

    Counts whose certificate is no longer in the register are dropped. On failure the
    counts are kept for the next flush and 0 is returned.
    """
    counts = tally()
    taken = counts.take()
    if not taken:
        return 0
    try:
        written = _write(taken)
    except Exception:
        counts.give_back(taken)
        logger.exception("verification counts not written; kept for the next flush")
        return 0
    logger.info("verification counts flushed: %s checks", written)
    return written


def _write(taken: Counter[tuple[str, date]]) -> int:
    from certificates.models import Certificate

    session = Session(bind=db.engine)
    try:
        with writing(session):
            schemes = dict(
                session.execute(
                    sa.select(Certificate.code, Certificate.scheme_id).where(
                        Certificate.code.in_(sorted({code for code, _month in taken}))
                    )
                ).all()
            )
            by_scheme: Counter[tuple[int, date]] = Counter()
            for (code, month), number in taken.items():
                if code in schemes:
                    by_scheme[(schemes[code], month)] += number
            if by_scheme:
                session.execute(_upsert(session, by_scheme))
    finally:
        session.close()
    return sum(by_scheme.values())


def _upsert(session: Session, by_scheme: Counter[tuple[int, date]]):
    """Return an INSERT that adds each count to its (scheme, month) row, made if missing."""
    # Both dialects spell the upsert alike: INSERT ... ON CONFLICT DO UPDATE.
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = cast(sa.Table, VerificationCount.__table__)
    statement = dialect.insert(table).values(
        [
            {"scheme_id": scheme_id, "month": month, "count": number}
            for (scheme_id, month), number in sorted(by_scheme.items())
        ]
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.scheme_id, table.c.month],
        set_={"count": table.c.count + statement.excluded.count},
    )


def _flush_at_exit(app: Flask) -> None:
    if not app.extensions.get(_EXTENSION) or not app.extensions[_EXTENSION].pending():
        return
    try:
        with app.app_context():
            flush()
    except Exception:  # the process is ending: log, never raise
        logger.exception("verification counts not written at exit")
