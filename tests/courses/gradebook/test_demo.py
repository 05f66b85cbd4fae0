"""The gradebook demo: categories, an oral examination, released grades and completion."""

from decimal import Decimal

import sqlalchemy as sa

from courses import demo as courses_demo
from courses.assessments.models import Assessment, Grade, GradeCategory
from courses.demo import gradebook as demo
from courses.gradebook.models import CompletionChange, CourseCompletion
from courses.models import Course
from lms.auth.operations import find_user_by_email

COUNTED = (GradeCategory, Assessment, Grade, CourseCompletion, CompletionChange)


def _counts(db):
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in COUNTED
    }


def _completion(db, email, code):
    return db.session.scalar(
        sa.select(CourseCompletion)
        .join(Course, Course.id == CourseCompletion.course_id)
        .where(Course.code == code, CourseCompletion.user_id == find_user_by_email(email).id)
    )


def test_demo_completes_one_cyrillic_trainee_and_not_another(db, client):
    courses_demo.load()
    assert demo.load() == []
    db.session.flush()
    first = _counts(db)
    assert demo.load() == []
    db.session.flush()
    assert _counts(db) == first  # idempotent

    elena = _completion(db, "elena.nikolova@example.org", "SC-101")
    assert elena.completed
    assert elena.completed_at is not None
    assert elena.grade == Decimal(85)
    assert find_user_by_email("elena.nikolova@example.org").name == "Елена Николова"
    maria = _completion(db, "maria.ivanova@example.org", "SC-101")
    assert maria is not None
    assert not maria.completed
    sc101 = db.session.scalar(sa.select(Course).where(Course.code == "SC-101"))
    assert sc101.pass_mark == Decimal(60)
    names = db.session.scalars(
        sa.select(GradeCategory.name_bg).where(GradeCategory.course_id == sc101.id)
    ).all()
    assert "Устен изпит" in names
    drafts = db.session.scalars(sa.select(Grade).where(Grade.status == "draft")).all()
    assert len(drafts) == 1


def test_demo_pages_render(db, client, login_as):
    courses_demo.load()
    demo.load()
    db.session.commit()
    login_as(find_user_by_email("anna.koleva@example.org"))
    html = client.get("/courses/SC-101/gradebook").get_data(as_text=True)
    assert "Елена Николова" in html
    assert "Мария Иванова" in html
    login_as(find_user_by_email("elena.nikolova@example.org"))
    html = client.get("/courses/SC-101/grades").get_data(as_text=True)
    assert "17/20" in html
    assert "Completed" in html
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "/courses/SC-101/grades" in dashboard
