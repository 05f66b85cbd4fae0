"""Time the main pages against a hello-world route in the same run, with their SQL statements.

Fills a database with ``lms generate``'s generator (default: size S, 1,000 users
and 10 courses), or with the demo (``--demo``), then requests each page as the
user who sees it (a visitor, an enrolled trainee, a certifier) with the Flask
test client, in turn with a hello-world route of a bare Flask application. It
prints each page's median CPU milliseconds, its number of SQL statements and
its ratio to the hello-world median; the target is every page within 20x.
Run it at two sizes to see whether a page's statements grow with the data.

Run: .venv/bin/python bench/bench_pages.py [--size XS|S|M|L] [--runs N] [--demo]
On PostgreSQL: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from lms import create_app
from lms.extensions import db

TARGET = 20


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    #: Who requests it: a user id, or None for a visitor.
    user_id: int | None


def hello_client():
    """A test client of a bare Flask application with one route returning a constant."""
    app = Flask("hello")
    app.add_url_rule("/hello", "hello", lambda: "Hello, World!")
    return app.test_client()


def signed_in_client(app, user_id: int | None):
    """A test client signed in as the user (an open session, as after the log-in form)."""
    from lms.auth import sessions
    from lms.models import User

    client = app.test_client()
    if user_id is None:
        return client
    with app.test_request_context("/login", method="POST"):
        user = db.session.get(User, user_id)
        sessions.start(user, address="127.0.0.1", user_agent="bench")
        db.session.commit()
        session_user_id = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_user_id
        session["_fresh"] = True
    return client


def pages(app) -> list[Page]:
    """The pages to time, on a course with an enrolled trainee who attempted its quiz."""
    from certificates.models import Scheme
    from courses.assessments.models import Assessment
    from courses.assessments.quizzes.models import Attempt, Quiz
    from courses.models import Cohort, Course, Enrolment, EnrolmentStatus, Lesson, Module
    from lms.models import Role, UserRole

    with app.app_context():
        attempt = db.session.scalar(
            sa.select(Attempt)
            .join(Quiz)
            .join(Assessment)
            .join(Course, Course.id == Assessment.course_id)
            .join(Cohort, Cohort.course_id == Course.id)
            .join(
                Enrolment,
                sa.and_(Enrolment.cohort_id == Cohort.id, Enrolment.user_id == Attempt.user_id),
            )
            .where(Enrolment.status == EnrolmentStatus.ACTIVE, Attempt.submitted_at.is_not(None))
            .order_by(Attempt.id)
            .limit(1)
        )
        if attempt is None:
            raise SystemExit("no submitted quiz attempt of an enrolled trainee to time")
        trainee = attempt.user_id
        course = attempt.quiz.assessment.course
        lesson = db.session.scalar(
            sa.select(Lesson)
            .join(Module)
            .where(Module.course_id == course.id, Lesson.published.is_(True))
            .order_by(Module.position, Lesson.position)
            .limit(1)
        )
        certifier = db.session.scalar(
            sa.select(UserRole.user_id)
            .where(UserRole.role == Role.CERTIFIER)
            .order_by(UserRole.user_id)
            .limit(1)
        )
        scheme = db.session.scalar(sa.select(Scheme.code).order_by(Scheme.id).limit(1))
        return [
            Page("catalogue (visitor)", "/courses", None),
            Page("catalogue (trainee)", "/courses", trainee),
            Page("course page (visitor)", f"/courses/{course.code}", None),
            Page("course page (enrolled trainee)", f"/courses/{course.code}", trainee),
            Page("dashboard", "/dashboard", trainee),
            Page("lesson", f"/courses/{course.code}/lessons/{lesson.id}", trainee),
            Page("quiz attempt (review)", f"/quiz-attempts/{attempt.id}/review", trainee),
            Page("certifier scheme page", f"/certification/schemes/{scheme}", certifier),
        ]


def statements(app, client, url: str) -> int:
    """Return how many SQL statements one request of ``url`` runs."""
    with app.app_context():
        engine = db.engine
    counted = []

    def count(*_args) -> None:
        counted.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, (url, response.status_code)
    return len(counted)


def cpu_medians(page, hello, runs: int) -> tuple[float, float]:
    """Return the median CPU milliseconds of the page and of hello world, requested in turn."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for function, times in ((page, samples[0]), (hello, samples[1])):
            start = time.process_time()
            function()
            times.append((time.process_time() - start) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def build(app, args) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        if args.demo:
            for loader in app.extensions["lms_demo_loaders"]:
                loader()
            db.session.commit()
            return
        from lms.generate import SIZES, generate

        run = generate(SIZES[args.size], args.seed, app.extensions.get("lms_generators", []))
        print(", ".join(f"{count:,} {table}" for table, count in sorted(run.counts.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["XS", "S", "M", "L"], default="S")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--demo", action="store_true", help="time the demo data instead")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="bench-pages-")
    url = os.environ.get("LMS_BENCH_DATABASE_URL") or f"sqlite:///{instance}/bench.sqlite3"
    app = create_app(
        {
            "INSTANCE_PATH": instance,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "b" * 64,
            "RATELIMIT_ENABLED": False,
        }
    )
    began = time.perf_counter()
    build(app, args)
    print(f"data ready in {time.perf_counter() - began:.1f} s ({url.split(':')[0]})")
    hello = hello_client()
    print(f"\n{'page':34} {'median ms':>10} {'hello ms':>9} {'x hello':>8} {'statements':>11}")
    worst = 0.0
    for page in pages(app):
        client = signed_in_client(app, page.user_id)
        client.get(page.url)  # the first request of a client sets up its session
        count = statements(app, client, page.url)
        ms, hello_ms = cpu_medians(
            lambda c=client, u=page.url: c.get(u), lambda: hello.get("/hello"), args.runs
        )
        worst = max(worst, ms / hello_ms)
        print(f"{page.label:34} {ms:10.2f} {hello_ms:9.3f} {ms / hello_ms:8.1f} {count:11d}")
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"\nslowest page: {worst:.1f}x hello world ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
