"""Self-enrolment and withdrawal by trainees, and the cohort panel of the course page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from courses.enrolment.operations import local_today
from courses.models import CourseState, Enrolment
from lms.models import Role
from tests.conftest import count_queries


@pytest.fixture
def trainee(login_as, make_user):
    return login_as(make_user(name="Мария Иванова"))


def enrolments(db):
    return sorted(db.session.execute(sa.select(Enrolment.user_id, Enrolment.status)).all())


def test_enrol_from_the_course_page(db, client, trainee, make_course, make_cohort):
    course = make_course(code="SELF1")
    cohort = make_cohort(course, capacity=3, name="Spring")
    page = client.get("/courses/SELF1").text
    assert f'action="/courses/SELF1/cohorts/{cohort.id}/enrol"' in page
    assert "0 of 3 taken" in page

    response = client.post_form(f"/courses/SELF1/cohorts/{cohort.id}/enrol", {})
    assert response.headers["Location"].endswith("/courses/SELF1")
    page = client.get("/courses/SELF1").text
    assert "You are enrolled in Spring." in page
    assert "You are enrolled" in page
    assert "1 of 3 taken" in page
    assert f'action="/courses/SELF1/cohorts/{cohort.id}/withdraw"' in page
    assert enrolments(db) == [(trainee.id, "active")]


def test_a_full_cohort_puts_the_trainee_on_the_waiting_list_with_a_position(
    db, client, trainee, make_course, make_cohort, make_user, make_enrolment
):
    course = make_course(code="SELF2")
    cohort = make_cohort(course, capacity=1)
    make_enrolment(cohort, make_user())
    make_enrolment(cohort, make_user(), status="waitlisted")
    page = client.get("/courses/SELF2").text
    assert "Join the waiting list" in page

    response = client.post_form(f"/courses/SELF2/cohorts/{cohort.id}/enrol", {})
    page = client.get(response.headers["Location"]).text
    assert "you are number 2 on the waiting list" in page
    assert "Position 2 on the waiting list" in page
    assert "Leave the waiting list" in page


def test_trainee_withdraws_and_the_next_is_promoted(
    db, client, trainee, make_course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(make_course(code="SELF3"), capacity=1, name="Spring")
    mine = make_enrolment(cohort, trainee)
    waiting = make_enrolment(cohort, make_user(), status="waitlisted")
    response = client.post_form(f"/courses/SELF3/cohorts/{cohort.id}/withdraw", {})
    assert "You have left Spring." in client.get(response.headers["Location"]).text
    assert db.session.get(Enrolment, mine.id).status == "withdrawn"
    assert db.session.get(Enrolment, waiting.id).status == "active"

    # Enrolling again reuses the row and queues behind the promoted trainee.
    client.post_form(f"/courses/SELF3/cohorts/{cohort.id}/enrol", {})
    again = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == trainee.id))
    assert (again.id, again.status) == (mine.id, "waitlisted")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"enrol_opens_on": "tomorrow"}, "Enrolment in this cohort opens on"),
        ({"enrol_closes_on": "yesterday"}, "Enrolment in this cohort closed on"),
        ({"self_enrolment": False}, "This cohort takes enrolments from the course staff only."),
    ],
)
def test_self_enrolment_refused_with_a_clear_message(
    db, client, trainee, make_course, make_cohort, settings, message
):
    today = local_today()
    days = {"tomorrow": today + timedelta(days=1), "yesterday": today - timedelta(days=1)}
    settings = {k: days.get(v, v) if isinstance(v, str) else v for k, v in settings.items()}
    cohort = make_cohort(make_course(code="SELF4"), **settings)
    db.session.commit()
    page = client.get("/courses/SELF4").text
    assert message in page
    assert f"/cohorts/{cohort.id}/enrol" not in page  # no button

    response = client.post_form(f"/courses/SELF4/cohorts/{cohort.id}/enrol", {})
    assert message in client.get(response.headers["Location"]).text
    assert enrolments(db) == []


def test_self_enrolment_in_a_draft_course_is_refused(db, client, trainee, make_course, make_cohort):
    cohort = make_cohort(make_course(code="DRAFT1", state=CourseState.DRAFT), name="Secret")
    db.session.commit()
    response = client.post_form(f"/courses/DRAFT1/cohorts/{cohort.id}/enrol", {})
    # A draft does not exist for a trainee: the same answer as for an unknown code.
    assert response.status_code == 404
    assert "Secret" not in response.text
    assert "Secret" not in client.get("/dashboard").text
    assert enrolments(db) == []


def test_already_enrolled_is_said_clearly(db, client, trainee, make_course, make_cohort,
                                          make_enrolment):  # fmt: skip
    cohort = make_cohort(make_course(code="SELF5"))
    make_enrolment(cohort, trainee)
    response = client.post_form(f"/courses/SELF5/cohorts/{cohort.id}/enrol", {})
    assert "Мария Иванова is already enrolled" in client.get(response.headers["Location"]).text


def test_anonymous_visitors_are_invited_to_log_in(client, make_course, make_cohort):
    make_cohort(make_course(code="SELF6"))
    page = client.get("/courses/SELF6").text
    assert "Log in to enrol" in page
    assert "/login?next=/courses/SELF6" in page or "/login?next=%2Fcourses%2FSELF6" in page


def test_staff_see_a_link_to_manage_cohorts(client, login_as, make_user, make_course,
                                            make_cohort):  # fmt: skip
    staff = login_as(make_user(roles=[Role.INSTRUCTOR]))
    make_cohort(make_course(code="SELF7", instructors=[staff]))
    assert "/courses/SELF7/cohorts" in client.get("/courses/SELF7").text


def test_employers_cannot_enrol(db, client, login_as, make_user, make_course, make_cohort):
    login_as(make_user(roles=[Role.EMPLOYER]))
    cohort = make_cohort(make_course(code="SELF8"))
    assert "Enrolment is for trainee accounts." in client.get("/courses/SELF8").text
    assert client.post_form(f"/courses/SELF8/cohorts/{cohort.id}/enrol", {}).status_code == 403
    assert enrolments(db) == []


def test_course_panel_query_count_is_constant(
    app, client, trainee, make_course, make_cohort, make_user, make_enrolment
):
    course = make_course(code="SELF9")

    def queries_with(n):
        for _ in range(n):
            cohort = make_cohort(course, capacity=1, starts_on=date(2030, 1, 1))
            make_enrolment(cohort, make_user())
            make_enrolment(cohort, trainee, status="waitlisted")
        with count_queries(app) as counter:
            assert client.get("/courses/SELF9").status_code == 200
        return counter.count

    assert queries_with(1) == queries_with(5)
