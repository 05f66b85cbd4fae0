"""Load test: the LMS under gunicorn on PostgreSQL and Redis, at generated sizes S and M.

For each size the script

1. creates a PostgreSQL database ``<prefix>_<size>`` and fills it with
   ``lms generate --size <size>`` (timed), or reuses it when it already holds a
   generated site (``--regenerate`` makes it again);
2. starts gunicorn with the repository's ``gunicorn.conf.py`` and 4 workers,
   rate-limit counters in Redis (database ``--redis-db``), verification limits
   raised so the test measures pages rather than the limiter refusing them;
3. runs locust headless (``bench/load_users.py``) for ``--duration`` seconds:
   trainees browsing the catalogue, studying lessons and taking quizzes,
   instructors opening gradebooks, employers verifying codes on the page and
   through the API, and ``/healthz`` as the hello-world route in the same run;
   meanwhile one bulk issuance runs (on the job worker, or through
   ``lms certificates issue-batch`` without one);
4. prints per endpoint: requests, req/s, p50 and p99 in ms, and p50 and p99
   as multiples of the hello route's.

At the end it prints, per endpoint, the p50 growth from S to M, and flags any
page growing more than 1.5x or, at M, with a p50 above 5x hello.

Background jobs: when this version has an ``lms worker`` command (Celery), one
worker runs beside gunicorn with the broker in the same Redis database and the
web workers send their jobs to it, and the bulk issuance is started as the
certifier page starts it, as a job; without the command that part is skipped,
the script says so, and the bulk issuance runs through the CLI instead.

Run (PostgreSQL at 127.0.0.1:5432 as ``postgres``, Redis at 127.0.0.1:6379)::

    .venv/bin/python bench/load.py [--sizes S M] [--duration 60] [--users 10]

Needs: pip install -e '.[bench,postgres,redis]'.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
HELLO = "hello (/healthz)"
GROWTH_LIMIT = 1.5
HELLO_LIMIT = 5.0
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["XS", "S", "M", "L"])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per size")
    parser.add_argument("--users", type=int, default=10, help="simultaneous locust users")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="lms_load", help="database name prefix")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regenerate", action="store_true", help="generate even if present")
    args = parser.parse_args()

    results: dict[str, dict[str, dict]] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"lms-load-{size}-") as folder:
            results[size] = run_size(size, Path(folder), args)
    if len(results) > 1:
        compare(results, args.sizes)


def run_size(size: str, folder: Path, args) -> dict[str, dict]:
    name = f"{args.prefix}_{size.lower()}"
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    instance = Path(tempfile.gettempdir()) / f"{name}-instance"  # keys must match the data
    port = free_port()
    env = {
        **os.environ,
        "LMS_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://", 1),
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_SECRET_KEY": "load-test-secret-" * 3,
        # Fixed, not the port: certificates issued at generation must verify on later runs.
        "LMS_BASE_URL": "http://lms-load.example.org",
        "LMS_RATELIMIT_STORAGE_URI": f"{args.redis}/{args.redis_db}",
        "LMS_VERIFY_RATE_LIMIT": "1000000 per minute",
        "LMS_VERIFY_API_RATE_LIMIT": "1000000 per minute",
        "LMS_VERIFY_DOCUMENT_RATE_LIMIT": "1000000 per minute",
        "LMS_LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": str(args.workers),
    }
    print(f"\n=== size {size}: database {name} ===", flush=True)
    if args.regenerate or not generated(args.postgres, name):
        recreate(args.postgres, name)
        shutil.rmtree(instance, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own command, fixed arguments
            [str(BIN / "lms"), "generate", "--size", size, "--seed", str(args.seed)],
            env=env,
            check=True,
        )
        print(f"generated size {size} in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        print("reusing the generated site already there (--regenerate to make it again)")
        subprocess.run(  # noqa: S603 - our own command: bring its schema up to this version
            [str(BIN / "lms"), "db", "upgrade"], env=env, check=True, capture_output=True
        )
    data = scenario_data(url)
    data_file, samples_file = folder / "data.json", folder / "samples.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    print(
        f"{len(data['trainees'])} trainee places, {len(data['instructors'])} instructors, "
        f"{len(data['codes'])} certificate codes, {len(data['courses'])} courses",
        flush=True,
    )

    worker = None
    if has_command("worker"):
        env["LMS_CELERY_BROKER_URL"] = f"{args.redis}/{args.redis_db}"
        worker = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [str(BIN / "lms"), "worker", "--concurrency=1", "--loglevel=WARNING"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print("one Celery job worker started (lms worker --concurrency=1)")
    else:
        print("no 'lms worker' command in this version: no job worker started")
    server = serve(port, args.workers, env)
    batch = None
    batch_scheme = data["batch_scheme"]
    try:
        if batch_scheme and worker is not None:
            bulk_job(batch_scheme, "start", env)  # the certifier page's background run
        elif batch_scheme:
            batch = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
                [
                    str(BIN / "lms"),
                    "certificates",
                    "issue-batch",
                    "--scheme",
                    batch_scheme,
                    "--chunk-size",
                    "5",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        before = certificate_count(url)
        batch_started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own locust, fixed arguments
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "load_users.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.users),
                "--run-time",
                f"{args.duration}s",
                "--host",
                f"http://{HOST}:{port}",
                "--only-summary",
                "--loglevel",
                "ERROR",
            ],
            env={**env, "LMS_LOAD_DATA": str(data_file), "LMS_LOAD_SAMPLES": str(samples_file)},
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # its own summary: the table below replaces it
        )
        issued = certificate_count(url) - before
        batch_seconds = time.perf_counter() - batch_started
    finally:
        if batch_scheme and worker is not None:
            bulk_job(batch_scheme, "cancel", env)
        if batch is not None and batch.poll() is None:
            batch.terminate()  # a batch resumes where it stopped
            batch.wait()
        server.terminate()
        server.wait()
        if worker is not None:
            worker.terminate()
            worker.wait()
    load = os.getloadavg()[0]
    print(f"machine load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
    recorded = json.loads(samples_file.read_text(encoding="utf-8"))
    table = summarise(recorded["samples"], recorded["failures"], args.duration)
    print_table(size, table)
    if batch_scheme:
        how = "through the job worker" if worker is not None else "through the CLI"
        print(
            f"bulk issuance beside the load: {issued} certificates in {batch_seconds:.0f} s "
            f"({issued / batch_seconds:.1f}/s) {how}, while the pages were loaded"
        )
    return table


BULK_JOB = """
import sys
import sqlalchemy as sa
from lms import create_app
from lms.extensions import db
from lms.models import User, UserRole

