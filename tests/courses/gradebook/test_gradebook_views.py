"""The instructor gradebook, manual grades, overrides, history and the trainee's own page."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import set_grade
from courses.assessments.models import Grade, GradeChange
from courses.gradebook.models import CourseGradeOverride, OverrideChange
from tests.conftest import count_queries

D = Decimal


def _grades(db):
    return db.session.execute(
        sa.select(Grade.user_id, Grade.assessment_id, Grade.points, Grade.status, Grade.version)
    ).all()


def _grade_changes(db):
    return db.session.scalar(sa.select(sa.func.count(GradeChange.id)))


@pytest.fixture
def world(db, make_class, make_category, make_assessment):
    world = make_class(2, code="GB1", names=["Мария Иванова", "<b>Bold</b> & Co"])
    oral = make_category(world.course, name_en="Oral", weight=40)
    written = make_category(world.course, name_en="Written", weight=60)
    world.exam = make_assessment(
        world.course,
        title_en="Oral exam",
        category=oral,
        max_points=20,
        pass_percent=50,
        required=True,
    )
    world.essay = make_assessment(
        world.course, title_en="Essay", category=written, max_points=10, kind="assignment"
    )
    return world


def test_gradebook_shows_points_drafts_and_the_released_course_grade(client, db, login_as, world):
    maria, bold = world.trainees
    set_grade(world.exam, maria, D(15), actor=world.instructor, release=True)
    set_grade(world.essay, maria, D(5), actor=world.instructor, release=True)
    set_grade(world.exam, bold, D(18), actor=world.instructor)  # a draft
    db.session.commit()
    login_as(world.instructor)

    html = client.get("/courses/GB1/gradebook").get_data(as_text=True)

    assert "Мария Иванова" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert "<b>Bold</b>" not in html
    # 75 % oral (weight 40) and 50 % written (weight 60): 60.
    assert re.search(r'fw-semibold">\s*60\s*<', html)
    assert "fst-italic" in html  # the draft
    assert "Essay" in html
    assert "Oral exam" in html


def test_gradebook_runs_a_fixed_number_of_queries(
    app, client, db, login_as, make_class, make_assessment, make_category
):
    counts = []
    for size, code in ((2, "FEW"), (20, "MANY")):
        world = make_class(size, code=code)
        category = make_category(world.course)
        assessments = [
            make_assessment(world.course, category=category, max_points=10) for _ in range(3)
        ]
        for trainee in world.trainees:
            for assessment in assessments:
                set_grade(assessment, trainee, D(7), actor=world.instructor, release=True)
        db.session.commit()
        login_as(world.instructor)
        with count_queries(app) as counter:
            response = client.get(f"/courses/{code}/gradebook")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("/history") == size
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 16


def test_cohort_filter(client, db, login_as, world, make_cohort, make_user, make_enrolment):
    other = make_cohort(world.course, name="Evening")
    late = make_user(name="Evening Person")
    make_enrolment(other, late)
    login_as(world.instructor)
    html = client.get(f"/courses/GB1/gradebook?cohort={other.id}").get_data(as_text=True)
    assert "Evening Person" in html
    assert "Мария Иванова" not in html
    assert client.get("/courses/GB1/gradebook?cohort=999999").status_code == 404


def _cell(world, trainee):
    return f"/courses/GB1/gradebook/assessments/{world.exam.id}/trainees/{trainee.id}"


def test_grade_a_manual_cell_then_change_it_with_a_reason(client, db, login_as, world):
    maria = world.trainees[0]
    login_as(world.instructor)
    response = client.post_form(_cell(world, maria), {"points": "12,5", "version": "0"})
    assert response.status_code == 302
    grade = db.session.scalar(sa.select(Grade).where(Grade.user_id == maria.id))
    assert (grade.points, grade.status, grade.version) == (D("12.5"), "draft", 1)

    # Changing an existing grade without a reason is refused, nothing changes.
    response = client.post_form(_cell(world, maria), {"points": "14", "version": "1"})
    assert response.status_code == 422
    assert "Give a reason for changing an existing grade." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Grade, grade.id).points == D("12.5")

    response = client.post_form(
        _cell(world, maria),
        {"points": "14", "version": "1", "reason": "Second examiner", "release": "y"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    grade = db.session.get(Grade, grade.id)
    assert (grade.points, grade.status, grade.version) == (D(14), "released", 2)
    change = db.session.scalars(
        sa.select(GradeChange).order_by(GradeChange.id.desc()).limit(1)
    ).one()
    assert (change.old_points, change.new_points, change.reason) == (
        D("12.5"),
        D(14),
        "Second examiner",
    )
    assert change.changed_by_id == world.instructor.id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"points": "21"}, "The points must be between 0 and 20"),
        ({"points": "-1"}, "The points must be between 0 and 20"),
        ({"points": "abc"}, "Enter a number"),
        ({"points": "NaN"}, "Enter a number"),
        ({"points": ""}, "Enter the points, or mark the trainee as excused."),
        ({"points": "5", "reason": "x" * 501}, "500"),
    ],
)
def test_bad_grades_are_refused_and_change_nothing(client, db, login_as, world, data, message):
    login_as(world.instructor)
    before = (_grades(db), _grade_changes(db))
    response = client.post_form(_cell(world, world.trainees[0]), {"version": "0", **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (_grades(db), _grade_changes(db)) == before


def test_a_trainee_who_left_cannot_be_graded(client, db, login_as, world):
    from courses.models import Enrolment

    maria = world.trainees[0]
    enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == maria.id))
    enrolment.status = "withdrawn"
    db.session.commit()
    login_as(world.instructor)
    response = client.post_form(_cell(world, maria), {"points": "10", "version": "0"})
    assert response.status_code == 422
    assert "is not enrolled in this course" in response.get_data(as_text=True)
    assert _grades(db) == []


def test_somebody_never_enrolled_is_not_found(client, db, login_as, world, make_user):
    stranger = make_user()
    login_as(world.instructor)
    response = client.post_form(_cell(world, stranger), {"points": "10", "version": "0"})
    assert response.status_code == 404
    assert _grades(db) == []


def test_a_stale_save_is_refused_and_the_entry_kept(client, db, login_as, world):
    maria = world.trainees[0]
    set_grade(world.exam, maria, D(10), actor=world.instructor)
    db.session.commit()
    login_as(world.instructor)
    form = client.get(_cell(world, maria)).get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form or 'value="1"' in form
    # Someone else saves in between.
    set_grade(world.exam, maria, D(11), actor=world.instructor, reason="other", expected_version=1)
    db.session.commit()

    response = client.post_form(
        _cell(world, maria), {"points": "17", "version": "1", "reason": "mine"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed by someone else" in html
    assert 'value="17"' in html  # the entry is kept
    db.session.expire_all()
    assert db.session.scalar(sa.select(Grade.points)) == D(11)
    # Saving again, knowingly, from the version now shown, works.
    response = client.post_form(
        _cell(world, maria), {"points": "17", "version": "2", "reason": "mine"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Grade.points)) == D(17)


def test_quiz_and_assignment_cells_are_not_edited_here(client, db, login_as, world):
    login_as(world.instructor)
    url = f"/courses/GB1/gradebook/assessments/{world.essay.id}/trainees/{world.trainees[0].id}"
    assert client.get(url).status_code == 404


def test_release_drafts_of_a_manual_assessment(client, db, login_as, world):
    for trainee in world.trainees:
        set_grade(world.exam, trainee, D(12), actor=world.instructor)
    db.session.commit()
    login_as(world.instructor)
    response = client.post_form(f"/courses/GB1/gradebook/assessments/{world.exam.id}/release")
    assert response.status_code == 302
    db.session.expire_all()
    assert {row.status for row in _grades(db)} == {"released"}
    # Trainees see it now.
    login_as(world.trainees[0])
    html = client.get("/courses/GB1/grades").get_data(as_text=True)
    assert "12/20" in html


def _override_url(world, trainee):
    return f"/courses/GB1/gradebook/trainees/{trainee.id}/override"


def test_override_needs_a_reason_and_a_grade_from_0_to_100(client, db, login_as, world):
    login_as(world.instructor)
    url = _override_url(world, world.trainees[0])
    for data, message in (
        ({"value": "80", "reason": ""}, "Give a reason for the override."),
        ({"value": "80", "reason": "   "}, "Give a reason for the override."),
        ({"value": "101", "reason": "x"}, "The grade must be between 0 and 100."),
        ({"value": "-1", "reason": "x"}, "The grade must be between 0 and 100."),
        ({"value": "abc", "reason": "x"}, "Enter the grade as a number from 0 to 100."),
        ({"value": "80.123", "reason": "x"}, "Use at most two decimal places."),
    ):
        response = client.post_form(url, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(CourseGradeOverride.id))) == 0


def test_override_set_and_removed_with_history(client, db, login_as, world):
    maria = world.trainees[0]
    set_grade(world.exam, maria, D(10), actor=world.instructor, release=True)
    db.session.commit()
    login_as(world.instructor)
    response = client.post_form(
        _override_url(world, maria), {"value": "88,5", "reason": "Exam board <decision>"}
    )
    assert response.status_code == 302
    html = client.get("/courses/GB1/gradebook").get_data(as_text=True)
    assert "88.5" in html
    assert "override" in html

    # Removing needs a reason too.
    remove = f"/courses/GB1/gradebook/trainees/{maria.id}/override/remove"
    response = client.post_form(remove, {"remove_reason": ""})
    assert response.status_code == 422
    assert "Give a reason for removing the override." in response.get_data(as_text=True)
    assert client.post_form(remove, {"remove_reason": "Board reversed"}).status_code == 302
    response = client.post_form(remove, {"remove_reason": "Again"})
    assert "There is no override to remove." in response.get_data(as_text=True)

    changes = db.session.execute(
        sa.select(
            OverrideChange.old_value,
            OverrideChange.new_value,
            OverrideChange.computed,
            OverrideChange.reason,
        ).order_by(OverrideChange.id)
    ).all()
    assert changes == [
        (None, D("88.5"), D(50), "Exam board <decision>"),
        (D("88.5"), None, D(50), "Board reversed"),
    ]
    history = client.get(f"/courses/GB1/gradebook/trainees/{maria.id}/history")
    html = history.get_data(as_text=True)
    assert "Exam board &lt;decision&gt;" in html
    assert "Board reversed" in html
    assert "Oral exam" in html  # the grade change
    assert "Instructor Ina" in html


def test_trainee_sees_only_released_grades_and_completion_reasons(
    client, db, login_as, world, make_module, make_lesson
):
    make_lesson(make_module(world.course))
    maria, bold = world.trainees
    set_grade(world.exam, maria, D(15), actor=world.instructor, release=True)
    set_grade(world.essay, maria, D(3), actor=world.instructor)  # a draft: hidden
    set_grade(world.exam, bold, D(19), actor=world.instructor, release=True)
    db.session.commit()
    login_as(maria)
    response = client.get("/courses/GB1/grades")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "15/20" in html
    assert "3/10" not in html
    assert "19/20" not in html
    assert "Bold" not in html
    assert "Not completed" in html
    assert "0 of 1 required lessons done." in html
    # The course grade counts the released oral exam only: 75.
    assert ">75<" in html


def test_csv_export_is_safe_and_reads_back(client, db, login_as, make_class, make_assessment):
    import csv

    world = make_class(2, code="CSV1", names=['=HYPERLINK("http://x")', "Ана-Мария Христова"])
    exam = make_assessment(world.course, title_en="+Oral", max_points=20)
    set_grade(exam, world.trainees[0], D("12.5"), actor=world.instructor, release=True)
    set_grade(exam, world.trainees[1], D(7), actor=world.instructor)
    db.session.commit()
    login_as(world.instructor)
    response = client.get("/courses/CSV1/gradebook.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    header, *data = rows
    assert header[3] == "'+Oral (of 20)"
    by_name = {row[0]: row for row in data}
    assert '\'=HYPERLINK("http://x")' in by_name
    assert "Ана-Мария Христова" in by_name
    assert by_name['\'=HYPERLINK("http://x")'][3] == "12.50"
    assert by_name["Ана-Мария Христова"][3] == "draft: 7"
    semicolon = client.get("/courses/CSV1/gradebook.csv?delimiter=semicolon").data
    assert b";" in semicolon.splitlines()[0]
