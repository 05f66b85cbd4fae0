"""The trainee's profile page, its chart and query count, and the transcript PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from courses.assessments.grades import set_grade
from courses.competencies import operations as ops
from courses.gradebook.models import CourseCompletion
from lms import pdfsign
from tests.conftest import count_queries


def _text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages
    )


@pytest.fixture
def record(db, classroom, make_assessment):
    assessment = make_assessment(classroom.course, title_en="Charter review", pass_percent=50)
    ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(3), actor=classroom.admin
    )
    set_grade(assessment, classroom.trainee, Decimal(70), actor=classroom.instructor, release=True)
    ops.record_evidence(
        classroom.trainee,
        classroom.competencies[2],
        classroom.level(2),
        actor=classroom.instructor,
        note="Kept the <risk> register",
        course=classroom.course,
    )
    db.session.commit()
    return classroom


def test_own_profile_shows_levels_evidence_chart_and_the_rule(client, login_as, record):
    login_as(record.trainee)
    response = client.get("/competencies/profile")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "My competency profile" in html
    assert "How your level is decided" in html
    assert "1 of 3 competencies at or above the proficient level (3 — Proficient)" in html
    assert "3 — Proficient" in html
    assert "2 — Basic" in html
    assert "Kept the &lt;risk&gt; register" in html
    assert "<risk>" not in html
    assert "Passed Charter review." in html
    assert "decides the level" in html
    # The chart: inline SVG with a text alternative, no script, no external resources.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg
    assert "<title" in svg
    assert "<desc" in svg
    assert "PM.1: 3 — Proficient (proficient)." in svg
    # A track per competency (the PM grouping has none) and a bar per level shown.
    assert svg.count("<rect") == 2 + 2
    assert ">PM<" not in svg
    assert "stroke-dasharray" in svg  # the proficient line
    assert "<script" not in html.split("</main>")[0]
    assert "cdn" not in svg.lower()


def test_profile_of_someone_without_records(client, login_as, make_user):
    login_as(make_user())
    html = client.get("/competencies/profile").get_data(as_text=True)
    assert "No competency records yet" in html


def test_staff_see_the_trainees_profile(client, login_as, record):
    login_as(record.instructor)
    html = client.get(f"/competencies/trainees/{record.trainee.id}").get_data(as_text=True)
    assert "Мария Иванова" in html
    assert "How the level is decided" in html


def test_profile_query_count_does_not_grow_with_competencies(
    client, db, login_as, record, make_competency
):
    login_as(record.certifier)
    url = f"/competencies/trainees/{record.trainee.id}"
    db.session.expire_all()  # every request starts from a cold session
    with count_queries(client.application) as small:
        assert client.get(url).status_code == 200
    for n in range(12):
        competency = make_competency(record.framework, code=f"X{n}")
        ops.record_evidence(
            record.trainee,
            competency,
            record.level(1 + n % 5),
            actor=record.instructor,
            note=f"note {n}",
            course=record.course,
        )
    db.session.commit()
    db.session.expire_all()
    with count_queries(client.application) as large:
        html = client.get(url).get_data(as_text=True)
    assert "X11" in html
    assert large.count == small.count, "\n".join(
        s[:90].replace("\n", " ") for s in large.statements
    )


def test_transcript_pdf_with_cyrillic_name_courses_and_levels(client, db, login_as, record):
    # The gradebook may have recorded the course already when the grade was set.
    completion = db.session.scalar(
        sa.select(CourseCompletion).filter_by(user_id=record.trainee.id, course_id=record.course.id)
    )
    if completion is None:
        completion = CourseCompletion(user_id=record.trainee.id, course_id=record.course.id)
        db.session.add(completion)
    completion.completed = True
    completion.grade = Decimal("87.5")
    completion.completed_at = datetime(2026, 3, 14, 10, tzinfo=UTC)
    db.session.commit()
    login_as(record.trainee)
    response = client.get("/competencies/transcript.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.startswith(b"%PDF")
    text = _text(response.data)
    assert "Мария Иванова" in text
    assert record.course.code in text
    assert "87.5" in text
    assert "14.03.2026" in text
    assert record.other_course.code not in text
    # Levels print in both languages: anyone may read the transcript.
    assert "PM.1" in text
    assert "3 — Компетентност / Proficient" in text
    assert "PM.2" in text
    assert "2 — Основно ниво / Basic" in text
    # Signed by the centre over the whole file, like a certificate.
    assert pdfsign.check_signature(response.data, pdfsign.current_identity().certificates).passed
    # Staff download the same record.
    login_as(record.certifier)
    response = client.get(f"/competencies/trainees/{record.trainee.id}/transcript.pdf")
    assert "Мария Иванова" in _text(response.data)


def test_transcript_drops_a_withdrawn_level(client, db, login_as, record):
    from courses.assessments.models import Assessment

    assessment = db.session.query(Assessment).filter_by(title_en="Charter review").one()
    set_grade(assessment, record.trainee, Decimal(10), actor=record.instructor)
    db.session.commit()
    login_as(record.trainee)
    text = _text(client.get("/competencies/transcript.pdf").data)
    assert "PM.1" not in text
    assert "PM.2" in text
