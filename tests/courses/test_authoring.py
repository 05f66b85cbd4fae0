"""Course authoring through the web pages: create, edit, publish, archive and bad input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from courses import operations as ops
from courses.models import (
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    Programme,
)
from lms.models import AuditLog, Role


def course_rows(db) -> list[tuple]:
    """Return every course as plain values, to compare before and after a request."""
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(
                Course.code,
                Course.title_en,
                Course.title_bg,
                Course.summary_en,
                Course.workload_hours,
                Course.state,
            ).order_by(Course.id)
        )
    ]


def audit_actions(db, obj) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.object_type == type(obj).__name__, AuditLog.object_id == str(obj.id))
            .order_by(AuditLog.id)
        )
    )


def course_form(**overrides) -> dict:
    data = {
        "code": "SC-NEW-1",
        "title_en": "New course",
        "title_bg": "Нов курс",
        "summary_en": "A summary.",
        "summary_bg": "",
        "workload_hours": "8",
    }
    data.update(overrides)
    return data


# --- create --------------------------------------------------------------------


def test_instructor_creates_a_draft_course_and_teaches_it(client, db, login_as):
    teacher = login_as(Role.INSTRUCTOR)
    response = client.post_form("/teaching/new", course_form(code="  sc-new-1 "))
    assert response.status_code == 302
    assert response.location == "/courses/SC-NEW-1/manage"
    course = db.session.scalar(sa.select(Course).where(Course.code == "SC-NEW-1"))
    assert course.state == CourseState.DRAFT
    assert course.title_bg == "Нов курс"
    assert course.workload_hours == 8
    assert [u.id for u in course.instructors] == [teacher.id]
    assert audit_actions(db, course) == ["course.create"]
    html = client.get(response.location).get_data(as_text=True)
    assert "Course SC-NEW-1 created as a draft." in html
    assert "SC-NEW-1" in client.get("/teaching").get_data(as_text=True)


def test_teaching_lists_only_my_courses_with_state_badges(client, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="MY-1", state=CourseState.DRAFT, instructors=[me])
    make_course(code="MY-2", state=CourseState.ARCHIVED, instructors=[me])
    make_course(code="NOT-MINE")
    login_as(me)
    html = client.get("/teaching").get_data(as_text=True)
    assert "MY-1" in html
    assert "MY-2" in html
    assert "NOT-MINE" not in html
    assert "Draft" in html
    assert "Archived" in html
    assert 'href="/teaching/new"' in html
    assert 'href="/courses/MY-1/cohorts"' in html
    login_as(Role.ADMIN)
    html = client.get("/teaching").get_data(as_text=True)
    assert "NOT-MINE" in html
    assert "New programme" in html


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "sc-taken"}, "A course with this code already exists."),
        ({"code": ""}, "This field is required."),
        ({"code": "SC 101"}, "Use only letters A-Z, digits, dots, dashes and underscores."),
        ({"code": "X" * 33}, "Field cannot be longer than 32 characters."),
        ({"title_en": "   "}, "This field is required."),
        ({"title_en": "T" * 201}, "Field cannot be longer than 200 characters."),
        ({"title_bg": "Щ" * 201}, "Field cannot be longer than 200 characters."),
        ({"workload_hours": "-1"}, "Enter a number of hours from 0 to 10000."),
        ({"workload_hours": "ten"}, "Not a valid integer value."),
        ({"workload_hours": ""}, "This field is required."),
    ],
)
def test_bad_course_input_explains_and_changes_nothing(
    client, db, login_as, make_course, overrides, message
):
    make_course(code="SC-TAKEN")
    login_as(Role.INSTRUCTOR)
    before = course_rows(db)
    response = client.post_form("/teaching/new", course_form(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert course_rows(db) == before


def test_operations_refuse_what_the_form_would(db, make_user, make_course):
    creator = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="DUP-1")
    with pytest.raises(ops.CurriculumError, match="already exists"):
        ops.create_course(code="dup-1", title_en="Again", actor=creator)
    with pytest.raises(ops.CurriculumError, match="workload"):
        ops.create_course(code="NEG-1", title_en="Negative", workload_hours=-5, actor=creator)
    with pytest.raises(ops.CurriculumError, match="required"):
        ops.create_course(code="EMPTY-1", title_en=" ", actor=creator)
    with pytest.raises(ops.CurriculumError, match="letters"):
        ops.create_course(code="bad code", title_en="Bad", actor=creator)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 1


# --- edit ----------------------------------------------------------------------


def test_instructor_edits_details_but_not_instructors(client, db, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    other = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="ED-1", instructors=[me])
    login_as(me)
    page = client.get("/courses/ED-1/edit").get_data(as_text=True)
    assert 'name="instructors"' not in page
    response = client.post_form(
        "/courses/ED-1/edit",
        course_form(code="ed-2", title_en="Renamed", instructors=[str(other.id)]),
    )
    assert response.status_code == 302
    assert response.location == "/courses/ED-2/manage"
    db.session.refresh(course)
    assert (course.code, course.title_en) == ("ED-2", "Renamed")
    assert [u.id for u in course.instructors] == [me.id]
    assert audit_actions(db, course)[-1] == "course.update"


def test_admin_changes_the_instructors(client, db, login_as, make_user, make_course):
    first = make_user(roles=[Role.INSTRUCTOR], name="First Teacher")
    second = make_user(roles=[Role.INSTRUCTOR], name="Second Teacher")
    make_user(roles=[Role.TRAINEE], name="Not A Teacher")
    course = make_course(code="ED-3", instructors=[first])
    login_as(Role.ADMIN)
    page = client.get("/courses/ED-3/edit").get_data(as_text=True)
    assert "Second Teacher" in page
    assert "Not A Teacher" not in page
    form = course_form(code="ED-3", instructors=[str(first.id), str(second.id)])
    assert client.post_form("/courses/ED-3/edit", form).status_code == 302
    db.session.refresh(course)
    assert {u.id for u in course.instructors} == {first.id, second.id}

    # A course always keeps at least one instructor.
    response = client.post_form("/courses/ED-3/edit", course_form(code="ED-3"))
    assert "Choose at least one instructor." in response.get_data(as_text=True)
    db.session.refresh(course)
    assert len(course.instructors) == 2


def test_editing_to_a_taken_code_changes_nothing(client, db, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="KEEP-1", instructors=[me])
    make_course(code="OTHER-1")
    login_as(me)
    before = course_rows(db)
    response = client.post_form("/courses/KEEP-1/edit", course_form(code="other-1"))
    assert "A course with this code already exists." in response.get_data(as_text=True)
    db.session.expire_all()
    assert course_rows(db) == before
    # Keeping one's own code is not a clash.
    response = client.post_form("/courses/KEEP-1/edit", course_form(code="keep-1"))
    assert response.status_code == 302


def test_edit_page_shows_the_current_values(client, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="VAL-1", title_en='Quote " & <b>', workload_hours=17, instructors=[me])
    login_as(me)
    html = client.get("/courses/VAL-1/edit").get_data(as_text=True)
    assert 'value="VAL-1"' in html
    assert 'value="Quote &#34; &amp; &lt;b&gt;"' in html
    assert 'value="17"' in html


# --- state ---------------------------------------------------------------------


def test_publish_needs_a_lesson(
    client, db, login_as, make_user, make_course, make_module, make_lesson
):
    me = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="PUB-1", state=CourseState.DRAFT, instructors=[me])
    login_as(me)
    response = client.post_form(
        "/courses/PUB-1/state", {"state": "published"}, follow_redirects=True
    )
    assert "Add at least one lesson before publishing the course." in response.get_data(
        as_text=True
    )
    db.session.refresh(course)
    assert course.state == CourseState.DRAFT

    make_lesson(make_module(course))
    response = client.post_form(
        "/courses/PUB-1/state", {"state": "published"}, follow_redirects=True
    )
    assert "The course is published." in response.get_data(as_text=True)
    db.session.refresh(course)
    assert course.state == CourseState.PUBLISHED
    assert course.published_at is not None
    assert "PUB-1" in client.get("/courses").get_data(as_text=True)
    assert audit_actions(db, course)[-1] == "course.published"


def test_archive_and_back_to_draft(client, db, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="ARC-1", instructors=[me])
    login_as(me)
    client.post_form("/courses/ARC-1/state", {"state": "archived"})
    db.session.refresh(course)
    assert course.state == CourseState.ARCHIVED
    assert "/courses/ARC-1" not in client.get("/courses").get_data(as_text=True)
    client.post_form("/courses/ARC-1/state", {"state": "draft"})
    db.session.refresh(course)
    assert course.state == CourseState.DRAFT
    assert audit_actions(db, course)[-2:] == ["course.archived", "course.draft"]


def test_a_course_with_trainees_cannot_go_back_to_draft(
    client, db, login_as, make_user, make_course, make_cohort
):
    me = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="BUSY-1", instructors=[me])
    cohort = make_cohort(course)
    db.session.add(Enrolment(cohort=cohort, user=make_user(), status=EnrolmentStatus.ACTIVE))
    login_as(me)
    response = client.post_form("/courses/BUSY-1/state", {"state": "draft"}, follow_redirects=True)
    assert "archive it instead" in response.get_data(as_text=True)
    db.session.refresh(course)
    assert course.state == CourseState.PUBLISHED


def test_unknown_state_is_refused(client, db, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="ST-1", instructors=[me])
    login_as(me)
    response = client.post_form("/courses/ST-1/state", {"state": "deleted"}, follow_redirects=True)
    assert "Unknown course state." in response.get_data(as_text=True)
    db.session.refresh(course)
    assert course.state == CourseState.PUBLISHED


def test_posts_without_a_csrf_token_are_refused(client, db, login_as, make_user, make_course):
    me = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="CSRF-1", instructors=[me])
    login_as(me)
    response = client.post("/courses/CSRF-1/state", data={"state": "archived"})
    assert response.status_code == 400
    response = client.post("/teaching/new", data=course_form())
    assert response.status_code == 400
    db.session.refresh(course)
    assert course.state == CourseState.PUBLISHED
    assert db.session.scalar(sa.select(Course).where(Course.code == "SC-NEW-1")) is None


# --- programmes ----------------------------------------------------------------


def programme_form(**overrides) -> dict:
    data = {
        "code": "PROG-NEW",
        "title_en": "Smart-city project developer",
        "title_bg": "Разработчик на проекти",
        "summary_en": "",
        "summary_bg": "",
        "courses": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_orders_and_publishes_a_programme(client, db, login_as, make_course):
    make_course(code="A-1")
    make_course(code="B-2")
    make_course(code="C-3")
    login_as(Role.ADMIN)
    response = client.post_form(
        "/teaching/programmes/new", programme_form(courses="c-3\n a-1 \n\n")
    )
    assert response.status_code == 302
    assert response.location == "/programmes/PROG-NEW"
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "PROG-NEW"))
    assert programme.state == CourseState.DRAFT
    assert [c.code for c in programme.courses] == ["C-3", "A-1"]

    page = client.get("/programmes/PROG-NEW/edit").get_data(as_text=True)
    assert "C-3\nA-1" in page
    # Reorder and add: links are replaced without breaking (programme, position).
    response = client.post_form(
        "/programmes/PROG-NEW/edit", programme_form(courses="A-1\nB-2\nC-3")
    )
    assert response.status_code == 302
    db.session.expire_all()
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "PROG-NEW"))
    assert [c.code for c in programme.courses] == ["A-1", "B-2", "C-3"]
    assert [link.position for link in programme.course_links] == [1, 2, 3]

    assert client.get("/programmes/PROG-NEW").status_code == 200
    client.post_form("/programmes/PROG-NEW/state", {"state": "published"})
    db.session.refresh(programme)
    assert programme.state == CourseState.PUBLISHED
    assert "Smart-city project developer" in client.get("/courses").get_data(as_text=True)
    assert audit_actions(db, programme) == [
        "programme.create",
        "programme.update",
        "programme.published",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"courses": "A-1\nNOPE-9"}, "No course has the code NOPE-9."),
        ({"courses": "A-1\na-1"}, "Each course appears once; repeated: A-1."),
        ({"code": "prog-old"}, "A programme with this code already exists."),
        ({"title_en": ""}, "This field is required."),
        ({"code": "P" * 33}, "Field cannot be longer than 32 characters."),
    ],
)
def test_bad_programme_input_changes_nothing(
    client, db, login_as, make_course, make_programme, overrides, message
):
    make_course(code="A-1")
    make_programme(code="PROG-OLD")
    login_as(Role.ADMIN)
    response = client.post_form("/teaching/programmes/new", programme_form(**overrides))
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Programme.id))) == 1
