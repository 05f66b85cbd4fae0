"""Benchmark the instructor gradebook page: 1,000 trainees x 30 assessments.

Builds a course with three weighted categories (one with drop-lowest), 30
assessments and 1,000 enrolled trainees with a released grade in every cell,
then requests the gradebook page and its CSV export several times and prints
the time and the number of SQL queries of each. The query count must be the
same as for a class of 2 (printed beside it).

Run: .venv/bin/python bench/bench_gradebook.py [--trainees N] [--assessments N] [--runs N]
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


def measure(app, url: str, instructor_id: int, runs: int) -> tuple[float, int, int]:
    """Return the median time in seconds, the query count and the response size."""
    from lms.models import User

    with app.app_context():
        instructor = db.session.get(User, instructor_id)
        user_key = instructor.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_key
        session["_fresh"] = True
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    times = []
    for _ in range(runs):
        counter["n"] = 0
        sa.event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
        sa.event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.status_code
        times.append(elapsed)
    return statistics.median(times), counter["n"], len(response.data)


def run(url: str | None, args) -> None:
    workdir = tempfile.mkdtemp(prefix="bench-gradebook-")
    database = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": workdir,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    engine_name = database.split(":", 1)[0]
    print(f"== {engine_name}: {args.trainees} trainees x {args.assessments} assessments")
    start = time.perf_counter()
    small = build(app, "SMALL", 2, args.assessments)
    big = build(app, "BIG", args.trainees, args.assessments)
    print(f"built in {time.perf_counter() - start:.1f} s")
    for label, code, instructor in (("2 trainees", "SMALL", small), ("full class", "BIG", big)):
        for page, suffix in (("gradebook page", "/gradebook"), ("CSV export", "/gradebook.csv")):
            seconds, queries, size = measure(app, f"/courses/{code}{suffix}", instructor, args.runs)
            print(
                f"{page:15} {label:11}: {seconds * 1000:8.1f} ms median of {args.runs}, "
                f"{queries} queries, {size / 1024:.0f} KiB"
            )
    with app.app_context():
        db.session.remove()
        if url:
            db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--assessments", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run(None, args)
    if os.environ.get("LMS_BENCH_DATABASE_URL"):
        run(os.environ["LMS_BENCH_DATABASE_URL"], args)


if __name__ == "__main__":
    main()
