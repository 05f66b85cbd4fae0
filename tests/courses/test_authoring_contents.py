"""Authoring a course's contents: modules, lessons, learning outcomes and their order."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from courses import operations as ops
from courses.models import LearningOutcome, Lesson, LessonProgress, Module
from lms.models import Role


@pytest.fixture
def course(make_user, make_course, login_as):
    """A course taught by the logged-in instructor."""
    teacher = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="AUTH-1", instructors=[teacher])
    login_as(teacher)
    return course


def positions(db, model, parent_column, parent_id) -> list[tuple[int, int]]:
    """Return (id, position) pairs in order, read fresh from the database."""
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(model.id, model.position)
            .where(parent_column == parent_id)
            .order_by(model.position)
        )
    ]


def lesson_form(**overrides) -> dict:
    data = {
        "title_en": "Reading a city budget",
        "title_bg": "Общински бюджет",
        "body_en": "# Budget\n\nA *city* budget.",
        "body_bg": "",
        "workload_minutes": "40",
        "required": "y",
        "submit": "Save",
    }
    data.update(overrides)
    return data


# --- modules -------------------------------------------------------------------


def test_add_rename_and_delete_an_empty_module(client, db, course):
    response = client.post_form(
        "/courses/AUTH-1/modules/new", {"title_en": "Basics", "title_bg": "Основи"}
    )
    assert response.status_code == 302
    module = db.session.scalar(sa.select(Module).where(Module.course_id == course.id))
    assert (module.title_en, module.title_bg, module.position) == ("Basics", "Основи", 1)
    assert response.location == f"/courses/AUTH-1/manage#module-{module.id}"

    client.post_form(f"/courses/AUTH-1/modules/{module.id}/edit", {"title_en": "Foundations"})
    db.session.refresh(module)
    assert module.title_en == "Foundations"

    client.post_form(f"/courses/AUTH-1/modules/{module.id}/delete")
    assert db.session.scalar(sa.select(Module).where(Module.course_id == course.id)) is None


def test_a_module_with_lessons_is_not_deleted(client, db, course, make_module, make_lesson):
    module = make_module(course)
    make_lesson(module)
    response = client.post_form(
        f"/courses/AUTH-1/modules/{module.id}/delete", follow_redirects=True
    )
    assert "Only an empty module can be deleted" in response.get_data(as_text=True)
    assert db.session.get(Module, module.id) is not None


def test_module_needs_a_title(client, db, course):
    response = client.post_form("/courses/AUTH-1/modules/new", {"title_en": " "})
    assert "This field is required." in response.get_data(as_text=True)
    response = client.post_form("/courses/AUTH-1/modules/new", {"title_en": "M" * 201})
    assert "Field cannot be longer than 200 characters." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Module.id))) == 0


def test_reorder_modules_keeps_order_and_uniqueness(client, db, course, make_module):
    a, b, c = (make_module(course, title_en=t) for t in ("A", "B", "C"))
    url = "/courses/AUTH-1/modules/{}/move"
    client.post_form(url.format(c.id), {"direction": "up"})
    assert [i for i, _ in positions(db, Module, Module.course_id, course.id)] == [a.id, c.id, b.id]
    client.post_form(url.format(c.id), {"direction": "up"})
    client.post_form(url.format(c.id), {"direction": "up"})  # already first: nothing happens
    client.post_form(url.format(a.id), {"direction": "down"})
    rows = positions(db, Module, Module.course_id, course.id)
    assert [i for i, _ in rows] == [c.id, b.id, a.id]
    assert [p for _, p in rows] == [1, 2, 3]
    client.post_form(url.format(a.id), {"direction": "down"})  # already last
    assert positions(db, Module, Module.course_id, course.id) == rows
    html = client.get("/courses/AUTH-1").get_data(as_text=True)
    assert html.index(">1. C<") < html.index(">2. B<") < html.index(">3. A<")


def test_bad_direction_changes_nothing(client, db, course, make_module):
    first, second = make_module(course), make_module(course)
    before = positions(db, Module, Module.course_id, course.id)
    client.post_form(f"/courses/AUTH-1/modules/{second.id}/move", {"direction": "sideways"})
    assert positions(db, Module, Module.course_id, course.id) == before
    assert first.id == before[0][0]


def test_reorder_after_a_deletion_leaves_a_gap_harmlessly(db, course, make_module):
    a, b, c = make_module(course), make_module(course), make_module(course)
    teacher = course.instructors[0]
    ops.delete_module(b, actor=teacher)
    ops.move_module(c, ops.UP, actor=teacher)
    rows = positions(db, Module, Module.course_id, course.id)
    assert [i for i, _ in rows] == [c.id, a.id]
    assert len({p for _, p in rows}) == 2


# --- lessons -------------------------------------------------------------------


def test_add_a_lesson(client, db, course, make_module):
    module = make_module(course)
    response = client.post_form(f"/courses/AUTH-1/modules/{module.id}/lessons/new", lesson_form())
    assert response.status_code == 302
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.module_id == module.id))
    assert lesson.title_bg == "Общински бюджет"
    assert lesson.body_en == "# Budget\n\nA *city* budget."
    assert (lesson.workload_minutes, lesson.required, lesson.position) == (40, True, 1)


def test_preview_renders_sanitised_markdown_without_saving(client, db, course, make_module):
    module = make_module(course)
    body = "## Plan\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2)) **bold**"
    response = client.post_form(
        f"/courses/AUTH-1/modules/{module.id}/lessons/new",
        lesson_form(body_en=body, submit=None, preview="Preview"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Preview (not saved yet)" in html
    assert "<h2>Plan</h2>" in html
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)" not in html
    assert 'href="javascript:' not in html
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title_en": ""}, "This field is required."),
        ({"title_en": "L" * 201}, "Field cannot be longer than 200 characters."),
        ({"workload_minutes": "-5"}, "Enter a number of minutes from 0 to 100000."),
        ({"workload_minutes": "1.5"}, "Not a valid integer value."),
    ],
)
def test_bad_lesson_input_changes_nothing(client, db, course, make_module, overrides, message):
    module = make_module(course)
    response = client.post_form(
        f"/courses/AUTH-1/modules/{module.id}/lessons/new", lesson_form(**overrides)
    )
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lesson.id))) == 0


def test_edit_a_lesson_and_move_it_to_another_module(client, db, course, make_module, make_lesson):
    first, second = make_module(course), make_module(course)
    lesson = make_lesson(first, title_en="Old")
    staying = make_lesson(first)
    already = make_lesson(second)
    page = client.get(f"/courses/AUTH-1/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{first.id}">' in page
    response = client.post_form(
        f"/courses/AUTH-1/lessons/{lesson.id}/edit",
        lesson_form(title_en="New", required="", workload_minutes="0", module=str(second.id)),
    )
    assert response.status_code == 302
    db.session.expire_all()
    lesson = db.session.get(Lesson, lesson.id)
    assert (lesson.title_en, lesson.required, lesson.workload_minutes) == ("New", False, 0)
    assert positions(db, Lesson, Lesson.module_id, second.id) == [(already.id, 1), (lesson.id, 2)]
    assert [i for i, _ in positions(db, Lesson, Lesson.module_id, first.id)] == [staying.id]


def test_a_lesson_cannot_move_to_another_course(
    client, db, course, make_course, make_module, make_lesson
):
    module = make_module(course)
    lesson = make_lesson(module)
    foreign = make_module(make_course(code="ELSE-1"))
    response = client.post_form(
        f"/courses/AUTH-1/lessons/{lesson.id}/edit", lesson_form(module=str(foreign.id))
    )
    assert "Not a valid choice." in response.get_data(as_text=True)
    db.session.refresh(lesson)
    assert lesson.module_id == module.id
    with pytest.raises(ops.CurriculumError):
        ops.update_lesson(lesson, title_en="X", module=foreign, actor=course.instructors[0])


def test_reorder_lessons(client, db, course, make_module, make_lesson):
    module = make_module(course)
    a, b, c = make_lesson(module), make_lesson(module), make_lesson(module)
    client.post_form(f"/courses/AUTH-1/lessons/{a.id}/move", {"direction": "down"})
    client.post_form(f"/courses/AUTH-1/lessons/{a.id}/move", {"direction": "down"})
    client.post_form(f"/courses/AUTH-1/lessons/{b.id}/move", {"direction": "up"})  # first
    rows = positions(db, Lesson, Lesson.module_id, module.id)
    assert [i for i, _ in rows] == [b.id, c.id, a.id]
    assert sorted(p for _, p in rows) == [1, 2, 3]


def test_delete_a_lesson_unless_trainees_completed_it(
    client, db, course, make_user, make_module, make_lesson
):
    module = make_module(course)
    done, fresh = make_lesson(module), make_lesson(module)
    db.session.add(LessonProgress(user_id=make_user().id, lesson_id=done.id))
    db.session.commit()
    response = client.post_form(f"/courses/AUTH-1/lessons/{done.id}/delete", follow_redirects=True)
    assert "it cannot be deleted" in response.get_data(as_text=True)
    client.post_form(f"/courses/AUTH-1/lessons/{fresh.id}/delete")
    ids = [i for i, _ in positions(db, Lesson, Lesson.module_id, module.id)]
    assert ids == [done.id]


# --- learning outcomes ---------------------------------------------------------


def test_outcomes_add_edit_reorder_delete(client, db, course):
    for text in ("Plan", "Budget", "Report"):
        client.post_form("/courses/AUTH-1/outcomes/new", {"text_en": text, "text_bg": ""})
    rows = positions(db, LearningOutcome, LearningOutcome.course_id, course.id)
    plan, budget, report = (i for i, _ in rows)
    client.post_form(f"/courses/AUTH-1/outcomes/{report}/move", {"direction": "up"})
    client.post_form(
        f"/courses/AUTH-1/outcomes/{plan}/edit", {"text_en": "Plan a project", "text_bg": "План"}
    )
    client.post_form(f"/courses/AUTH-1/outcomes/{budget}/delete")
    rows = positions(db, LearningOutcome, LearningOutcome.course_id, course.id)
    assert [i for i, _ in rows] == [plan, report]
    outcome = db.session.get(LearningOutcome, plan)
    db.session.refresh(outcome)
    assert (outcome.text_en, outcome.text_bg) == ("Plan a project", "План")
    html = client.get("/courses/AUTH-1").get_data(as_text=True)
    assert html.index("Plan a project") < html.index("Report")


def test_outcome_text_is_limited(client, db, course):
    response = client.post_form("/courses/AUTH-1/outcomes/new", {"text_en": "x" * 501})
    assert "Field cannot be longer than 500 characters." in response.get_data(as_text=True)
    response = client.post_form("/courses/AUTH-1/outcomes/new", {"text_en": ""})
    assert "This field is required." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(LearningOutcome.id))) == 0


# --- the authoring page --------------------------------------------------------


def test_manage_page_links_everything(client, course, make_module, make_lesson, make_outcome):
    module = make_module(course, title_en="Basics")
    lesson = make_lesson(module, title_en="First steps")
    outcome = make_outcome(course, text_en="Explain")
    html = client.get("/courses/AUTH-1/manage").get_data(as_text=True)
    for href in (
        "/courses/AUTH-1/edit",
        "/courses/AUTH-1/cohorts",
        "/courses/AUTH-1/modules/new",
        f"/courses/AUTH-1/modules/{module.id}/edit",
        f"/courses/AUTH-1/modules/{module.id}/lessons/new",
        f"/courses/AUTH-1/lessons/{lesson.id}/edit",
        f"/courses/AUTH-1/outcomes/{outcome.id}/edit",
    ):
        assert f'href="{href}"' in html, href
    for action in (
        "/courses/AUTH-1/state",
        f"/courses/AUTH-1/modules/{module.id}/move",
        f"/courses/AUTH-1/lessons/{lesson.id}/move",
        f"/courses/AUTH-1/lessons/{lesson.id}/delete",
        f"/courses/AUTH-1/outcomes/{outcome.id}/move",
    ):
        assert f'action="{action}"' in html, action
    assert html.count('name="csrf_token"') >= 8
    # A single item cannot move: both of its arrows are disabled.
    assert re.search(r'aria-label="Move Basics up"\s+disabled', html)
    assert re.search(r'aria-label="Move Basics down"\s+disabled', html)


def test_every_change_is_audited(db, course, make_user):
    from lms.models import AuditLog

    teacher = course.instructors[0]
    module = ops.add_module(course, title_en="M", actor=teacher)
    lesson = ops.add_lesson(module, title_en="L", actor=teacher)
    ops.add_lesson(module, title_en="L2", actor=teacher)
    ops.move_lesson(lesson, ops.DOWN, actor=teacher)
    outcome = ops.add_outcome(course, text_en="O", actor=teacher)
    ops.update_outcome(outcome, text_en="O2", actor=teacher)
    actions = list(db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))
    assert actions[-6:] == [
        "module.create",
        "lesson.create",
        "lesson.create",
        "lesson.move",
        "outcome.create",
        "outcome.update",
    ]
