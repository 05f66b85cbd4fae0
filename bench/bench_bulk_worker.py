"""Benchmark bulk issuance through a Celery worker against the same run in-process.

Builds N qualified trainees (as ``bench_issue.py`` does) twice: once issued
in this process by ``issue_batch`` committing per chunk (what ``lms
certificates issue-batch`` does), once by the bulk job on one ``lms worker``
process (solo pool) with Redis as broker. Both include what issuance now
triggers: a notification and an e-mail (to the instance outbox) per
certificate; on the worker the e-mails are jobs of their own, counted until
the last is sent. Prints certificates per second of wall time and per CPU
second of the issuing process, and the ratio worker / in-process: the worker
must issue at least as many certificates per second per core.

Run: .venv/bin/python bench/bench_bulk_worker.py [--count N] [--chunk-size N]
Redis: LMS_BENCH_REDIS_URL (default redis://127.0.0.1:6379/4, emptied first).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import sqlalchemy as sa

from lms import create_app
from lms.extensions import db

REDIS_URL = os.environ.get("LMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
SECRET = "bench-bulk-worker-secret-key-0123456789"  # noqa: S105 - a throwaway instance
_spec = importlib.util.spec_from_file_location(
    "bench_issue", Path(__file__).with_name("bench_issue.py")
)
bench_issue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_issue)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_app(folder: Path, broker: str | None):
    config = {
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(folder),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": broker,
        "BASE_URL": "http://localhost",
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app, config


def in_process(count: int, chunk: int) -> tuple[float, float]:
    from certificates import operations as ops
    from certificates.models import Scheme
    from lms.models import User

    with tempfile.TemporaryDirectory() as tmp:
        app, _config = make_app(Path(tmp), None)
        scheme_id, certifier_id = bench_issue.build(app, count)
        with app.app_context():
            scheme, actor = db.session.get(Scheme, scheme_id), db.session.get(User, certifier_id)
            wall, cpu = time.perf_counter(), time.process_time()
            batch = ops.issue_batch(
                scheme, actor, chunk_size=chunk, on_chunk=lambda _b: db.session.commit()
            )
            db.session.commit()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert batch.issued == count, batch
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    return wall, cpu


def on_worker(count: int, chunk: int) -> tuple[float, float]:
    from certificates.bulk import operations as bulk_ops
    from certificates.bulk.models import BulkIssueJob
    from certificates.models import Scheme
    from lms.models import User
    from notifications.models import OutgoingMail

    redis.Redis.from_url(REDIS_URL).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app, config = make_app(folder, REDIS_URL)
        scheme_id, certifier_id = bench_issue.build(app, count)
        env = {**os.environ, "LMS_INSTANCE_PATH": tmp}
        env.update({f"LMS_{k}": str(v) for k, v in config.items() if k != "INSTANCE_PATH"})
        env["LMS_BULK_ISSUE_CHUNK_SIZE"] = str(chunk)
        log = open(folder / "worker.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(  # noqa: S603 - our own command
            [
                str(Path(sys.executable).with_name("lms")),
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            time.sleep(3)  # let it connect before the clock starts
            idle = cpu_seconds(worker.pid)
            with app.app_context():
                wall = time.perf_counter()
                scheme = db.session.get(Scheme, scheme_id)
                job = bulk_ops.start(scheme, actor=db.session.get(User, certifier_id))
                job_id = job.id
                db.session.commit()
                while True:
                    with app.test_request_context("/"):  # a read: no SQLite write lock
                        db.session.rollback()
                        state = db.session.get(BulkIssueJob, job_id).state
                        unsent = db.session.scalar(
                            sa.select(sa.func.count()).where(OutgoingMail.sent_at.is_(None))
                        )
                        mails = db.session.scalar(sa.select(sa.func.count(OutgoingMail.id)))
                        db.session.rollback()
                    if state != "running" and mails == count and not unsent:
                        break
                    time.sleep(0.2)
                wall = time.perf_counter() - wall
                cpu = cpu_seconds(worker.pid) - idle
                assert state == "finished", state
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.close()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--chunk-size", type=int, default=25)
    args = parser.parse_args()
    here_wall, here_cpu = in_process(args.count, args.chunk_size)
    worker_wall, worker_cpu = on_worker(args.count, args.chunk_size)
    print(f"{args.count} certificates, chunks of {args.chunk_size}, SQLite")
    print(f"{'':12} {'wall s':>8} {'cert/s':>8} {'CPU s':>8} {'cert/s/core':>12}")
    for label, wall, cpu in (
        ("in-process", here_wall, here_cpu),
        ("worker", worker_wall, worker_cpu),
    ):
        print(
            f"{label:12} {wall:8.1f} {args.count / wall:8.1f} {cpu:8.1f} {args.count / cpu:12.1f}"
        )
    ratio = (args.count / worker_cpu) / (args.count / here_cpu)
    print(f"worker / in-process, certificates per CPU second: {ratio:.2f}")


if __name__ == "__main__":
    main()
