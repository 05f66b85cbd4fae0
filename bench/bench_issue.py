"""Benchmark bulk issuance: N certificates end to end through ``issue_batch``.

Builds a scheme requiring one course and N trainees who completed it with a
passing grade (bulk inserts), then runs the real bulk operation the
``lms certificates issue-batch`` command runs, committing after every chunk:
eligibility, signing the Open Badges credential, rendering and embedding the
PDF, and storing each certificate. Prints the wall-clock and CPU time, the
certificates per second, and the share of the time in each stage.

The run is a single process on one core: the figures per core are the ones to
scale by the number of worker processes.

Run: .venv/bin/python bench/bench_issue.py [--count N] [--chunk-size N]
On PostgreSQL as well: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from lms import create_app
from lms.extensions import db

COMPLETED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def build(app, count: int) -> tuple[int, int]:
    """Insert a course, a scheme requiring it and ``count`` qualified trainees; return ids."""
    from certificates import operations as ops
    from courses.gradebook.models import CourseCompletion
    from courses.models import Course
    from lms.models import User, UserRole

    with app.app_context():
        certifier = User(email="certifier@example.org", name="Цветана Сертификатор")
        db.session.add(certifier)
        db.session.flush()
        db.session.add(UserRole(user_id=certifier.id, role="certifier"))
        course = Course(
            code="SC-PM-101",
            title_en="Smart city project management",
            title_bg="Управление на проекти за умни градове",
            state="published",
        )
        db.session.add(course)
        db.session.flush()
        scheme = ops.create_scheme(
            code="SC-PM",
            actor=None,
            title_en="Smart City Project Manager",
            title_bg="Мениджър на проекти за умни градове",
            validity_months=36,
            eqf_level=5,
            workload_hours=120,
            esco_uris="http://data.europa.eu/esco/skill/1dd23dba-dd00-45ab-abf4-642902538317",
            ecf_codes="E.2 A.4",
        )
        ops.add_requirement(scheme, kind="course", course=course, min_grade=60, actor=None)
        db.session.execute(
            sa.insert(User),
            [
                {"email": f"trainee-{n}@example.org", "name": f"Мария Иванова-Петрова {n:05d}"}
                for n in range(count)
            ],
        )
        ids = list(db.session.scalars(sa.select(User.id).where(User.email.like("trainee-%"))))
        db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": "trainee"} for i in ids])
        db.session.execute(
            sa.insert(CourseCompletion),
            [
                {
                    "user_id": i,
                    "course_id": course.id,
                    "completed": True,
                    "grade": Decimal(60 + i % 40),
                    "completed_at": COMPLETED,
                    "updated_at": COMPLETED,
                }
                for i in ids
            ],
        )
        db.session.commit()
        return scheme.id, certifier.id


@contextmanager
def stage_timers() -> Iterator[dict[str, list[float]]]:
    """Time the stages of issuance by wrapping the functions ``issue_certificate`` calls.

    Each entry holds [wall seconds, CPU seconds, calls]. Only the outermost timed call
    counts (the batch's eligibility list calls the per-trainee functions itself), so
    the stages do not overlap. The wrappers are restored afterwards; their own cost
    is a few microseconds a call.
    """
    from certificates import eligibility, queries
    from certificates import operations as ops
    from certificates.credentials import openbadges

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    patches = [
        (queries, "eligible_ids", "eligibility (batch list)"),
        (queries, "scheme_rules", "eligibility (per trainee)"),
        (queries, "load_records", "eligibility (per trainee)"),
        (eligibility, "evaluate", "eligibility (per trainee)"),
        (openbadges, "issue_credential", "signing (build, schema, sign)"),
        (ops.CertificatePDF, "render", "PDF render"),
        (ops, "embed_credential", "PDF embed credential"),
    ]
    originals = []
    depth = [0]

    def wrap(function: Callable, label: str) -> Callable:
        def timed(*args, **kwargs):
            if depth[0]:
                return function(*args, **kwargs)
            depth[0] += 1
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                entry = totals[label]
                entry[0] += time.perf_counter() - wall
                entry[1] += time.process_time() - cpu
                entry[2] += 1

        return timed

    for owner, name, label in patches:
        original = getattr(owner, name)
        originals.append((owner, name, original))
        setattr(owner, name, wrap(original, label))
    try:
        yield totals
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def run(url: str | None, args) -> None:
    workdir = tempfile.mkdtemp(prefix="bench-issue-")
    database = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    engine_name = database.split(":", 1)[0]
    print(f"== {engine_name}: {args.count} certificates, chunks of {args.chunk_size}")
    start = time.perf_counter()
    scheme_id, certifier_id = build(app, args.count)
    print(f"data built in {time.perf_counter() - start:.1f} s (bulk inserts, not measured)")

    from certificates import operations as ops
    from certificates.models import Certificate, Scheme
    from lms.models import User

    with app.app_context():
        scheme = db.session.get(Scheme, scheme_id)
        certifier = db.session.get(User, certifier_id)
        # The signing key and first status list are made on first use; make them now so
        # the run measures the steady state (both are one-off costs per instance).
        ops.current_status_list()
        db.session.commit()
        with stage_timers() as stages:
            wall, cpu = time.perf_counter(), time.process_time()
            batch = ops.issue_batch(
                scheme,
                certifier,
                chunk_size=args.chunk_size,
                on_chunk=lambda _batch: db.session.commit(),
            )
            db.session.commit()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stored, pdf_bytes = db.session.execute(
            sa.select(sa.func.count(), sa.func.sum(sa.func.length(Certificate.pdf))).where(
                Certificate.batch_id == batch.id
            )
        ).one()
        assert batch.issued == args.count == stored, (batch.issued, batch.skipped, stored)

    rate = batch.issued / wall
    print(f"issued {batch.issued}, skipped {batch.skipped}")
    print(f"total          : {wall:8.1f} s wall clock, {cpu:.1f} s CPU in this process")
    print(f"throughput     : {rate:8.1f} certificates/s ({1000 / rate:.1f} ms each)")
    print(
        f"per core       : {rate:8.1f} certificates/s/core (single process, one core;"
        f" {cpu / wall:.0%} of the wall clock on CPU here; the rest is waiting on the"
        " database server or on other processes of a busy machine)"
    )
    print(f"stored PDFs    : {pdf_bytes / batch.issued / 1024:8.1f} KiB each on average")
    print("share of the wall clock:")
    accounted = 0.0
    for label, (seconds, cpu_seconds, calls) in sorted(
        stages.items(), key=lambda item: -item[1][0]
    ):
        accounted += seconds
        print(
            f"  {label:<30} {seconds:7.2f} s {seconds / wall:6.1%}"
            f"  ({seconds / batch.issued * 1000:6.2f} ms a certificate,"
            f" {calls} calls, {cpu_seconds:.2f} s CPU)"
        )
    rest = wall - accounted
    print(
        f"  {'the rest':<30} {rest:7.2f} s {rest / wall:6.1%}"
        f"  ({rest / batch.issued * 1000:6.2f} ms a certificate: queries, snapshot,"
        " status index, storing, audit, commits)"
    )
    with app.app_context():
        db.session.remove()
        if url:
            db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="certificates (default 1000)")
    parser.add_argument(
        "--chunk-size", type=int, default=25, help="commit every N (default 25, as the command)"
    )
    args = parser.parse_args()
    run(None, args)
    if os.environ.get("LMS_BENCH_DATABASE_URL"):
        run(os.environ["LMS_BENCH_DATABASE_URL"], args)


if __name__ == "__main__":
    main()
