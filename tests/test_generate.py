"""``lms generate``: counts, consistency with the real rules, pages at size, real certificates.

A tiny site (XS scaled down) is generated into the test database (SQLite, or
PostgreSQL when LMS_TEST_DATABASE_URL is set) inside the test's transaction.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app

from certificates.models import Certificate
from courses.assessments import scoring
from courses.assessments.models import Assessment, Grade, GradeChange
from courses.assessments.quizzes.models import Attempt, AttemptAnswer, Quiz
from courses.competencies.models import Evidence
from courses.gradebook import queries as gradebook
from courses.gradebook.models import CourseCompletion
from courses.models import Cohort, Course, Enrolment, Lesson, LessonProgress, Module
from lms.generate import (
    EMAIL_DOMAIN,
    PASSWORD,
    SIZES,
    GenerationRefused,
    generate,
    role_counts,
    scaled,
)
from lms.models import Role, User, UserRole
from tests.conftest import sign_in

TINY = scaled(SIZES["XS"], 0.5)


def _generate(seed: int = 5, **kwargs):
    return generate(TINY, seed, current_app.extensions["lms_generators"], **kwargs)


def _count(db, model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_sizes_follow_moodles_test_sites():
    assert (SIZES["S"].users, SIZES["S"].courses) == (1_000, 10)
    assert (SIZES["M"].users, SIZES["M"].courses) == (10_000, 100)
    assert SIZES["L"].users == 50_000
    for size in SIZES.values():
        counts = role_counts(size)
        assert sum(counts.values()) == size.users
        assert counts["trainee"] > size.users * 0.8


def test_counts_and_structure(db):
    run = _generate()
    assert _count(db, User) == TINY.users == run.counts["users"]
    assert _count(db, User, User.email.not_like(f"%@{EMAIL_DOMAIN}")) == 0
    roles = dict(
        db.session.execute(sa.select(UserRole.role, sa.func.count()).group_by(UserRole.role)).all()
    )
    assert roles == role_counts(TINY)
    assert _count(db, Course) == TINY.courses
    assert _count(db, Module) == 3 * TINY.courses
    assert _count(db, Lesson) == 12 * TINY.courses
    assert _count(db, Cohort) == 3 * TINY.courses
    assert _count(db, Quiz) == 2 * TINY.courses
    # Every table the run says it filled holds exactly that many rows.
    for table_name, count in run.counts.items():
        if table_name in db.metadata.tables:
            table = db.metadata.tables[table_name]
            assert db.session.scalar(sa.select(sa.func.count()).select_from(table)) == count
    for model in (Enrolment, LessonProgress, Attempt, AttemptAnswer, Grade, Evidence):
        assert _count(db, model) > 0, model
    assert _count(db, Grade) == _count(db, GradeChange)
    assert _count(db, CourseCompletion, CourseCompletion.completed) > 0
    statuses = dict(
        db.session.execute(
            sa.select(Certificate.status, sa.func.count()).group_by(Certificate.status)
        ).all()
    )
    assert sum(statuses.values()) == TINY.certificates
    user = db.session.scalar(sa.select(User).limit(1))
    assert user.check_password(PASSWORD)


def test_work_agrees_with_the_real_rules(db):
    """Attempt scores, quiz grades and completions are what the app itself would compute."""
    _generate()
    attempts = db.session.scalars(sa.select(Attempt)).all()
    for attempt in attempts:
        awarded = sum((a.awarded for a in attempt.answers), Decimal(0))
        assert attempt.points == awarded
        assert attempt.score == scoring.round_half_up(attempt.points * 100 / attempt.possible)
        assert sorted(attempt.question_ids) == sorted(a.question_id for a in attempt.answers)
    best: dict[tuple[int, int], Decimal] = {}
    for attempt in attempts:
        key = (attempt.quiz.assessment_id, attempt.user_id)
        best[key] = max(best.get(key, Decimal(0)), attempt.score)
    quiz_grades = db.session.execute(
        sa.select(Grade.assessment_id, Grade.user_id, Grade.points)
        .join(Assessment)
        .where(Assessment.kind == "quiz")
    ).all()
    assert {(a, u): p for a, u, p in quiz_grades} == best
    for course in db.session.scalars(sa.select(Course)):
        book = gradebook.compute_gradebook(course)
        stored = {
            c.user_id: c
            for c in db.session.scalars(
                sa.select(CourseCompletion).where(CourseCompletion.course_id == course.id)
            )
        }
        assert {row.user.id for row in book.rows} == set(stored)
        for row in book.rows:
            assert stored[row.user.id].completed == row.completion.complete
            assert stored[row.user.id].grade == row.result.grade


def test_same_seed_same_site(db):
    def fingerprint():
        users = db.session.execute(sa.select(User.email, User.name).order_by(User.email)).all()
        grades = db.session.execute(
            sa.select(User.email, Assessment.title_en, Grade.points, Grade.status)
            .join(User, User.id == Grade.user_id)
            .join(Assessment)
            .order_by(User.email, Assessment.title_en)
        ).all()
        holders = db.session.scalars(
            sa.select(User.email).join(Certificate, Certificate.user_id == User.id)
        ).all()
        return users, grades, sorted(holders)

    _generate(seed=11)
    first = fingerprint()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    _generate(seed=11)
    assert fingerprint() == first
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    _generate(seed=12)
    assert fingerprint() != first


def test_refuses_to_mix_with_real_data(db, make_user):
    make_user(email="real.person@example.org")
    db.session.flush()
    with pytest.raises(GenerationRefused, match="not generated"):
        _generate()
    assert _count(db, User) == 1
    _generate(force=True)
    assert _count(db, User) == 1 + TINY.users
    with pytest.raises(GenerationRefused, match="already holds a generated site"):
        _generate(force=True)


def _person(db, role: Role) -> User:
    return db.session.scalar(
        sa.select(User).join(UserRole).where(UserRole.role == role.value).order_by(User.id)
    )


def test_pages_render_for_every_role(app, db, client):
    _generate()
    course = db.session.scalar(sa.select(Course).order_by(Course.id))
    quiz = db.session.scalar(
        sa.select(Quiz).join(Assessment).where(Assessment.course_id == course.id)
    )
    lesson = db.session.scalar(
        sa.select(Lesson).join(Module).where(Module.course_id == course.id).order_by(Lesson.id)
    )
    enrolment = db.session.scalar(
        sa.select(Enrolment)
        .join(Cohort)
        .where(Cohort.course_id == course.id, Enrolment.status == "active")
        .order_by(Enrolment.id)
    )
    trainee = db.session.get(User, enrolment.user_id)
    instructor = course.instructors[0]
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.status == "active"))
    db.session.commit()

    for url in ("/courses", f"/courses/{course.code}", "/verify", f"/verify/{cert.code}"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert course.title_en.encode() in client.get("/courses").data

    sign_in(client, trainee)
    for url in (
        "/dashboard",
        f"/courses/{course.code}/lessons/{lesson.id}",
        f"/courses/{course.code}/quizzes/{quiz.id}",
        f"/courses/{course.code}/grades",
        "/competencies/profile",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert (
        lesson.title_en.encode() in client.get(f"/courses/{course.code}/lessons/{lesson.id}").data
    )

    client = app.test_client()
    sign_in(client, instructor)
    page = client.get(f"/courses/{course.code}/gradebook")
    assert page.status_code == 200
    assert trainee.name.encode() in page.data or b"page=2" in page.data
    assert client.get(f"/courses/{course.code}/grading").status_code == 200

    client = app.test_client()
    sign_in(client, _person(db, Role.CERTIFIER))
    assert client.get(f"/certification/schemes/{cert.scheme.code}").status_code == 200


def test_generated_certificates_verify(db, client):
    _generate()
    certs = db.session.scalars(sa.select(Certificate).order_by(Certificate.id)).all()
    assert certs
    db.session.commit()
    for cert in certs:
        report = client.get(f"/api/v1/verify/{cert.code}").get_json()
        assert report["status"] == cert.status
        assert report["valid"] is (cert.status == "active"), report
    active = next(c for c in certs if c.status == "active")
    uploaded = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(active.pdf), "certificate.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    report = uploaded.get_json()
    assert report["valid"] is True, report
    assert all(check["passed"] for check in report["checks"]), report["checks"]


def test_command_generates_into_a_fresh_database(tmp_path):
    from lms import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'generated.sqlite3'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_MEMORY_ALLOWED": True,
        }
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["generate", "--size", "XS", "--scale", "0.5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert f"{TINY.users:>10,}" in result.output
    again = runner.invoke(args=["generate", "--size", "XS", "--scale", "0.5"])
    assert again.exit_code == 1
    assert "already holds a generated site" in again.output
    bad = runner.invoke(args=["generate", "--scale", "0"])
    assert bad.exit_code == 2
    with app.app_context():
        from lms.extensions import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == TINY.users
        db.session.remove()
        db.engine.dispose()
