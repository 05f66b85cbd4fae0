"""Studying lessons: the lesson page, marking lessons done, and progress seen by staff."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from courses.models import CourseState, LessonProgress
from lms.models import Role
from tests.conftest import count_queries


@pytest.fixture
def course(make_course, make_module, make_lesson):
    course = make_course(code="STUDY1")
    first, second = make_module(course, title_en="Basics"), make_module(course, title_en="More")
    make_lesson(first, title_en="Welcome", body_en="# Hello\n\n<script>alert(1)</script> **bold**")
    make_lesson(first, title_en="Optional extra", required=False)
    make_lesson(second, title_en="Planning")
    return course


def lessons(course):
    return [lesson for module in course.modules for lesson in module.lessons]


@pytest.fixture
def trainee(login_as, make_user, make_cohort, make_enrolment, course):
    user = login_as(make_user(name="Learner"))
    make_enrolment(make_cohort(course), user)
    return user


def test_lesson_page_renders_sanitised_markdown_and_navigation(client, trainee, course):
    welcome, extra, planning = lessons(course)
    html = client.get(f"/courses/STUDY1/lessons/{welcome.id}").text
    assert "<h1>Hello</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert f'rel="next" href="/courses/STUDY1/lessons/{extra.id}"' in html
    assert 'rel="prev"' not in html
    assert "Mark as done" in html

    html = client.get(f"/courses/STUDY1/lessons/{planning.id}").text
    assert f'rel="prev" href="/courses/STUDY1/lessons/{extra.id}"' in html
    assert 'rel="next"' not in html


def test_mark_done_and_not_done_are_idempotent(db, client, trainee, course):
    welcome = lessons(course)[0]
    url = f"/courses/STUDY1/lessons/{welcome.id}"
    for _ in range(2):
        response = client.post_form(f"{url}/done", {})
        assert response.headers["Location"].endswith(url)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 1
    html = client.get(url).text
    assert "Mark as not done" in html
    assert "Lesson marked as done." in html
    for _ in range(2):
        client.post_form(f"{url}/not-done", {})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 0
    assert "Mark as done" in client.get(url).text


def test_a_lesson_of_another_course_is_not_found(client, trainee, make_course, make_module,
                                                 make_lesson):  # fmt: skip
    other = make_lesson(make_module(make_course(code="STUDY2")))
    assert client.get(f"/courses/STUDY1/lessons/{other.id}").status_code == 404
    assert client.post_form(f"/courses/STUDY1/lessons/{other.id}/done", {}).status_code == 404


@pytest.mark.parametrize("status", ["waitlisted", "withdrawn"])
def test_only_active_enrolments_open_the_lessons(
    client, login_as, make_user, make_cohort, make_enrolment, course, status
):
    user = login_as(make_user())
    make_enrolment(make_cohort(course), user, status=status)
    lesson = lessons(course)[0]
    assert client.get(f"/courses/STUDY1/lessons/{lesson.id}").status_code == 403
    assert client.post_form(f"/courses/STUDY1/lessons/{lesson.id}/done", {}).status_code == 403


def test_a_draft_course_stays_closed_to_enrolled_trainees(client, db, trainee, course):
    course.state = CourseState.DRAFT
    db.session.flush()
    # A draft does not exist for anyone outside its staff, enrolled or not.
    assert client.get(f"/courses/STUDY1/lessons/{lessons(course)[0].id}").status_code == 404


def test_the_lesson_page_shows_only_my_own_progress(
    client, login_as, make_user, make_cohort, make_enrolment, course, db
):
    from courses.enrolment.operations import mark_lesson_done

    cohort = make_cohort(course)
    other = make_user(name="Other Learner")
    make_enrolment(cohort, other)
    mark_lesson_done(other, lessons(course)[0], actor=other)
    me = login_as(make_user())
    make_enrolment(cohort, me)
    html = client.get(f"/courses/STUDY1/lessons/{lessons(course)[0].id}").text
    assert "Mark as done" in html
    assert "Mark as not done" not in html
    assert "Other Learner" not in html


def test_staff_see_progress_of_their_cohort(
    app, client, login_as, make_user, make_cohort, make_enrolment, course
):
    from courses.enrolment.operations import mark_lesson_done

    welcome, extra, planning = lessons(course)
    staff = make_user(roles=[Role.INSTRUCTOR])
    course.instructors.append(staff)
    cohort = make_cohort(course)
    ana, bob, gone = make_user(name="Ana"), make_user(name="Bob"), make_user(name="Gone")
    for user in (ana, bob):
        make_enrolment(cohort, user)
    make_enrolment(cohort, gone, status="withdrawn")
    mark_lesson_done(ana, welcome, actor=ana)
    mark_lesson_done(ana, extra, actor=ana)  # optional: does not count
    mark_lesson_done(bob, welcome, actor=bob)
    mark_lesson_done(bob, planning, actor=bob)
    login_as(staff)
    html = client.get(f"/courses/STUDY1/cohorts/{cohort.id}/progress").text
    ana_row = html[html.index("Ana") : html.index("</tr>", html.index("Ana"))]
    bob_row = html[html.index("Bob") : html.index("</tr>", html.index("Bob"))]
    assert "1 / 2" in ana_row
    assert 'aria-valuenow="50"' in ana_row
    assert "2 / 2" in bob_row
    assert 'aria-valuenow="100"' in bob_row
    assert "Gone" not in html


def test_progress_page_query_count_is_constant(
    app, client, login_as, make_user, make_cohort, make_enrolment, course
):
    from courses.enrolment.operations import mark_lesson_done

    staff = make_user(roles=[Role.INSTRUCTOR])
    course.instructors.append(staff)
    cohort = make_cohort(course)
    login_as(staff)

    def queries_with(n):
        for _ in range(n):
            user = make_user()
            make_enrolment(cohort, user)
            mark_lesson_done(user, lessons(course)[0], actor=user)
        with count_queries(app) as counter:
            assert client.get(f"/courses/STUDY1/cohorts/{cohort.id}/progress").status_code == 200
        return counter.count

    assert queries_with(1) == queries_with(12)
