"""Benchmark how long issuance holds SQLite's write lock, against the work it does.

Issues N certificates through ``issue_batch`` on a fresh SQLite file (the data is
built by ``bench_issue.build``) and measures, on the engine, the time between each
``BEGIN IMMEDIATE`` and its commit or rollback: the time every other writer of the
site would wait. Beside it, the time spent signing the credential and rendering and
signing the PDF (``operations.issuance._make``), which runs with no transaction open.

Prints both per certificate and the share of issuance that holds the lock; before
the credential and PDF were made outside the transaction, the lock was held across
both (the sum of the two figures).

Run: .venv/bin/python bench/bench_issue_locks.py [--count N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_issue import build

from lms import create_app, pdfsign
from lms.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-locks-")
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench-secret-" * 4,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
        }
    )
    with app.app_context():
        db.create_all()
    scheme_id, certifier_id = build(app, args.count)

    from certificates import operations as ops
    from certificates.models import Scheme
    from certificates.operations import issuance
    from lms.models import User

    # Wall clock and CPU time of this process: on a busy machine the CPU time is the
    # steadier figure (the wall clock includes waiting for a core).
    held = {"seconds": 0.0, "cpu": 0.0, "transactions": 0}
    opened: dict[int, tuple[float, float]] = {}
    slow = {"seconds": 0.0, "cpu": 0.0}

    def on_begin(conn):
        opened[id(conn)] = (time.perf_counter(), time.process_time())

    def on_end(conn):
        started = opened.pop(id(conn), None)
        if started is not None:
            held["seconds"] += time.perf_counter() - started[0]
            held["cpu"] += time.process_time() - started[1]
            held["transactions"] += 1

    real_make = issuance._make

    def timed_make(draft):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return real_make(draft)
        finally:
            slow["seconds"] += time.perf_counter() - started
            slow["cpu"] += time.process_time() - cpu

    with app.app_context():
        scheme = db.session.get(Scheme, scheme_id)
        certifier = db.session.get(User, certifier_id)
        ops.current_status_list()
        pdfsign.current_identity()
        db.session.commit()
        engine = db.engine
        # Registered after lms.db's own "begin" listener, so timing starts once
        # BEGIN IMMEDIATE has the lock.
        sa.event.listen(engine, "begin", on_begin)
        sa.event.listen(engine, "commit", on_end)
        sa.event.listen(engine, "rollback", on_end)
        issuance._make = timed_make
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            batch = ops.issue_batch(
                scheme, certifier, chunk_size=25, on_chunk=lambda _b: db.session.commit()
            )
            db.session.commit()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            issuance._make = real_make
            for name, listener in (("begin", on_begin), ("commit", on_end), ("rollback", on_end)):
                sa.event.remove(engine, name, listener)
        issued = batch.issued
        db.session.remove()
        engine.dispose()

    per = 1000 / issued
    print(f"== sqlite: {issued} certificates through issue_batch")
    for label, total, lock, outside in (
        ("wall clock", wall, held["seconds"], slow["seconds"]),
        ("CPU time", cpu, held["cpu"], slow["cpu"]),
    ):
        lock_ms, slow_ms, all_ms = lock * per, outside * per, total * per
        print(f"-- {label}, per certificate")
        print(f"write lock held        : {lock_ms:7.2f} ms ({held['transactions']} transactions)")
        print(f"signing and rendering  : {slow_ms:7.2f} ms, with no transaction open")
        print(f"issuance, all of it    : {all_ms:7.2f} ms")
        print(
            f"ratio                  : the lock is held {lock_ms / all_ms:.0%} of issuance;"
            f" across signing and rendering too it would be held"
            f" {(lock_ms + slow_ms) / lock_ms:.1f} times as long"
        )


if __name__ == "__main__":
    main()
