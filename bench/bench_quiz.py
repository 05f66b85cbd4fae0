"""Benchmark grading a quiz attempt: the time from submit to the grade written and committed.

Builds a course with N enrolled trainees and a quiz of 10 questions (two of each
kind), starts an attempt for each trainee with every answer saved, then submits
them one by one and prints the time per graded attempt, two ways:

- the operation: ``submit_attempt`` (conditional UPDATE, scoring, answers'
  points, quiz grade by the grading method through ``set_grade`` with its
  history and audit rows) plus the commit;
- the page: the trainee's POST of the attempt form with action=submit, through
  the whole Flask stack (login, CSRF, saving the form's answers, grading, commit).

Run: .venv/bin/python bench/bench_quiz.py [--trainees N]
On PostgreSQL as well: LMS_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench
(the tables of that database are dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

from werkzeug.datastructures import MultiDict

from lms import create_app
from lms.extensions import db


def build(app, trainees: int) -> tuple[int, list[int], list[str], dict[int, object]]:
    """Create the course, class and quiz; return quiz id, user ids, session ids, answers."""
    from courses.assessments.quizzes import operations as ops
    from courses.assessments.scoring import QuestionKind
    from courses.models import Cohort, Course, Enrolment
    from lms.auth import sessions
    from lms.models import User, UserRole

    with app.app_context():
        course = Course(code="BENCH-Q", title_en="Quiz benchmark", state="published")
        cohort = Cohort(
            course=course,
            name="Everyone",
            starts_on=date.today() - timedelta(days=7),
            ends_on=date.today() + timedelta(days=60),
        )
        db.session.add(cohort)
        users = [User(email=f"quiz{i}@example.org", name=f"Стажант {i}") for i in range(trainees)]
        db.session.add_all(users)
        db.session.flush()
        db.session.add_all(UserRole(user_id=u.id, role="trainee") for u in users)
        author = User(email="quiz.author@example.org", name="Автор")
        author.role_rows = [UserRole(role="instructor")]
        course.instructors = [author]
        db.session.flush()
        db.session.add_all(Enrolment(cohort=cohort, user_id=u.id, status="active") for u in users)
        option = ops.OptionData
        specs = [
            ops.QuestionData(
                QuestionKind.SINGLE,
                "Which layer carries sensor readings?",
                options=[option("Connectivity", correct=True), option("Governance")],
            ),
            ops.QuestionData(
                QuestionKind.MULTIPLE,
                "Which are open formats?",
                options=[
                    option("CSV", correct=True),
                    option("GeoJSON", correct=True),
                    option("Fax"),
                    option("Scan"),
                ],
            ),
            ops.QuestionData(QuestionKind.TRUE_FALSE, "ISO 37122 is for smart cities.", truth=True),
            ops.QuestionData(
                QuestionKind.NUMERIC,
                "Saved MWh?",
                value=Decimal(720),
                tolerance=Decimal(1),
                points=Decimal(2),
            ),
            ops.QuestionData(QuestionKind.SHORT, "Virtual city model?", accepted=["digital twin"]),
        ] * 2
        questions = [ops.create_question(course, spec, actor=author) for spec in specs]
        quiz = ops.create_quiz(
            course,
            ops.QuizSettings(title_en="Benchmark quiz", attempt_limit=5, time_limit_minutes=20),
            actor=author,
        )
        ops.set_questions(quiz, [q.id for q in questions], actor=author)
        ops.set_published(quiz, True, actor=author)
        answers = {}
        for q in questions:
            correct = [str(o.id) for o in q.options if o.correct]
            answers[q.id] = {
                "single": correct[0] if correct else None,
                "multiple": correct[:1],
                "true_false": "true",
                "numeric": "719.5",
                "short": " Digital  Twin ",
            }[q.kind]
        for user in users:  # logged in without the form: a server-side session each
            sessions.start(user, address="127.0.0.1", user_agent="bench")
        db.session.commit()
        return quiz.id, [u.id for u in users], [u.get_id() for u in users], answers


def start_all(app, quiz_id: int, user_ids: list[int], answers: dict) -> list[int]:
    """Start an attempt for each trainee and save every answer; return the attempt ids."""
    from courses.assessments.quizzes import operations as ops
    from courses.assessments.quizzes.models import Quiz
    from lms.models import User

    with app.app_context():
        quiz = db.session.get(Quiz, quiz_id)
        ids = []
        for user_id in user_ids:
            trainee = db.session.get(User, user_id)
            attempt = ops.start_attempt(quiz, trainee, actor=trainee)
            ops.save_answers(attempt, answers, actor=attempt.user)
            ids.append(attempt.id)
        db.session.commit()
        return ids


def time_operation(app, attempt_ids: list[int]) -> list[float]:
    from courses.assessments.quizzes import operations as ops
    from courses.assessments.quizzes.models import Attempt

    timings = []
    for attempt_id in attempt_ids:
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            started = time.perf_counter()
            ops.submit_attempt(attempt, actor=attempt.user)
            db.session.commit()
            timings.append(time.perf_counter() - started)
    return timings


def time_pages(app, attempt_ids: list[int], session_ids: list[str], answers: dict) -> list[float]:
    timings = []
    form = {f"q{qid}": value for qid, value in answers.items() if not isinstance(value, list)}
    multiple = {f"q{qid}": value for qid, value in answers.items() if isinstance(value, list)}
    for attempt_id, session_id in zip(attempt_ids, session_ids, strict=True):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        page = client.get(f"/quiz-attempts/{attempt_id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = [("csrf_token", token), ("action", "submit"), *form.items()]
        data += [(name, v) for name, values in multiple.items() for v in values]
        started = time.perf_counter()
        response = client.post(f"/quiz-attempts/{attempt_id}", data=MultiDict(data))
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"].endswith("/review")
    return timings


def report(label: str, timings: list[float]) -> None:
    ms = sorted(t * 1000 for t in timings)
    print(
        f"{label:<34} n={len(ms):<5} mean {statistics.mean(ms):7.2f} ms  "
        f"median {statistics.median(ms):7.2f} ms  p95 {ms[int(len(ms) * 0.95) - 1]:7.2f} ms  "
        f"→ {1000 / statistics.mean(ms):6.0f} attempts/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as instance:
        url = os.environ.get("LMS_BENCH_DATABASE_URL") or f"sqlite:///{instance}/bench.sqlite3"
        app = create_app(
            {
                "INSTANCE_PATH": instance,
                "SECRET_KEY": "bench-secret-" * 4,
                "SQLALCHEMY_DATABASE_URI": url,
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.drop_all()
            db.create_all()
        print(f"database: {url.split('://')[0]}; {args.trainees} trainees; 10 questions")
        quiz_id, user_ids, session_ids, answers = build(app, args.trainees)

        first = start_all(app, quiz_id, user_ids, answers)
        report("submit_attempt + commit", time_operation(app, first))
        second = start_all(app, quiz_id, user_ids, answers)
        report("POST attempt form, action=submit", time_pages(app, second, session_ids, answers))

        from courses.assessments.quizzes.models import Attempt

        with app.app_context():
            graded = db.session.scalar(
                db.select(db.func.count()).where(Attempt.status == "submitted")
            )
            print(f"graded attempts: {graded} (expected {2 * args.trainees})")
            db.session.rollback()
            if os.environ.get("LMS_BENCH_DATABASE_URL"):
                db.drop_all()


if __name__ == "__main__":
    main()