with create_app().app_context():
    from certificates import queries
    from certificates.bulk import operations as bulk

    scheme = queries.scheme_by_code(sys.argv[1])
    certifier = db.session.scalar(
        sa.select(User).join(UserRole).where(UserRole.role == "certifier").order_by(User.id)
    )
    if sys.argv[2] == "start":
        bulk.start(scheme, actor=certifier, chunk_size=5)
    else:
        batch = queries.running_batch(scheme)
        job = batch and bulk.job_for_batch(batch.id)
        if job:
            bulk.cancel(job, actor=certifier)
    db.session.commit()
"""


def bulk_job(scheme: str, action: str, env: dict) -> None:
    """Start or cancel the scheme's bulk issuance on the job workers, as the certifier page does."""
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", BULK_JOB, scheme, action], env=env, check=True, capture_output=True
    )


def has_command(name: str) -> bool:
    """Return whether this version's ``lms`` has the command ``name``."""
    probe = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [str(BIN / "lms"), name, "--help"], capture_output=True, check=False
    )
    return probe.returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def generated(admin_url: str, name: str) -> bool:
    """Return whether database ``name`` exists and holds a generated site."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
    try:
        with psycopg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}") as conn:
            row = conn.execute(
                "SELECT count(*) FROM users WHERE email LIKE '%%@generated.example.org'"
            ).fetchone()
            return bool(row[0])
    except psycopg.Error:
        return False


def recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def certificate_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM certificates").fetchone()[0]


def scenario_data(url: str) -> dict:
    """Read the accounts, places, lessons, quizzes and codes the simulated people use."""
    today = date.today()
    with psycopg.connect(url) as conn:
        password = "generated-2026"  # noqa: S105 - lms.generate.PASSWORD, public test data
        lessons: dict[str, list[int]] = {}
        for code, lesson_id in conn.execute(
            "SELECT c.code, l.id FROM lessons l JOIN modules m ON m.id = l.module_id"
            " JOIN courses c ON c.id = m.course_id ORDER BY l.id"
        ):
            lessons.setdefault(code, []).append(lesson_id)
        quizzes: dict[str, list[int]] = {}
        for code, quiz_id in conn.execute(
            "SELECT c.code, q.id FROM quizzes q JOIN assessments a ON a.id = q.assessment_id"
            " JOIN courses c ON c.id = a.course_id ORDER BY q.id"
        ):
            quizzes.setdefault(code, []).append(quiz_id)
        trainees = [
            {
                "email": email,
                "course": code,
                "lessons": lessons[code],
                "quizzes": quizzes[code],
            }
            for email, code in conn.execute(
                "SELECT u.email, c.code FROM enrolments e JOIN users u ON u.id = e.user_id"
                " JOIN cohorts h ON h.id = e.cohort_id JOIN courses c ON c.id = h.course_id"
                " WHERE e.status = 'active' AND h.starts_on <= %s AND h.ends_on >= %s"
                " ORDER BY e.id LIMIT 2000",
                (today, today),
            )
        ]
        instructors = [
            {"email": email, "course": code, "cohort": cohort}
            for email, code, cohort in conn.execute(
                "SELECT u.email, c.code, min(h.id) FROM course_instructors ci"
                " JOIN users u ON u.id = ci.user_id JOIN courses c ON c.id = ci.course_id"
                " JOIN cohorts h ON h.course_id = c.id AND h.starts_on <= %s"
                " GROUP BY u.email, c.code ORDER BY c.code",
                (today,),
            )
        ]
        codes = [row[0] for row in conn.execute("SELECT code FROM certificates ORDER BY id")]
        courses = [row[0] for row in conn.execute("SELECT code FROM courses ORDER BY id")]
        # The scheme with the most trainees still to certify: the batch has work all along.
        scheme = conn.execute(
            "SELECT s.code FROM schemes s LEFT JOIN certificates c ON c.scheme_id = s.id"
            " GROUP BY s.code ORDER BY count(c.id), s.code LIMIT 1"
        ).fetchone()
    return {
        "password": password,
        "trainees": trainees,
        "instructors": instructors,
        "codes": codes,
        "courses": courses,
        "search": ["mobility", "data", "energy", "мобилност", "procuring", "zzz"],
        "batch_scheme": scheme[0] if scheme else None,
    }


def serve(port: int, workers: int, env: dict) -> subprocess.Popen:
    """Start gunicorn with the repository's configuration and wait until it answers."""
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
    )
    # Workers import the whole application on boot: wait until /healthz answers, then warm
    # every worker up (sync workers take turns) so the first measured requests are not boots.
    deadline = time.monotonic() + 180
    answered = 0
    while time.monotonic() < deadline and answered < 4 * workers:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            for path in ("/healthz", "/courses", "/verify"):
                with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as reply:
                    reply.read()
            answered += 1
        except OSError:
            time.sleep(0.5)
    if answered < 4 * workers:
        process.terminate()
        raise SystemExit("gunicorn did not start")
    return process


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(samples: dict[str, list[float]], failures: dict[str, int], seconds: int) -> dict:
    table = {}
    for name, values in samples.items():
        table[name] = {
            "count": len(values),
            "failures": failures.get(name, 0),
            "rps": len(values) / seconds,
            "p50": statistics.median(values),
            "p99": percentile(values, 0.99),
        }
    return table


