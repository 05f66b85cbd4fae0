"""Gradebook setup: categories, the pass mark, manual assessments and their categories."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.models import Assessment, GradeCategory
from courses.models import Course

D = Decimal


def _categories(db):
    return db.session.execute(
        sa.select(
            GradeCategory.course_id,
            GradeCategory.name_en,
            GradeCategory.name_bg,
            GradeCategory.weight,
            GradeCategory.drop_lowest,
        ).order_by(GradeCategory.id)
    ).all()


@pytest.fixture
def world(db, make_class):
    return make_class(1, code="SET1")


def test_add_edit_and_delete_a_category(client, db, login_as, world):
    login_as(world.instructor)
    response = client.post_form(
        "/courses/SET1/gradebook/categories/new",
        {"name_en": "Quizzes", "name_bg": "Тестове", "weight": "30,5", "drop_lowest": "1"},
    )
    assert response.status_code == 302
    assert _categories(db) == [(world.course.id, "Quizzes", "Тестове", D("30.5"), 1)]
    category = db.session.scalars(sa.select(GradeCategory)).one()

    html = client.get("/courses/SET1/gradebook/setup").get_data(as_text=True)
    assert "Тестове" not in html or "Quizzes" in html
    assert "Quizzes" in html
    assert "30.5" in html

    response = client.post_form(
        f"/courses/SET1/gradebook/categories/{category.id}/edit",
        {"name_en": "Tests", "name_bg": "", "weight": "40", "drop_lowest": "0"},
    )
    assert response.status_code == 302
    assert _categories(db) == [(world.course.id, "Tests", "", D(40), 0)]

    response = client.post_form(f"/courses/SET1/gradebook/categories/{category.id}/delete")
    assert response.status_code == 302
    assert _categories(db) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"weight": "-1"}, "The weight cannot be negative."),
        ({"weight": "abc"}, "Enter a number"),
        ({"weight": ""}, "Give the category a weight."),
        ({"weight": "1.234"}, "Use at most two decimal places."),
        ({"drop_lowest": "-1"}, "Drop between 0 and 100 grades."),
        ({"name_en": ""}, "This field is required."),
        ({"name_en": "x" * 121}, "Field cannot be longer than 120 characters."),
        ({"name_en": "Taken"}, "This course already has a category with this name."),
    ],
)
def test_bad_categories_are_refused(client, db, login_as, world, make_category, data, message):
    make_category(world.course, name_en="Taken")
    login_as(world.instructor)
    before = _categories(db)
    form = {"name_en": "Quizzes", "weight": "10", "drop_lowest": "0", **data}
    response = client.post_form("/courses/SET1/gradebook/categories/new", form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _categories(db) == before


def test_a_used_category_cannot_be_deleted(
    client, db, login_as, world, make_category, make_assessment
):
    category = make_category(world.course, name_en="Exams")
    make_assessment(world.course, category=category)
    login_as(world.instructor)
    response = client.post_form(
        f"/courses/SET1/gradebook/categories/{category.id}/delete", follow_redirects=True
    )
    assert "still holds 1 assessments" in response.get_data(as_text=True)
    assert len(_categories(db)) == 1


def test_pass_mark(client, db, login_as, world):
    login_as(world.instructor)
    for bad, message in (
        ("101", "The pass mark must be a number from 0 to 100."),
        ("-5", "The pass mark must be a number from 0 to 100."),
        ("", "Enter the pass mark."),
        ("fifty", "Enter a number"),
    ):
        response = client.post_form("/courses/SET1/gradebook/pass-mark", {"pass_mark": bad})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Course, world.course.id).pass_mark == D(50)
    response = client.post_form("/courses/SET1/gradebook/pass-mark", {"pass_mark": "62,5"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Course, world.course.id).pass_mark == D("62.5")


def test_new_and_edited_manual_assessment(client, db, login_as, world, make_category):
    category = make_category(world.course, name_en="Oral")
    login_as(world.instructor)
    response = client.post_form(
        "/courses/SET1/gradebook/assessments/new",
        {
            "title_en": "Oral examination",
            "title_bg": "Устен изпит",
            "max_points": "20",
            "pass_percent": "60",
            "required": "y",
            "category": str(category.id),
            "due_at": "2030-06-01T10:00",
            "published": "y",
        },
    )
    assert response.status_code == 302
    exam = db.session.scalars(sa.select(Assessment)).one()
    assert (exam.kind, exam.max_points, exam.pass_percent, exam.required, exam.category_id) == (
        "manual",
        D(20),
        D(60),
        True,
        category.id,
    )
    assert exam.due_at.isoformat() == "2030-06-01T07:00:00+00:00"  # Sofia is UTC+3 in June

    form = client.get(f"/courses/SET1/gradebook/assessments/{exam.id}/edit").get_data(as_text=True)
    assert 'value="2030-06-01T10:00"' in form
    response = client.post_form(
        f"/courses/SET1/gradebook/assessments/{exam.id}/edit",
        {
            "title_en": "Oral exam",
            "max_points": "25",
            "category": "0",
            "due_at": "",
            "published": "y",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    exam = db.session.get(Assessment, exam.id)
    assert (exam.title_en, exam.max_points, exam.required, exam.category_id, exam.due_at) == (
        "Oral exam",
        D(25),
        False,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_points": "0"}, "The maximum points must be above 0."),
        ({"max_points": "-3"}, "The maximum points must be above 0."),
        ({"pass_percent": "101"}, "The pass percentage must be between 0 and 100."),
        ({"title_en": ""}, "This field is required."),
        ({"category": "999999"}, "Not a valid choice."),
        ({"due_at": "tomorrow"}, "Not a valid datetime value."),
    ],
)
def test_bad_manual_assessments_are_refused(client, db, login_as, world, data, message):
    login_as(world.instructor)
    form = {"title_en": "Oral", "max_points": "20", "category": "0", **data}
    response = client.post_form("/courses/SET1/gradebook/assessments/new", form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Assessment.id))) == 0


def test_max_points_cannot_drop_below_a_given_grade(client, db, login_as, world, make_assessment):
    from courses.assessments.grades import set_grade

    exam = make_assessment(world.course, max_points=20)
    set_grade(exam, world.trainees[0], D(18), actor=world.instructor)
    db.session.commit()
    login_as(world.instructor)
    response = client.post_form(
        f"/courses/SET1/gradebook/assessments/{exam.id}/edit",
        {"title_en": "Oral", "max_points": "10", "category": "0"},
    )
    assert "A trainee already has 18" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Assessment, exam.id).max_points == D(20)


def test_any_assessment_can_be_put_in_a_category_of_its_course(
    client, db, login_as, world, make_category, make_assessment, make_course
):
    quiz = make_assessment(world.course, kind="quiz")
    mine = make_category(world.course, name_en="Quizzes")
    theirs = make_category(make_course(), name_en="Elsewhere")
    login_as(world.instructor)
    url = f"/courses/SET1/gradebook/assessments/{quiz.id}/category"
    assert client.post_form(url, {"category": str(mine.id)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Assessment, quiz.id).category_id == mine.id

    response = client.post_form(url, {"category": str(theirs.id)}, follow_redirects=True)
    assert "Not a valid choice." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Assessment, quiz.id).category_id == mine.id
    # Quizzes are not edited here.
    assert client.get(f"/courses/SET1/gradebook/assessments/{quiz.id}/edit").status_code == 404


def test_setup_flags_uncounted_assessments(
    client, db, login_as, world, make_category, make_assessment
):
    make_category(world.course, name_en="Exams")
    make_assessment(world.course, title_en="Lost quiz", kind="quiz")
    login_as(world.instructor)
    html = client.get("/courses/SET1/gradebook/setup").get_data(as_text=True)
    assert "Not counted: no category" in html
    html = client.get("/courses/SET1/gradebook").get_data(as_text=True)
    assert "Lost quiz" in html
    assert "not counted in the course grade" in html
