"""Benchmark the instructor gradebook at two class sizes: 1,000 and 5,000 trainees x 30.

Builds courses with three weighted categories (one with drop-lowest), 30
assessments and the enrolled trainees with a grade in nearly every cell, then
requests gradebook pages (50 rows, the last page, 500 rows, a search), the
API's page of 50 and the CSV export several times, and prints the time, the
number of SQL queries and the size of each; for the CSV also the time to its
first byte. A page's query count and time must not grow with the class (the
targets: a 50-row page of 5,000 trainees within 100 ms and 15 queries, the
CSV's first byte within 200 ms); the ratios at the end compare the sizes.

Run: .venv/bin/python bench/bench_gradebook.py [--trainees N ...] [--assessments N] [--runs N]
On PostgreSQL as well: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from lms import create_app
from lms.extensions import db


def build(app, code: str, trainees: int, assessments: int) -> int:
    """Insert a course, its class and every grade with bulk inserts; return the instructor id."""
    from courses.assessments.models import Assessment, Grade, GradeCategory
    from courses.models import Cohort, Course, Enrolment, course_instructors
    from lms.models import User, UserRole

    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        instructor = User(email=f"teacher-{code.lower()}@example.org", name="Анна Колева")
        db.session.add(instructor)
        db.session.flush()
        db.session.add(UserRole(user_id=instructor.id, role="instructor"))
        course = Course(code=code, title_en="Benchmark course", state="published")
        db.session.add(course)
        db.session.flush()
        db.session.execute(
            course_instructors.insert().values(course_id=course.id, user_id=instructor.id)
        )
        cohort = Cohort(
            course=course,
            name="Everyone",
            starts_on=date.today() - timedelta(days=30),
            ends_on=date.today() + timedelta(days=60),
        )
        categories = [
            GradeCategory(course=course, name_en=name, weight=Decimal(w), drop_lowest=d, position=i)
            for i, (name, w, d) in enumerate(
                (("Quizzes", 30, 2), ("Assignments", 50, 0), ("Exam", 20, 0))
            )
        ]
        db.session.add_all([cohort, *categories])
        db.session.flush()
        items = [
            Assessment(
                course=course,
                category=categories[i % 3],
                kind="manual" if i % 3 == 2 else ("quiz" if i % 3 == 0 else "assignment"),
                title_en=f"Assessment {i + 1}",
                max_points=Decimal(rng.choice((10, 20, 100))),
                pass_percent=Decimal(50),
                required=i % 10 == 0,
                published=True,
                due_at=now - timedelta(days=1) if i % 7 == 0 else None,
                position=i,
            )
            for i in range(assessments)
        ]
        db.session.add_all(items)
        db.session.flush()
        first = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(User.id), 0))) + 1
        db.session.execute(
            sa.insert(User),
            [
                {"email": f"{code.lower()}-{n}@example.org", "name": f"Трениращ {n:04d}"}
                for n in range(trainees)
            ],
        )
        ids = list(
            db.session.scalars(
                sa.select(User.id).where(User.id >= first, User.email.like(f"{code.lower()}-%"))
            )
        )
        db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": "trainee"} for i in ids])
        db.session.execute(
            sa.insert(Enrolment),
            [
                {"cohort_id": cohort.id, "user_id": i, "status": "active", "queued_at": now}
                for i in ids
            ],
        )
        rows = []
        for user_id in ids:
            for item in items:
                if rng.random() < 0.05:
                    continue  # not graded yet
                rows.append(
                    {
                        "assessment_id": item.id,
                        "user_id": user_id,
                        "points": (item.max_points * Decimal(rng.randint(30, 100)) / 100).quantize(
                            Decimal("0.01")
                        ),
                        "status": "released" if rng.random() < 0.9 else "draft",
                        "graded_at": now,
                        "graded_by_id": instructor.id,
                    }
                )
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(Grade), rows[start : start + 5000])
        db.session.commit()
        return instructor.id


def _client(app, instructor_id: int):
    """A test client logged in as the instructor, through a server-side session."""
    from lms.auth import sessions
    from lms.models import User

    with app.app_context():
        instructor = db.session.get(User, instructor_id)
        sessions.start(instructor, address="127.0.0.1", user_agent="bench")
        user_key = instructor.get_id()
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_key
        session["_fresh"] = True
    return client


def _api_headers(app, instructor_id: int) -> dict:
    """A bearer token of the instructor with the teach scope."""
    from lms.api.operations import create_token
    from lms.models import User

    with app.app_context():
        _token, secret = create_token(
            db.session.get(User, instructor_id),
            name="bench",
            scopes=["read", "teach"],
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def measure(app, client, url: str, runs: int, headers=None) -> dict:
    """Return the median total, first-byte and CPU times (s), the query count and the size.

    The CPU time is this process's: on a busy machine it shows the work done better
    than the wall-clock time, which includes waiting for a processor.
    """
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    totals, firsts, cpus = [], [], []
    for _ in range(runs):
        counter["n"] = 0
        sa.event.listen(engine, "before_cursor_execute", count)
        cpu = time.process_time()
        start = time.perf_counter()
        response = client.get(url, headers=headers, buffered=False)
        chunks = response.iter_encoded()
        first = next(chunks, b"")
        firsts.append(time.perf_counter() - start)
        size = len(first) + sum(len(chunk) for chunk in chunks)
        totals.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        response.close()
        sa.event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code)
    return {
        "total": statistics.median(totals),
        "first": statistics.median(firsts),
        "cpu": statistics.median(cpus),
        "queries": counter["n"],
        "size": size,
    }


#: What is measured: a label and the URL under the course.
REQUESTS = (
    ("page of 50", "/courses/{code}/gradebook"),
    ("last page of 50", "/courses/{code}/gradebook?page=922337203685477580"),
    ("page of 500", "/courses/{code}/gradebook?per_page=500"),
    ("search", "/courses/{code}/gradebook?q=%D1%82%D1%80%D0%B5%D0%BD%D0%B8%D1%80%D0%B0%D1%89+12"),
    ("API per_page=50", "/api/v1/courses/{code}/gradebook?per_page=50"),
    ("CSV export", "/courses/{code}/gradebook.csv"),
)


def run(url: str | None, args) -> None:
    workdir = tempfile.mkdtemp(prefix="bench-gradebook-")
    database = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench-secret-" * 4,
            "SQLALCHEMY_DATABASE_URI": database,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    engine_name = database.split(":", 1)[0]
    results: dict[int, dict[str, dict]] = {}
    for size in args.trainees:
        print(f"== {engine_name}: {size} trainees x {args.assessments} assessments")
        start = time.perf_counter()
        code = f"B{size}"
        instructor = build(app, code, size, args.assessments)
        print(f"built in {time.perf_counter() - start:.1f} s")
        client = _client(app, instructor)
        headers = _api_headers(app, instructor)
        results[size] = {}
        for label, path in REQUESTS:
            api = path.startswith("/api/")
            figures = measure(
                app, client, path.format(code=code), args.runs, headers if api else None
            )
            results[size][label] = figures
            first = f", first byte {figures['first'] * 1000:6.1f} ms" if "CSV" in label else ""
            print(
                f"{label:16}: {figures['total'] * 1000:8.1f} ms median of {args.runs} "
                f"(CPU {figures['cpu'] * 1000:6.1f} ms){first}, "
                f"{figures['queries']} queries, {figures['size'] / 1024:.0f} KiB"
            )
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"== ratios {large} / {small} trainees (1.0: the cost does not grow)")
        for label, _path in REQUESTS:
            a, b = results[small][label], results[large][label]
            print(
                f"{label:16}: time x{b['total'] / a['total']:.2f}, "
                f"queries {a['queries']} -> {b['queries']}"
            )
    with app.app_context():
        db.session.remove()
        if url:
            db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--assessments", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(None, args)
    if os.environ.get("LMS_BENCH_DATABASE_URL"):
        run(os.environ["LMS_BENCH_DATABASE_URL"], args)


if __name__ == "__main__":
    main()
