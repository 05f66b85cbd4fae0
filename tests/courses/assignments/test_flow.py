"""End to end through the pages: hand in, grade with the rubric, release, see the result."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.assignments.models import (
    CriterionMark,
    MarkingStatus,
    Submission,
    SubmissionFile,
    SubmissionStatus,
)
from courses.assessments.models import Grade, GradeChange, GradeStatus
from tests.courses.assignments.conftest import PDF


def _url(w, a, suffix=""):
    return f"/courses/{w.course.code}/assignments/{a.assessment_id}{suffix}"


def test_hand_in_grade_release_and_see(client, db, world, login_as, make_assignment, levels):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor)
    ids = levels(assignment)

    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert page.status_code == 200
    assert "Stakeholders identified" in page.text  # the rubric is shown before handing in
    response = client.post_form(
        _url(w, assignment, "/submit"),
        {"text": "Map <b>v1</b>", "files": (io.BytesIO(PDF), "Карта на заинтересованите.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    submission = db.session.scalars(sa.select(Submission)).one()
    assert submission.text == "Map <b>v1</b>"
    assert submission.attempt == 1
    stored = submission.files[0]
    assert stored.original_name == "Карта на заинтересованите.pdf"
    assert stored.content_type == "application/pdf"
    assert stored.size == len(PDF)
    assert stored.file_key == stored.sha256 == hashlib.sha256(PDF).hexdigest()

    page = client.get(_url(w, assignment))
    assert "Map &lt;b&gt;v1&lt;/b&gt;" in page.text  # escaped

    login_as(w.instructor)
    queue = client.get(_url(w, assignment, "/grading"))
    assert queue.status_code == 200
    assert "Мария Иванова" in queue.text
    grade_url = _url(w, assignment, f"/submissions/{submission.id}")
    page = client.get(grade_url)
    assert page.status_code == 200
    assert 'name="grade_version" type="hidden" value="0"' in page.text
    response = client.post_form(
        grade_url,
        {
            f"criterion_{assignment.criteria[0].id}": ids[("Stakeholders identified", "Complete")],
            f"criterion_{assignment.criteria[1].id}": ids[("Interests and influence", "Some")],
            "feedback": "Good map; say more about influence.",
            "grade_version": "0",
            "marking_version": "0",
            "save": "Save draft",
        },
    )
    assert response.status_code == 302, response.text
    db.session.expire_all()
    grade = db.session.scalars(sa.select(Grade)).one()
    assert grade.points == Decimal("70.00")  # 7 of 10 rubric points scaled to 100
    assert grade.status == GradeStatus.DRAFT
    assert submission.status == SubmissionStatus.GRADED
    assert submission.marking_status == MarkingStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CriterionMark)) == 2

    # Nothing is visible to the trainee before release.
    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert "Good map" not in page.text
    assert "70.00" not in page.text

    login_as(w.instructor)
    response = client.post_form(_url(w, assignment, "/release"))
    assert response.status_code == 302
    db.session.expire_all()
    assert grade.status == GradeStatus.RELEASED
    assert submission.marking_status == MarkingStatus.RELEASED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange)) == 2

    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert "Good map; say more about influence." in page.text
    assert "70.00" in page.text
    assert "✓" in page.text  # the chosen levels are marked

    download = client.get(_url(w, assignment, f"/files/{stored.id}"))
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%D0%9A%D0%B0%D1%80%D1%82%D0%B0" in disposition
    assert 'filename="submission.pdf"' in disposition
    download.close()
    assert db.session.get(SubmissionFile, stored.id) is not None
