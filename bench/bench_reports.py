"""Benchmark the report pages against a hello-world route in the same run.

Fills a database with ``lms generate``'s generator (default: size M, 10,000
users and 100 courses), or with this script's own bulk data (``--own-data``:
a year of enrolments, lesson progress, grades, completions, competency
evidence and certificates), or with the demo (``--demo``); signs a centre
manager in,
and requests every report page, the XLSX export and the funder PDF several
times, then ``/healthz`` (a route that returns a constant) as many times. It
prints each page's median time, its number of SQL queries and its ratio to the
hello-world median, in wall time and in CPU time; the target is every report page
within 20x.

Run: .venv/bin/python bench/bench_reports.py [--size XS|S|M|L] [--runs N] [--keep FILE]
     .venv/bin/python bench/bench_reports.py --own-data [--trainees N] [--courses N]
Or on the demo data: .venv/bin/python bench/bench_reports.py --demo
On PostgreSQL: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
With ``--keep FILE`` (SQLite only) the generated data is kept in FILE and the next
run with the same FILE starts from a copy of it instead of generating again.
With ``--profile`` each page is also requested once under cProfile, and its
slowest functions and every SQL statement with its time are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from lms import create_app
from lms.extensions import db

PAGES = [
    "/reports/",
    "/reports/enrolments",
    "/reports/progress",
    "/reports/progress?course={course}",
    "/reports/results",
    "/reports/competencies?from={start}",
    "/reports/certification",
    "/reports/enrolments?programme={programme}&from={start}",
]
EXPORTS = ["/reports/results/assessments.csv", "/reports/enrolments.xlsx", "/reports/funder.pdf"]
TARGET = 20


def build(app, trainees: int, courses: int) -> None:
    """Insert a centre's year with bulk inserts."""
    from certificates.models import Certificate, Scheme, SigningKey, StatusList
    from courses.assessments.models import Assessment, Grade
    from courses.competencies.models import Competency, Evidence, Framework, ProficiencyLevel
    from courses.gradebook.models import CourseCompletion
    from courses.models import (
        Cohort,
        Course,
        Enrolment,
        Lesson,
        LessonProgress,
        Module,
        Programme,
        ProgrammeCourse,
    )
    from lms.models import User, UserRole

    rng = random.Random(14)
    start = datetime.now(UTC) - timedelta(days=365)
    with app.app_context():
        ins = db.session.execute
        ins(
            sa.insert(User),
            [
                {"email": f"t{n}@example.org", "name": f"Trainee {n}", "created_at": start}
                for n in range(trainees)
            ],
        )
        user_ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
        ins(sa.insert(UserRole), [{"user_id": u, "role": "trainee"} for u in user_ids])
        ins(
            sa.insert(Course),
            [
                {"code": f"B-{n:03d}", "title_en": f"Course {n}", "state": "published"}
                for n in range(courses)
            ],
        )
        course_ids = db.session.scalars(sa.select(Course.id).order_by(Course.id)).all()
        ins(
            sa.insert(Programme),
            [{"code": f"BP-{n}", "title_en": f"Programme {n}"} for n in range(3)],
        )
        programme_ids = db.session.scalars(sa.select(Programme.id)).all()
        ins(
            sa.insert(ProgrammeCourse),
            [
                {"programme_id": programme_ids[i % 3], "course_id": c, "position": i}
                for i, c in enumerate(course_ids)
            ],
        )
        ins(
            sa.insert(Module),
            [{"course_id": c, "position": 1, "title_en": "M"} for c in course_ids],
        )
        modules = dict(db.session.execute(sa.select(Module.course_id, Module.id)).all())
        ins(
            sa.insert(Lesson),
            [
                {"module_id": modules[c], "position": p, "title_en": f"L{p}", "required": True}
                for c in course_ids
                for p in range(1, 11)
            ],
        )
        lessons: dict[int, list[int]] = {}
        for module_id, lesson_id in db.session.execute(
            sa.select(Lesson.module_id, Lesson.id).order_by(Lesson.position)
        ):
            lessons.setdefault(module_id, []).append(lesson_id)
        ins(
            sa.insert(Cohort),
            [
                {
                    "course_id": c,
                    "name": f"Run {k}",
                    "starts_on": date.today() - timedelta(days=300 - 150 * k),
                    "ends_on": date.today() + timedelta(days=60),
                }
                for c in course_ids
                for k in range(2)
            ],
        )
        cohorts = db.session.execute(sa.select(Cohort.id, Cohort.course_id)).all()
        ins(
            sa.insert(Assessment),
            [
                {
                    "course_id": c,
                    "kind": "quiz",
                    "title_en": f"Quiz {k}",
                    "max_points": Decimal(20),
                    "pass_percent": Decimal(50),
                    "published": True,
                    "position": k,
                    "created_at": start,
                }
                for c in course_ids
                for k in range(2)
            ],
        )
        assessments: dict[int, list[int]] = {}
        for course_id, assessment_id in db.session.execute(
            sa.select(Assessment.course_id, Assessment.id)
        ):
            assessments.setdefault(course_id, []).append(assessment_id)
        enrolments, progress, grades, completions = [], [], [], []
        for user_id in user_ids:
            for cohort_id, course_id in rng.sample(cohorts, 3):
                if any(
                    e["user_id"] == user_id and e["_course"] == course_id for e in enrolments[-3:]
                ):
                    continue
                when = start + timedelta(days=rng.randint(0, 360), minutes=rng.randint(0, 600))
                status = rng.choice(("active",) * 8 + ("waitlisted", "withdrawn"))
                enrolments.append(
                    {
                        "cohort_id": cohort_id,
                        "user_id": user_id,
                        "status": status,
                        "queued_at": when,
                        "enrolled_at": when,
                        "_course": course_id,
                    }
                )
                done = rng.randint(0, 10)
                progress.extend(
                    {"user_id": user_id, "lesson_id": lesson_id, "completed_at": when}
                    for lesson_id in lessons[modules[course_id]][:done]
                )
                if done == 10:
                    grades.extend(
                        {
                            "assessment_id": assessment_id,
                            "user_id": user_id,
                            "points": Decimal(rng.randint(0, 20)),
                            "status": "released",
                            "graded_at": when + timedelta(days=5),
                        }
                        for assessment_id in assessments[course_id]
                    )
                    completions.append(
                        {
                            "user_id": user_id,
                            "course_id": course_id,
                            "completed": True,
                            "grade": Decimal(rng.randint(50, 100)),
                            "completed_at": when + timedelta(days=6),
                            "updated_at": when + timedelta(days=6),
                        }
                    )
        for row in enrolments:
            del row["_course"]
        ins(sa.insert(Enrolment), enrolments)
        ins(sa.insert(LessonProgress), progress)
        ins(sa.insert(Grade), grades)
        ins(sa.insert(CourseCompletion), completions)
        framework = Framework(code="BF", name_en="Framework")
        db.session.add(framework)
        db.session.flush()
        levels = [
            ProficiencyLevel(framework=framework, rank=r, name_en=f"L{r}", proficient=r == 3)
            for r in range(1, 5)
        ]
        competencies = [
            Competency(framework=framework, code=f"C{n}", title_en=f"C {n}") for n in range(20)
        ]
        db.session.add_all(levels + competencies)
        db.session.flush()
        ins(
            sa.insert(Evidence),
            [
                {
                    "user_id": rng.choice(user_ids),
                    "competency_id": rng.choice(competencies).id,
                    "level_id": rng.choice(levels).id,
                    "source": "instructor",
                    "created_at": start + timedelta(days=rng.randint(0, 360)),
                }
                for _ in range(3 * trainees)
            ],
        )
        key = SigningKey(public_multikey="z6MkBench")
        status_list = StatusList(purpose="revocation", bits=b"\0" * 16)
        schemes = [
            Scheme(code=f"BS-{n}", title_en=f"Scheme {n}", programme_id=programme_ids[n])
            for n in range(3)
        ]
        db.session.add_all([key, status_list, *schemes])
        db.session.flush()
        digest = hashlib.sha256(b"bench").hexdigest()
        ins(
            sa.insert(Certificate),
            [
                {
                    "code": f"BENCH-{n}",
                    "scheme_id": schemes[n % 3].id,
                    "user_id": user_ids[n],
                    "status": rng.choice(("active",) * 8 + ("revoked", "suspended")),
                    "status_list_id": status_list.id,
                    "status_index": n,
                    "issued_at": (issued := start + timedelta(days=rng.randint(0, 360))),
                    "valid_from": issued,
                    "valid_until": issued + timedelta(days=730),
                    "signing_key_id": key.id,
                    "snapshot": {},
                    "credential": {},
                    "pdf_key": digest,
                    "pdf_sha256": digest,
                    "revocation_reason": "Benchmark",
                }
                for n in range(trainees // 4)
            ],
        )
        db.session.commit()
        print(
            f"built {trainees} trainees, {courses} courses, {len(enrolments)} enrolments, "
            f"{len(progress)} lessons done, {len(grades)} grades, {trainees // 4} certificates"
        )


def sign_in_manager(app, client) -> None:
    """Create a centre manager and open a session for ``client`` (as the log-in form does)."""
    from lms.auth import sessions
    from lms.auth.operations import create_user
    from lms.models import Role

    with app.app_context():
        user = create_user(
            email="bench-manager@example.org",
            name="Bench Manager",
            password=None,
            roles=[Role.MANAGER],
        )
        db.session.flush()
        with app.test_request_context("/login", method="POST"):
            sessions.start(user, address="127.0.0.1", user_agent="bench")
        db.session.commit()
        key = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True


def timed(app, client, url: str, runs: int) -> tuple[float, float, int, int]:
    """Return the median milliseconds (wall and CPU), the query count and the size of ``url``.

    The CPU time of this process is steadier than the wall time on a shared machine;
    it holds SQLite's work but not a database server's.
    """
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    times, cpu_times = [], []
    for _ in range(runs):
        counter["n"] = 0
        sa.event.listen(engine, "before_cursor_execute", count)
        began, cpu_began = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        cpu_times.append((time.process_time() - cpu_began) * 1000)
        sa.event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), statistics.median(cpu_times), counter["n"], len(response.data)


