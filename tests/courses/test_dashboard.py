"""The trainee dashboard: current courses with progress and waiting-list places."""

from __future__ import annotations

import pytest

from courses.enrolment.operations import mark_lesson_done
from courses.models import CourseState
from lms.models import Role
from tests.conftest import count_queries


@pytest.fixture
def trainee(login_as, make_user):
    return login_as(make_user(name="Learner"))


def course_with_lessons(make_course, make_module, make_lesson, code, required=3, optional=0):
    course = make_course(code=code, title_en=f"Course {code}")
    module = make_module(course)
    items = [make_lesson(module, title_en=f"{code} lesson {i}") for i in range(1, required + 1)]
    items += [
        make_lesson(module, title_en=f"{code} extra {i}", required=False)
        for i in range(1, optional + 1)
    ]
    return course, items


def test_home_redirects_signed_in_users_to_the_dashboard(client, trainee):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")


def test_dashboard_shows_progress_and_where_to_continue(
    client, trainee, make_course, make_module, make_lesson, make_cohort, make_enrolment
):
    course, items = course_with_lessons(make_course, make_module, make_lesson, "DASH1", 4, 1)
    make_enrolment(make_cohort(course, name="Spring"), trainee)
    mark_lesson_done(trainee, items[0], actor=trainee)
    mark_lesson_done(trainee, items[2], actor=trainee)
    mark_lesson_done(trainee, items[4], actor=trainee)  # optional
    html = client.get("/dashboard").text
    assert "Course DASH1" in html
    assert "2 of 4 required lessons done" in html
    assert 'aria-valuenow="50"' in html
    assert "width: 50%" in html
    assert f'href="/courses/DASH1/lessons/{items[1].id}"' in html
    assert "Continue: DASH1 lesson 2" in html


def test_a_finished_course_offers_a_review(
    client, trainee, make_course, make_module, make_lesson, make_cohort, make_enrolment
):
    course, items = course_with_lessons(make_course, make_module, make_lesson, "DASH2", 2)
    make_enrolment(make_cohort(course), trainee)
    for lesson in items:
        mark_lesson_done(trainee, lesson, actor=trainee)
    html = client.get("/dashboard").text
    assert "2 of 2 required lessons done" in html
    assert "Review the course" in html
    assert f'href="/courses/DASH2/lessons/{items[0].id}"' in html


def test_waiting_lists_show_the_position(
    client, trainee, make_course, make_cohort, make_enrolment, make_user
):
    cohort = make_cohort(make_course(code="DASH3"), capacity=1, name="Full cohort")
    make_enrolment(cohort, make_user())
    make_enrolment(cohort, make_user(), status="waitlisted")
    make_enrolment(cohort, trainee, status="waitlisted")
    html = client.get("/dashboard").text
    assert "Full cohort" in html
    assert "Position 2 on the waiting list" in html


def test_withdrawn_and_draft_courses_are_not_shown(
    client, trainee, make_course, make_cohort, make_enrolment
):
    make_enrolment(make_cohort(make_course(code="GONE1", title_en="Left course")), trainee,
                   status="withdrawn")  # fmt: skip
    make_enrolment(
        make_cohort(make_course(code="DRAFT9", title_en="Hidden draft", state=CourseState.DRAFT)),
        trainee,
    )
    html = client.get("/dashboard").text
    assert "Left course" not in html
    assert "Hidden draft" not in html
    assert "You are not enrolled in any course yet." in html


def test_the_dashboard_shows_only_my_progress(
    client, login_as, make_user, make_course, make_module, make_lesson, make_cohort,
    make_enrolment,
):  # fmt: skip
    course, items = course_with_lessons(make_course, make_module, make_lesson, "DASH4", 2)
    cohort = make_cohort(course)
    other = make_user(name="Busy Bee")
    make_enrolment(cohort, other)
    for lesson in items:
        mark_lesson_done(other, lesson, actor=other)
    me = login_as(make_user())
    make_enrolment(cohort, me)
    html = client.get("/dashboard").text
    assert "0 of 2 required lessons done" in html
    assert "Busy Bee" not in html


def test_people_who_do_not_learn_are_sent_to_their_own_home(client, login_as):
    login_as(Role.EMPLOYER)
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_dashboard_query_count_is_constant(
    app, client, trainee, make_user, make_course, make_module, make_lesson, make_cohort,
    make_enrolment,
):  # fmt: skip
    codes = iter(range(100))

    def add_courses(n):
        for _ in range(n):
            code = f"Q{next(codes):03d}"
            course, items = course_with_lessons(make_course, make_module, make_lesson, code, 3)
            make_enrolment(make_cohort(course), trainee)
            mark_lesson_done(trainee, items[0], actor=trainee)
            full = make_cohort(course, capacity=1)
            make_enrolment(full, make_user())
            make_enrolment(full, trainee, status="waitlisted")

    def queries():
        with count_queries(app) as counter:
            assert client.get("/dashboard").status_code == 200
        return counter.count

    add_courses(1)
    few = queries()
    add_courses(8)
    assert queries() == few
