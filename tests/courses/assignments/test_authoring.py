"""Course staff create and edit assignments and build rubrics; grading locks the rubric."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments.models import Assignment, RubricCriterion, RubricLevel
from courses.assessments.models import Assessment, AssessmentKind
from lms.models import AuditLog


def _flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


FORM = {
    "title_en": "Stakeholder map <for> a pilot",
    "title_bg": "Карта на заинтересованите страни",
    "description_en": "Draw the **map**.",
    "max_points": "20",
    "category": "0",
    "due_at": "2030-03-01T17:30",
    "published": "y",
    "allow_text": "y",
    "allow_files": "y",
    "allowed_types": ["pdf", "docx"],
    "max_file_mb": "4",
    "max_files": "2",
    "late_policy": "penalise",
    "late_percent_per_day": "10",
    "resubmission": "due",
    "marking": "rubric",
}


def test_create_an_assignment_through_the_form(client, db, world, login_as):
    w = world
    login_as(w.instructor)
    assert client.get(f"/courses/{w.course.code}/assignments/new").status_code == 200
    response = client.post_form(f"/courses/{w.course.code}/assignments/new", FORM)
    assert response.status_code == 302, response.text
    assignment = db.session.scalars(sa.select(Assignment)).one()
    assessment = assignment.assessment
    assert "/rubric" in response.headers["Location"]
    assert assessment.kind == AssessmentKind.ASSIGNMENT
    assert assessment.course_id == w.course.id
    assert assessment.max_points == Decimal(20)
    # 17:30 in Sofia (UTC+2 in March) is 15:30 UTC.
    assert assessment.due_at == datetime(2030, 3, 1, 15, 30, tzinfo=UTC)
    assert assignment.type_keys == ["pdf", "docx"]
    assert assignment.max_file_bytes == 4 * 1024 * 1024
    assert assignment.late_policy == "penalise"
    assert assignment.late_percent_per_day == Decimal(10)
    assert assignment.resubmission == "due"
    assert db.session.scalar(sa.select(AuditLog.id).where(AuditLog.action == "assignment.create"))
    page = client.get(f"/courses/{w.course.code}/assignments/{assessment.id}")
    assert "Stakeholder map &lt;for&gt; a pilot" in page.text
    assert "<strong>map</strong>" in page.text

    edit_url = f"/courses/{w.course.code}/assignments/{assessment.id}/edit"
    page = client.get(edit_url)
    assert 'value="2030-03-01T17:30"' in page.text
    response = client.post_form(edit_url, {**FORM, "title_en": "Renamed", "max_points": "30"})
    assert response.status_code == 302
    db.session.expire_all()
    assert assessment.title_en == "Renamed"
    assert assessment.max_points == Decimal(30)


def test_rubric_builder_add_edit_remove(client, db, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course, criteria=[])
    base = f"/courses/{w.course.code}/assignments/{assignment.assessment_id}/rubric"
    login_as(w.instructor)
    page = client.get(base)
    assert "Add at least one criterion before grading." in page.text
    response = client.post_form(base + "/criteria", {"new-title_en": "Clarity <b>"})
    assert response.status_code == 302
    criterion = db.session.scalars(sa.select(RubricCriterion)).one()
    assert "The criterion Clarity &lt;b&gt; has no levels yet." in client.get(base).text

    for title, points in (("Weak", "0"), ("Strong", "4")):
        client.post_form(
            base + f"/criteria/{criterion.id}/levels",
            {"level-title_en": title, "level-points": points},
        )
    # A second level worth the same points is refused with a message.
    client.post_form(
        base + f"/criteria/{criterion.id}/levels", {"level-title_en": "Dup", "level-points": "4"}
    )
    assert "This criterion already has a level worth 4." in _flashes(client)
    client.post_form(
        base + f"/criteria/{criterion.id}/levels", {"level-title_en": "", "level-points": "-1"}
    )
    assert "This field is required." in _flashes(client)
    db.session.expire_all()
    assert [(lv.title_en, lv.points) for lv in criterion.levels] == [
        ("Weak", Decimal(0)),
        ("Strong", Decimal(4)),
    ]
    strong = criterion.levels[1]
    response = client.post_form(
        base + f"/levels/{strong.id}", {"title_en": "Excellent", "points": "5"}
    )
    assert response.status_code == 302
    response = client.post_form(base + f"/criteria/{criterion.id}", {"title_en": "Clarity"})
    assert response.status_code == 302
    db.session.expire_all()
    assert strong.title_en == "Excellent"
    assert strong.points == Decimal(5)
    assert criterion.title_en == "Clarity"
    weak = criterion.levels[0]
    client.post_form(base + f"/levels/{weak.id}/delete")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RubricLevel)) == 1
    client.post_form(base + f"/criteria/{criterion.id}/delete")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RubricCriterion)) == 0


def test_rubric_is_locked_once_grading_began(client, db, world, login_as, make_assignment, levels):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = ops.submit(assignment, w.trainee, text="x", actor=w.trainee)
    one, two = assignment.criteria
    ops.mark(
        submission,
        actor=w.instructor,
        choices={
            one.id: ids[("Stakeholders identified", "Partial")],
            two.id: ids[("Interests and influence", "Some")],
        },
    )
    db.session.commit()
    base = f"/courses/{w.course.code}/assignments/{assignment.assessment_id}/rubric"
    login_as(w.instructor)
    page = client.get(base)
    assert "the rubric is locked" in page.text
    assert "Add a criterion" not in page.text
    level = one.levels[0]
    attempts = [
        (base + "/criteria", {"new-title_en": "New"}),
        (base + f"/criteria/{one.id}", {"title_en": "Changed"}),
        (base + f"/criteria/{one.id}/delete", {}),
        (base + f"/criteria/{one.id}/levels", {"level-title_en": "X", "level-points": "9"}),
        (base + f"/levels/{level.id}", {"title_en": "Changed", "points": "1"}),
        (base + f"/levels/{level.id}/delete", {}),
    ]
    for url, data in attempts:
        response = client.post_form(url, data)
        message = "Grading has begun: the rubric is locked."
        # Edit pages show the form again with the message; the others redirect.
        assert message in response.text or message in _flashes(client), url
    db.session.expire_all()
    assert [c.title_en for c in assignment.criteria] == [
        "Stakeholders identified",
        "Interests and influence",
    ]
    assert len(one.levels) == 3
    assert level.title_en == "Missing"

    # Nor can the marking scheme or the points change.
    edit = f"/courses/{w.course.code}/assignments/{assignment.assessment_id}/edit"
    response = client.post_form(edit, {**FORM, "marking": "guide", "max_points": "100"})
    assert "marking scheme and maximum points can no longer change" in response.text
    db.session.expire_all()
    assert assignment.marking == "rubric"


def test_course_pages_link_the_assignments(client, world, login_as, make_assignment):
    w = world
    make_assignment(w.course, title="Published task")
    make_assignment(w.course, title="Hidden task", published=False)
    login_as(w.trainee)
    page = client.get(f"/courses/{w.course.code}")
    assert "Published task" in page.text
    assert "Hidden task" not in page.text
    login_as(w.outsider)
    page = client.get(f"/courses/{w.course.code}")
    assert "Published task" not in page.text
    login_as(w.instructor)
    page = client.get(f"/courses/{w.course.code}/manage")
    assert "Hidden task" in page.text
    assert "Grading queue" in page.text


def test_assessment_rows_are_only_of_kind_assignment(client, db, world, login_as):
    w = world
    quiz = Assessment(course=w.course, kind=AssessmentKind.QUIZ, title_en="Quiz")
    db.session.add(quiz)
    db.session.commit()
    login_as(w.instructor)
    assert client.get(f"/courses/{w.course.code}/assignments/{quiz.id}").status_code == 404


def test_switching_a_rubric_to_a_marking_guide_keeps_the_criteria_usable(
    db, world, make_assignment
):
    w = world
    assignment = make_assignment(w.course)
    data = ops.AssignmentData(
        title_en="Same", marking="guide", published=True, due_at=assignment.assessment.due_at
    )
    ops.update_assignment(assignment, data, actor=w.instructor)
    assert [c.guide_max for c in assignment.criteria] == [Decimal(5), Decimal(5)]
    assert ops.rubric_problem(assignment) is None