def profile(app, client, url: str) -> None:
    """Request ``url`` once under cProfile; print its slowest functions and SQL statements."""
    statements: list[tuple[float, str]] = []
    began: list[float] = []

    def before(*_args):
        began.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_args):
        statements.append(((time.perf_counter() - began.pop()) * 1000, statement))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    print(f"\n=== {url}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    for ms, statement in statements:
        print(f"{ms:9.2f} ms  {' '.join(statement.split())[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", choices=["XS", "S", "M", "L"], default="M", help="site made by lms generate"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--own-data", action="store_true", help="this script's data instead")
    parser.add_argument("--trainees", type=int, default=10_000, help="with --own-data")
    parser.add_argument("--courses", type=int, default=100, help="with --own-data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--demo", action="store_true", help="bench on the demo data instead")
    parser.add_argument("--profile", action="store_true", help="profile each page once")
    parser.add_argument(
        "--keep", metavar="FILE", help="SQLite file to keep the data in and start from next time"
    )
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="bench-reports-")
    path = f"{instance}/bench.sqlite3"
    url = os.environ.get("LMS_BENCH_DATABASE_URL") or f"sqlite:///{path}"
    if args.keep and not url.startswith("sqlite"):
        parser.error("--keep works with SQLite only")
    app = create_app(
        {"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "b" * 64}
    )
    began = time.perf_counter()
    kept = bool(args.keep) and os.path.exists(args.keep)
    if kept:
        shutil.copyfile(args.keep, path)
    else:
        with app.app_context():
            db.drop_all()
            db.create_all()
    if kept:
        print(f"copied the data kept in {args.keep}")
    elif args.demo:
        with app.app_context():
            for loader in app.extensions["lms_demo_loaders"]:
                loader()
            db.session.commit()
        print("loaded the demo")
    elif args.own_data:
        build(app, args.trainees, args.courses)
    else:
        from lms.generate import SIZES, generate

        with app.app_context():
            run = generate(
                SIZES[args.size],
                args.seed,
                app.extensions.get("lms_generators", []),
                progress=print,
            )
            print(", ".join(f"{count:,} {table}" for table, count in sorted(run.counts.items())))
    if args.keep and not kept:
        with app.app_context():
            db.engine.dispose()
        shutil.copyfile(path, args.keep)
    if url.startswith("postgresql"):  # the statistics a live database has from autovacuum
        with app.app_context(), db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    print(f"data ready in {time.perf_counter() - began:.1f} s ({url.split(':')[0]})")
    client = app.test_client()
    sign_in_manager(app, client)
    with app.app_context():
        from courses.models import Course, Programme

        course = db.session.scalar(sa.select(Course.id).order_by(Course.id))
        programme = db.session.scalar(sa.select(Programme.id).order_by(Programme.id))
    start = (date.today() - timedelta(days=180)).isoformat()
    urls = [p.format(course=course, programme=programme, start=start) for p in PAGES]
    for url in urls + EXPORTS:  # warm up templates, fonts and caches
        client.get(url)
    if args.profile:
        for url in urls + EXPORTS:
            profile(app, client, url)
    hello, hello_cpu, _q, _s = timed(app, client, "/healthz", args.runs * 4)
    print(
        f"\n{'page':50} {'median ms':>10} {'queries':>8} {'bytes':>9} {'x hello':>8} "
        f"{'cpu ms':>8} {'x cpu':>7}"
    )

    def line(label: str, ms: float, cpu: float, queries: int, size: int | str) -> None:
        print(
            f"{label[:50]:50} {ms:10.2f} {queries:8d} {size:>9} {ms / hello:8.1f} "
            f"{cpu:8.2f} {cpu / hello_cpu:7.1f}"
        )

    line("/healthz (hello world)", hello, hello_cpu, 0, "")
    # For scale: an ordinary page of the site (layout, menu, a form), no report in it.
    line("/account (an ordinary page, for scale)", *timed(app, client, "/account", args.runs))
    worst = 0.0
    for url in urls + EXPORTS:
        ms, cpu, queries, size = timed(app, client, url, args.runs)
        if url in urls:
            worst = max(worst, ms / hello)
        line(url, ms, cpu, queries, size)
    hello_after, _c, _q, _s = timed(app, client, "/healthz", args.runs * 4)
    print(f"{'/healthz again':50} {hello_after:10.2f}")
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"\nslowest report page: {worst:.1f}x hello world ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
