"""Benchmark bulk issuance: N certificates end to end through ``issue_batch``.

Builds a scheme requiring one course and N trainees who completed it with a
passing grade (bulk inserts), then runs the real bulk operation the
``lms certificates issue-batch`` command runs, committing after every chunk:
eligibility, signing the Open Badges credential, rendering and embedding the
PDF, signing the PDF (PAdES), and storing each certificate. Prints the
wall-clock and CPU time, the certificates per second, and the share of the
time in each stage.

It runs twice, without and with the PDF signature (the first run replaces the
signing step with a pass-through), and prints the certificates per second per
core of both and their ratio: signing must add at most 30 % to issuance. The
ratio is taken on the CPU time of this process, which a busy machine or a
database server disturbs less than the wall clock.

The run is a single process on one core: the figures per core are the ones to
scale by the number of worker processes.

Then it issues certificates one by one onto an empty status list and onto one that
already holds 60,000 entries, and prints the median time of each and their ratio:
issuance does not depend on the size of the list (target: at most 1.05).

Run: .venv/bin/python bench/bench_issue.py [--count N] [--chunk-size N] [--growth N]
On PostgreSQL as well: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import sqlalchemy as sa

from lms import create_app, jobs, pdfsign
from lms.extensions import db
from lms.storage import storage

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
    from certificates.credentials import openbadges
    from certificates.operations import issuance

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    patches = [
        (queries, "eligible_ids", "eligibility (batch list)"),
        (queries, "scheme_rules", "eligibility (per trainee)"),
        (queries, "load_records", "eligibility (per trainee)"),
        (eligibility, "evaluate", "eligibility (per trainee)"),
        (openbadges, "issue_credential", "signing (build, schema, sign)"),
        (issuance.CertificatePDF, "render", "PDF render"),
        (issuance, "embed_credential", "PDF embed credential"),
        (issuance, "sign_pdf", "PDF signature (PAdES)"),
        # Without a broker (as here) the holder's e-mail is sent in this process; with
        # one, a worker sends it.
        (jobs, "enqueue", "jobs run in-process (e-mail)"),
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


def run(url: str | None, args, *, sign: bool = True) -> tuple[float, float]:
    """Issue ``args.count`` certificates; return the wall-clock and CPU seconds taken."""
    workdir = tempfile.mkdtemp(prefix="bench-issue-")
    database = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench-secret-" * 4,
            "SQLALCHEMY_DATABASE_URI": database,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    engine_name = database.split(":", 1)[0]
    signing = "with" if sign else "without"
    print(
        f"== {engine_name}: {args.count} certificates, chunks of {args.chunk_size},"
        f" {signing} the PDF signature"
    )
    start = time.perf_counter()
    scheme_id, certifier_id = build(app, args.count)
    print(f"data built in {time.perf_counter() - start:.1f} s (bulk inserts, not measured)")

    from certificates import operations as ops
    from certificates.models import Certificate, Scheme
    from certificates.operations import issuance
    from lms.models import User

    with app.app_context():
        scheme = db.session.get(Scheme, scheme_id)
        certifier = db.session.get(User, certifier_id)
        # The signing keys (credential and PDF) and the first status list are made on
        # first use; make them now so the run measures the steady state (one-off costs).
        ops.current_status_list()
        pdfsign.current_identity()
        db.session.commit()
        unsigned = mock.patch.object(issuance, "sign_pdf", lambda pdf: pdf)
        with contextlib.ExitStack() as stack:
            if not sign:
                stack.enter_context(unsigned)
            stages = stack.enter_context(stage_timers())
            wall, cpu = time.perf_counter(), time.process_time()
            batch = ops.issue_batch(
                scheme,
                certifier,
                chunk_size=args.chunk_size,
                on_chunk=lambda _batch: db.session.commit(),
            )
            db.session.commit()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        keys = db.session.scalars(
            sa.select(Certificate.pdf_key).where(Certificate.batch_id == batch.id)
        ).all()
        stored = len(keys)
        store = storage()
        pdf_bytes = 0
        for key in keys:  # the PDFs are in the file store, not the database
            with store.open(key) as stream:
                pdf_bytes += len(stream.read())
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
    return wall, cpu


def _filled_list(count: int) -> None:
    """Put ``count`` certificates on the current status list, as if issued (bulk inserts).

    They are expired certificates of one filler trainee, on the indexes the list's
    counter hands out first, and the counter is moved past them.
    """
    from certificates import issuer
    from certificates import operations as ops
    from certificates.credentials import status_list as bits
    from certificates.models import Certificate, Scheme, StatusList
    from lms.models import User

    row = ops.current_status_list()
    key = issuer.current_signing_key()
    filler = User(email="filler@example.org", name="Filler")
    scheme = Scheme(code="FILLER", title_en="Filler")
    db.session.add_all([filler, scheme])
    db.session.flush()
    start = row.allocated
    permutation = bytes.fromhex(row.index_key)
    for first in range(0, count, 10_000):
        db.session.execute(
            sa.insert(Certificate),
            [
                {
                    "code": f"FILL{n:07d}",
                    "scheme_id": scheme.id,
                    "user_id": filler.id,
                    "status": "expired",
                    "status_list_id": row.id,
                    "status_index": bits.permuted_index(permutation, start + n),
                    "valid_from": COMPLETED,
                    "signing_key_id": key.row.id,
                    "snapshot": {},
                    "credential": {},
                    "pdf_key": "",
                    "pdf_sha256": "",
                }
                for n in range(first, min(count, first + 10_000))
            ],
        )
    db.session.execute(
        sa.update(StatusList).where(StatusList.id == row.id).values(allocated=start + count)
    )
    db.session.commit()


def list_growth(url: str | None, count: int, entries: int = 60_000) -> dict[str, float]:
    """Time issuance one by one onto an empty status list and onto one with ``entries``.

    Returns the median CPU milliseconds a certificate in each case and their ratio.
    """
    from certificates import operations as ops
    from certificates.models import Scheme
    from lms.models import User

    workdir = tempfile.mkdtemp(prefix="bench-issue-")
    database = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench-secret-" * 4,
            "SQLALCHEMY_DATABASE_URI": database,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    scheme_id, certifier_id = build(app, 2 * count)
    figures: dict[str, float] = {}
    with app.app_context():
        ops.current_status_list()
        pdfsign.current_identity()
        db.session.commit()
        trainees = list(
            db.session.scalars(
                sa.select(User.id).where(User.email.like("trainee-%")).order_by(User.id)
            )
        )
        for label, group in (("empty", trainees[:count]), ("filled", trainees[count:])):
            if label == "filled":
                _filled_list(entries)
            scheme = db.session.get(Scheme, scheme_id)
            certifier = db.session.get(User, certifier_id)
            times = []
            for user_id in group:
                trainee = db.session.get(User, user_id)
                cpu = time.process_time()
                ops.issue_certificate(scheme, trainee, actor=certifier)
                db.session.commit()
                times.append((time.process_time() - cpu) * 1000)
            figures[label] = statistics.median(times[1:])
        db.session.remove()
        if url:
            db.drop_all()
        db.engine.dispose()
    figures["ratio"] = figures["filled"] / figures["empty"]
    figures["entries"] = entries
    return figures


def print_growth(url: str | None, args) -> None:
    """Print issuance on an empty list against one with 60,000 entries."""
    engine_name = (url or "sqlite").split(":", 1)[0]
    figures = list_growth(url, args.growth)
    print(
        f"== {engine_name}: issuance one by one, median CPU of {args.growth} certificates each\n"
        f"empty status list        : {figures['empty']:7.1f} ms a certificate\n"
        f"list with {figures['entries']:,.0f} entries : {figures['filled']:7.1f} ms a certificate\n"
        f"ratio                    : {figures['ratio']:7.2f} (target at most 1.05)"
    )


def compare(url: str | None, args) -> None:
    """Run without and with the PDF signature and print the cost of signing."""
    results = {sign: run(url, args, sign=sign) for sign in (False, True)}
    (bare_wall, bare_cpu), (signed_wall, signed_cpu) = results[False], results[True]
    print("== the cost of the PDF signature")
    for label, (wall, cpu) in (("without", results[False]), ("with", results[True])):
        print(
            f"{label:<8} signing: {args.count / cpu:7.1f} certificates/s/core on CPU"
            f" ({args.count / wall:.1f}/s wall clock)"
        )
    ratio = signed_cpu / bare_cpu
    print(
        f"ratio          : {ratio:.2f} (signing adds {ratio - 1:.0%} to issuance on CPU;"
        f" {signed_wall / bare_wall - 1:+.0%} on the wall clock; budget: at most 30 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="certificates (default 1000)")
    parser.add_argument(
        "--chunk-size", type=int, default=25, help="commit every N (default 25, as the command)"
    )
    parser.add_argument(
        "--growth",
        type=int,
        default=60,
        help="certificates issued on the empty and on the 60,000-entry list (default 60)",
    )
    args = parser.parse_args()
    urls = [None]
    if os.environ.get("LMS_BENCH_DATABASE_URL"):
        urls.append(os.environ["LMS_BENCH_DATABASE_URL"])
    for url in urls:
        compare(url, args)
        print_growth(url, args)


if __name__ == "__main__":
    main()
