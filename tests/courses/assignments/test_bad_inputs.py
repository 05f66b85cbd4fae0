"""Every bad input gives a clear message and changes nothing: database and upload folder."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments.models import (
    CriterionMark,
    Submission,
    SubmissionFile,
    SubmissionStatus,
)
from courses.assessments.models import Grade, GradeChange
from courses.models import Enrolment, EnrolmentStatus
from lms.models import AuditLog
from tests.courses.assignments.conftest import PDF, PNG, upload_files


def _url(w, a, suffix=""):
    return f"/courses/{w.course.code}/assignments/{a.assessment_id}{suffix}"


def _state(db, app):
    counts = tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Submission, SubmissionFile, CriterionMark, Grade, GradeChange, AuditLog)
    )
    return counts, upload_files(app)


def _flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def _hand_in(client, w, a, data):
    return client.post_form(_url(w, a, "/submit"), data, content_type="multipart/form-data")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"files": (io.BytesIO(PDF + b"x" * 2048), "big.pdf")},
            "big.pdf is larger than 2 KB.",
        ),
        (
            {"files": (io.BytesIO(b"MZ..."), "tool.exe")},
            "tool.exe: this type of file is not accepted.",
        ),
        (
            {"files": (io.BytesIO(PNG), "scan.pdf")},
            "scan.pdf is not a real PDF document file: its content does not match its extension.",
        ),
        (
            {"text": "  \n  "},
            "The submission is empty: write a text or attach a file.",
        ),
        (
            {"text": "ok", "files": [(io.BytesIO(PDF), f"{n}.pdf") for n in range(3)]},
            "Attach at most 2 files.",
        ),
        (
            # the second file is bad: the first, already stored, must go again
            {"files": [(io.BytesIO(PDF), "good.pdf"), (io.BytesIO(PNG), "bad.pdf")]},
            "bad.pdf is not a real PDF document file",
        ),
    ],
)
def test_bad_uploads_change_nothing(
    client, db, app, world, login_as, make_assignment, data, message
):
    w = world
    assignment = make_assignment(w.course, allowed_types=["pdf"], max_file_bytes=2048, max_files=2)
    login_as(w.trainee)
    before = _state(db, app)
    response = _hand_in(client, w, assignment, data)
    assert response.status_code == 302
    assert any(message in text for text in _flashes(client)), _flashes(client)
    assert _state(db, app) == before
    page = client.get(_url(w, assignment))
    assert message.split(":")[0].split(" is ")[0] in page.text  # the message is shown


def test_files_to_a_text_only_assignment_are_refused(
    client, db, app, world, login_as, make_assignment
):
    w = world
    assignment = make_assignment(w.course, allow_files=False)
    login_as(w.trainee)
    before = _state(db, app)
    _hand_in(client, w, assignment, {"files": (io.BytesIO(PDF), "a.pdf")})
    assert "This assignment accepts text only, not files." in _flashes(client)
    assert _state(db, app) == before


def test_late_submission_under_refuse_policy(client, db, app, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course, due_in=timedelta(hours=-2), late_policy="refuse")
    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert "late submissions are not accepted" in page.text
    assert 'enctype="multipart/form-data"' not in page.text  # no form to fill in vain
    before = _state(db, app)
    _hand_in(client, w, assignment, {"text": "late", "files": (io.BytesIO(PDF), "a.pdf")})
    assert any("late submissions are not accepted" in m for m in _flashes(client))
    assert _state(db, app) == before


def test_not_enrolled_trainee_cannot_hand_in(client, db, app, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course)
    login_as(w.outsider)
    before = _state(db, app)
    response = _hand_in(client, w, assignment, {"text": "hello"})
    assert response.status_code == 403
    assert _state(db, app) == before


def _submitted(db, w, assignment, user=None, **kwargs):
    submission = ops.submit(
        assignment, user or w.trainee, text=kwargs.get("text", "My map"), actor=user or w.trainee
    )
    db.session.commit()
    return submission


def test_rubric_level_of_another_criterion_is_refused(
    client, db, app, world, login_as, make_assignment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = _submitted(db, w, assignment)
    first, second = assignment.criteria
    login_as(w.instructor)
    before = _state(db, app)
    url = _url(w, assignment, f"/submissions/{submission.id}")
    response = client.post_form(
        url,
        {
            f"criterion_{first.id}": ids[("Interests and influence", "Clear")],  # wrong criterion
            f"criterion_{second.id}": ids[("Interests and influence", "Clear")],
            "grade_version": "0",
            "marking_version": "0",
            "save": "1",
        },
    )
    assert response.status_code == 200
    assert "Choose one of the levels of this criterion." in response.text
    assert _state(db, app) == before

    # The operation refuses it too, whatever the form let through.
    with pytest.raises(ops.AssignmentError, match="not one of its levels"):
        ops.mark(
            submission,
            actor=w.instructor,
            choices={first.id: ids[("Interests and influence", "Clear")], second.id: 0},
        )
    db.session.rollback()
    with pytest.raises(ops.AssignmentError, match="criterion of another assignment"):
        ops.mark(submission, actor=w.instructor, choices={first.id: 1, 999_999: 1})
    db.session.rollback()
    assert _state(db, app) == before


def test_missing_criterion_and_garbage_are_refused(
    client, db, app, world, login_as, make_assignment
):
    w = world
    assignment = make_assignment(w.course)
    submission = _submitted(db, w, assignment)
    first, _second = assignment.criteria
    login_as(w.instructor)
    before = _state(db, app)
    response = client.post_form(
        _url(w, assignment, f"/submissions/{submission.id}"),
        {f"criterion_{first.id}": "abc", "grade_version": "0", "save": "1"},
    )
    assert response.status_code == 200
    assert "Give a mark for Interests and influence." in response.text
    assert _state(db, app) == before


def test_marking_guide_mark_above_the_criterion_maximum(
    client, db, app, world, login_as, make_assignment
):
    w = world
    assignment = make_assignment(
        w.course, marking="guide", criteria=[("Analysis", 10), ("Presentation", 5)]
    )
    submission = _submitted(db, w, assignment)
    analysis, presentation = assignment.criteria
    login_as(w.instructor)
    before = _state(db, app)
    response = client.post_form(
        _url(w, assignment, f"/submissions/{submission.id}"),
        {
            f"criterion_{analysis.id}": "11",
            f"criterion_{presentation.id}": "-1",
            "grade_version": "0",
            "save": "1",
        },
    )
    assert response.status_code == 200
    assert "Give between 0 and 10.00 points." in response.text
    assert "Give between 0 and 5.00 points." in response.text
    assert _state(db, app) == before
    with pytest.raises(ops.AssignmentError, match="between 0 and 5"):
        ops.mark(
            submission,
            actor=w.instructor,
            choices={analysis.id: Decimal(10), presentation.id: Decimal("5.01")},
        )
    db.session.rollback()
    assert _state(db, app) == before


def test_grade_for_a_trainee_no_longer_enrolled(
    client, db, app, world, login_as, make_assignment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = _submitted(db, w, assignment)
    enrolment = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.user_id == w.trainee.id)
    ).one()
    enrolment.status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    first, second = assignment.criteria
    login_as(w.instructor)
    before = _state(db, app)
    response = client.post_form(
        _url(w, assignment, f"/submissions/{submission.id}"),
        {
            f"criterion_{first.id}": ids[("Stakeholders identified", "Complete")],
            f"criterion_{second.id}": ids[("Interests and influence", "Clear")],
            "grade_version": "0",
            "marking_version": "0",
            "save": "1",
        },
    )
    assert response.status_code == 302
    assert any("is not enrolled in this course any more" in m for m in _flashes(client))
    assert _state(db, app) == before
    db.session.expire_all()
    assert submission.status == SubmissionStatus.SUBMITTED


def test_points_only_marking_outside_the_range(client, db, app, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course, marking="points", max_points=Decimal(20))
    submission = _submitted(db, w, assignment)
    login_as(w.instructor)
    before = _state(db, app)
    for value in ("21", "-1", "NaN", "x"):
        response = client.post_form(
            _url(w, assignment, f"/submissions/{submission.id}"),
            {"points": value, "grade_version": "0", "save": "1"},
        )
        assert response.status_code == 200
        assert 'class="invalid-feedback d-block"' in response.text
    assert _state(db, app) == before


def test_assignment_form_errors_change_nothing(client, db, app, world, login_as):
    w = world
    login_as(w.instructor)
    before = _state(db, app)
    response = client.post_form(
        f"/courses/{w.course.code}/assignments/new",
        {
            "title_en": "",
            "max_points": "0",
            "allow_text": "",
            "allow_files": "",
            "late_policy": "penalise",
            "late_percent_per_day": "",
            "resubmission": "due",
            "marking": "rubric",
            "max_file_mb": "99",
            "max_files": "1",
            "category": "0",
        },
    )
    assert response.status_code == 200
    for message in (
        "This field is required.",
        "Allow text, files or both.",
        "A late penalty needs a percentage per day above 0.",
        "A late policy other than &#39;accept&#39; needs a due date.",
        "Resubmission until the due date needs a due date.",
        "Number must be between 1 and 15.",
    ):
        assert message in response.text, message
    assert _state(db, app) == before
