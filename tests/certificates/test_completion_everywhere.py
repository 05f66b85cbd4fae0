"""A course completion reads the same on every page, whatever happens to the course after it.

The demo's Елена Николова has completed SC-101 and is certified for S4C-PM; her
instructor then adds and publishes a required lesson, changes and releases
grades and raises the pass mark. After every step her grades page, her
dashboard, her certificates page and the instructor's gradebook must agree,
and must still say "completed". Only a correction of her own grade below what
the course needs takes the completion back, on all four pages at once.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app

from certificates import operations as cert_ops
from certificates import queries as cert_queries
from courses.assessments.grades import set_grade
from courses.assessments.models import Assessment
from courses.gradebook import operations as gradebook_ops
from courses.models import Course, Lesson
from lms.auth.operations import find_user_by_email
from tests.conftest import sign_in

ELENA = "elena.nikolova@example.org"
ANNA = "anna.koleva@example.org"  # teaches SC-101
PETYA = "petya.angelova@example.org"  # certifier


@pytest.fixture
def demo(db):
    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    for email in (ELENA, ANNA):
        find_user_by_email(email).locale = "en"
    db.session.commit()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _grades_page(client) -> bool:
    html = client.get("/courses/SC-101/grades").text
    status = re.search(r'id="completion-status">(.*?)</p>', html, re.S).group(1)
    return "Not completed" not in _text(status) and "Completed" in _text(status)


def _dashboard(client) -> bool:
    html = client.get("/dashboard").text
    card = next(c for c in html.split('<div class="card h-100">') if 'href="/courses/SC-101"' in c)
    return ">Completed<" in card


def _certificates_page(client) -> bool:
    html = client.get("/my/certificates").text
    scheme = next(c for c in html.split('<div class="card mb-3">') if "S4C-PM —" in c)
    item = next(li for li in scheme.split("<li>") if "Course SC-101" in li)
    return "✓" in item and "not completed" not in item


def _gradebook(client) -> bool:
    html = client.get("/courses/SC-101/gradebook?q=nikolova").text
    # English pages name her in Latin letters (her name_latin).
    row = next(r for r in html.split("<tr") if "Elena Nikolova" in r)
    return ">Completed<" in row


def _walk(client, db) -> dict[str, bool]:
    """What each page says about Elena's completion of SC-101."""
    db.session.commit()
    elena, anna = find_user_by_email(ELENA), find_user_by_email(ANNA)
    sign_in(client, elena)
    seen = {
        "grades": _grades_page(client),
        "dashboard": _dashboard(client),
        "certificates": _certificates_page(client),
    }
    sign_in(client, anna)
    seen["gradebook"] = _gradebook(client)
    return seen


def _all(value: bool) -> dict[str, bool]:
    return dict.fromkeys(("grades", "dashboard", "certificates", "gradebook"), value)


def test_adding_content_never_takes_back_a_completion_and_every_page_agrees(db, client, demo):
    elena, anna = find_user_by_email(ELENA), find_user_by_email(ANNA)
    course = db.session.scalar(sa.select(Course).where(Course.code == "SC-101"))
    assert _walk(client, db) == _all(True)

    scheme = cert_queries.scheme_by_code("S4C-PM")
    cert = cert_ops.issue_certificate(scheme, elena, actor=find_user_by_email(PETYA))
    assert _walk(client, db) == _all(True)

    # The instructor adds a required lesson: a draft, which Elena does not see.
    sign_in(client, anna)
    module = course.modules[-1]
    response = client.post_form(
        f"/courses/SC-101/modules/{module.id}/lessons/new",
        {"title_en": "Test lesson", "workload_minutes": "30", "required": "y", "submit": "Save"},
    )
    assert response.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.title_en == "Test lesson"))
    assert lesson.required
    assert not lesson.published
    assert _walk(client, db) == _all(True)
    sign_in(client, elena)
    assert client.get(f"/courses/SC-101/lessons/{lesson.id}").status_code == 404
    assert "Test lesson" not in client.get("/dashboard").text
    assert "Test lesson" not in client.get("/courses/SC-101").text

    # Published: she sees it and may study it; her completion stays, and says so.
    sign_in(client, anna)
    response = client.post_form(f"/courses/SC-101/lessons/{lesson.id}/publish", {"published": "1"})
    assert response.status_code == 302
    assert db.session.get(Lesson, lesson.id).published
    assert _walk(client, db) == _all(True)
    sign_in(client, elena)
    dashboard = _text(client.get("/dashboard").text)
    assert "Study next: Test lesson" in dashboard
    assert "your completion stays" in dashboard
    grades = _text(client.get("/courses/SC-101/grades").text)
    assert "the completion stays" in grades
    assert "lessons or assessments published later do not take it back" in grades
    assert client.get(f"/courses/SC-101/lessons/{lesson.id}").status_code == 200

    # A new required assessment, graded and released below its pass mark.
    exam = Assessment(
        course=course,
        title_en="Late addition",
        kind="manual",
        max_points=Decimal(10),
        required=True,
        published=True,
        pass_percent=Decimal(60),
        position=99,
    )
    db.session.add(exam)
    db.session.flush()
    gradebook_ops.recompute_course(course, "A required assessment was published.", actor=None)
    assert _walk(client, db) == _all(True)
    set_grade(exam, elena, Decimal(3), actor=anna)  # a draft
    assert _walk(client, db) == _all(True)
    set_grade(exam, elena, Decimal(3), actor=anna, release=True)  # released, below 60 %
    assert _walk(client, db) == _all(True)

    # A grade change that still passes, and a higher pass mark for the course.
    oral = db.session.scalar(
        sa.select(Assessment).where(
            Assessment.course_id == course.id,
            Assessment.required.is_(True),
            Assessment.id != exam.id,
        )
    )
    set_grade(oral, elena, Decimal(16), actor=anna, reason="Recount")
    assert _walk(client, db) == _all(True)
    gradebook_ops.set_pass_mark(course, "95", actor=anna)
    assert _walk(client, db) == _all(True)
    gradebook_ops.set_pass_mark(course, "50", actor=anna)

    # She studies the new lesson: nothing changes but the progress.
    from courses.enrolment.operations import mark_lesson_done

    mark_lesson_done(elena, db.session.get(Lesson, lesson.id), actor=elena)
    assert _walk(client, db) == _all(True)

    # A correction of her own oral exam below its pass percentage takes it back, everywhere.
    set_grade(oral, elena, Decimal(2), actor=anna, reason="Marked against the wrong sheet")
    assert _walk(client, db) == _all(False)
    assert db.session.get(type(cert), cert.id).needs_review