def print_table(size: str, table: dict) -> None:
    hello = table.get(HELLO)
    print(f"\nsize {size}: per endpoint (latency in ms; xhello = multiple of {HELLO})")
    print(
        f"{'endpoint':<30} {'reqs':>6} {'fail':>5} {'req/s':>7} {'p50':>8} {'p99':>8} "
        f"{'p50xhello':>10} {'p99xhello':>10}"
    )
    for name in sorted(table, key=lambda n: (n != HELLO, n)):
        row = table[name]
        ratio50 = row["p50"] / hello["p50"] if hello else float("nan")
        ratio99 = row["p99"] / hello["p99"] if hello else float("nan")
        print(
            f"{name:<30} {row['count']:>6} {row['failures']:>5} {row['rps']:>7.1f} "
            f"{row['p50']:>8.1f} {row['p99']:>8.1f} {ratio50:>10.1f} {ratio99:>10.1f}"
        )


def compare(results: dict[str, dict], sizes: list[str]) -> None:
    small, large = sizes[0], sizes[-1]
    a, b = results[small], results[large]
    hello_a, hello_b = a.get(HELLO), b.get(HELLO)
    print(f"\ngrowth from {small} to {large} (p50 relative to hello in each run)")
    print(
        f"{'endpoint':<30} {'p50 ' + small:>9} {'p50 ' + large:>9} {'growth':>7} "
        f"{'xhello ' + large:>9}  verdict"
    )
    grew, slow = [], []
    for name in sorted(set(a) & set(b)):
        if name == HELLO:
            continue
        # Growth of the page's multiple of hello, so a busier machine in one run cancels out.
        growth = (b[name]["p50"] / hello_b["p50"]) / (a[name]["p50"] / hello_a["p50"])
        times_hello = b[name]["p50"] / hello_b["p50"]
        verdict = []
        if growth > GROWTH_LIMIT:
            verdict.append(f"grows > {GROWTH_LIMIT}x")
            grew.append(name)
        if times_hello > HELLO_LIMIT:
            verdict.append(f"p50 > {HELLO_LIMIT:g}x hello")
            slow.append(name)
        print(
            f"{name:<30} {a[name]['p50']:>9.1f} {b[name]['p50']:>9.1f} {growth:>6.2f}x "
            f"{times_hello:>9.1f}  {', '.join(verdict) or 'ok'}"
        )
    print(
        f"\npages growing more than {GROWTH_LIMIT}x from {small} to {large}: "
        f"{', '.join(grew) or 'none'}"
    )
    print(f"pages with p50 above {HELLO_LIMIT:g}x hello at {large}: {', '.join(slow) or 'none'}")


if __name__ == "__main__":
    main()
