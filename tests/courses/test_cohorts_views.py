"""Cohort pages for course staff: list, create, edit, roster, enrol and withdraw people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from courses.models import Cohort, Enrolment
from lms.models import AuditLog, Role
from tests.conftest import count_queries


@pytest.fixture
def staff(login_as, make_user):
    return login_as(make_user(roles=[Role.INSTRUCTOR]))


@pytest.fixture
def course(staff, make_course):
    return make_course(code="COH1", instructors=[staff])


def cohort_rows(db):
    return sorted(
        db.session.execute(
            sa.select(
                Cohort.name,
                Cohort.starts_on,
                Cohort.ends_on,
                Cohort.capacity,
                Cohort.enrol_opens_on,
                Cohort.enrol_closes_on,
                Cohort.self_enrolment,
            )
        ).all()
    )


VALID = {
    "name": "Spring 2030",
    "starts_on": "2030-03-01",
    "ends_on": "2030-06-30",
    "capacity": "25",
    "enrol_opens_on": "2030-01-01",
    "enrol_closes_on": "2030-02-20",
    "self_enrolment": "y",
}


def test_create_a_cohort(db, client, course):
    response = client.post_form("/courses/COH1/cohorts/new", VALID)
    assert response.status_code == 302
    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.name == "Spring 2030"))
    assert cohort.course_id == course.id
    assert (cohort.starts_on, cohort.ends_on) == (date(2030, 3, 1), date(2030, 6, 30))
    assert cohort.capacity == 25
    assert cohort.self_enrolment is True
    assert response.headers["Location"].endswith(f"/courses/COH1/cohorts/{cohort.id}")
    assert "Cohort Spring 2030 created." in client.get(response.headers["Location"]).text
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "cohort.create"))


def test_unlimited_capacity_and_staff_only_enrolment(db, client, course):
    data = dict(VALID, capacity="", enrol_opens_on="", enrol_closes_on="")
    data.pop("self_enrolment")
    assert client.post_form("/courses/COH1/cohorts/new", data).status_code == 302
    cohort = db.session.scalar(sa.select(Cohort))
    assert cohort.capacity is None
    assert cohort.enrol_opens_on is None
    assert cohort.self_enrolment is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
        ({"ends_on": "2030-02-01"}, "The cohort cannot end before it starts."),
        ({"starts_on": "not a date"}, "Not a valid date value."),
        ({"capacity": "0"}, "Number must be between 1 and 100000."),
        ({"capacity": "many"}, "Not a valid integer value."),
        ({"enrol_closes_on": "2029-12-31"}, "Enrolment cannot close before it opens."),
        ({"name": "Taken"}, "This course already has a cohort with that name."),
    ],
)
def test_bad_cohort_input_changes_nothing(db, client, course, make_cohort, changes, message):
    make_cohort(course, name="Taken")
    before = cohort_rows(db)
    response = client.post_form("/courses/COH1/cohorts/new", dict(VALID, **changes))
    assert response.status_code == 200
    assert message in response.text
    assert cohort_rows(db) == before


def test_edit_raises_capacity_and_promotes_the_waiting_list(
    db, client, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=1, name="Old name")
    make_enrolment(cohort, make_user())
    base = datetime(2030, 1, 1, tzinfo=UTC)
    first = make_enrolment(cohort, make_user(), status="waitlisted", queued_at=base)
    second = make_enrolment(
        cohort, make_user(), status="waitlisted", queued_at=base + timedelta(minutes=1)
    )
    page = client.get(f"/courses/COH1/cohorts/{cohort.id}/edit")
    assert 'value="Old name"' in page.text
    response = client.post_form(
        f"/courses/COH1/cohorts/{cohort.id}/edit", dict(VALID, capacity="2")
    )
    assert response.status_code == 302
    assert db.session.get(Cohort, cohort.id).name == "Spring 2030"
    assert db.session.get(Enrolment, first.id).status == "active"
    assert db.session.get(Enrolment, second.id).status == "waitlisted"


def test_edit_refuses_a_capacity_below_the_enrolled(
    db, client, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=5)
    for _ in range(3):
        make_enrolment(cohort, make_user())
    db.session.commit()
    before = cohort_rows(db)
    response = client.post_form(
        f"/courses/COH1/cohorts/{cohort.id}/edit", dict(VALID, capacity="2")
    )
    assert response.status_code == 200
    assert "cannot be lower than the 3 trainees already enrolled" in response.text
    assert cohort_rows(db) == before


def test_cohorts_of_another_course_are_not_found(client, course, make_course, make_cohort):
    elsewhere = make_cohort(make_course(code="COH2"))
    assert client.get(f"/courses/COH1/cohorts/{elsewhere.id}").status_code == 404
    assert client.get(f"/courses/COH1/cohorts/{elsewhere.id}/edit").status_code == 404
    assert client.get("/courses/NOPE/cohorts").status_code == 404


def test_cohort_list_shows_counts(client, course, make_cohort, make_user, make_enrolment):
    full = make_cohort(course, capacity=2, name="Full one")
    make_cohort(course, capacity=None, name="Empty one")
    for status in ("active", "active", "waitlisted", "withdrawn"):
        make_enrolment(full, make_user(), status=status)
    html = client.get("/courses/COH1/cohorts").text
    row = html[html.index("Full one") : html.index("</tr>", html.index("Full one"))]
    cells = [c.strip() for c in row.split('<td class="text-end">')[1:4]]
    assert [c.split("<")[0] for c in cells] == ["2", "1", "2"]
    assert "no limit" in html


def test_roster_shows_active_waiting_list_in_order_and_withdrawn(
    client, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=1)
    make_enrolment(cohort, make_user(name="Active <b>Ana</b>"))
    base = datetime(2030, 1, 1, tzinfo=UTC)
    make_enrolment(
        cohort, make_user(name="Second Waiting"), status="waitlisted", queued_at=base + timedelta(1)
    )
    make_enrolment(cohort, make_user(name="First Waiting"), status="waitlisted", queued_at=base)
    make_enrolment(cohort, make_user(name="Gone Person"), status="withdrawn")
    html = client.get(f"/courses/COH1/cohorts/{cohort.id}").text
    assert "Active &lt;b&gt;Ana&lt;/b&gt;" in html
    assert "<b>Ana" not in html
    assert html.index("First Waiting") < html.index("Second Waiting")
    assert html.index("Active &lt;b&gt;") < html.index("First Waiting") < html.index("Gone Person")


def test_roster_query_count_is_constant(
    app, client, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=100)
    url = f"/courses/COH1/cohorts/{cohort.id}"

    def queries_with(n):
        for _ in range(n):
            make_enrolment(cohort, make_user())
            make_enrolment(cohort, make_user(), status="waitlisted")
            make_enrolment(cohort, make_user(), status="withdrawn")
        with count_queries(app) as counter:
            assert client.get(url).status_code == 200
        return counter.count

    assert queries_with(1) == queries_with(10)


def test_staff_enrol_by_email(db, client, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=1)
    ana = make_user(email="ana@example.org", name="Ana")
    bob = make_user(email="bob@example.org", name="Bob")
    url = f"/courses/COH1/cohorts/{cohort.id}/enrolments"

    page = client.get(client.post_form(url, {"email": "ANA@example.org "}).headers["Location"])
    assert "Ana is enrolled." in page.text
    page = client.get(client.post_form(url, {"email": "bob@example.org"}).headers["Location"])
    assert "The cohort is full: Bob is on the waiting list." in page.text
    statuses = dict(db.session.execute(sa.select(Enrolment.user_id, Enrolment.status)).all())
    assert statuses == {ana.id: "active", bob.id: "waitlisted"}


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.org", "No account uses this address."),
        ("not an address", "Invalid email address."),
        ("", "This field is required."),
        ("ana@example.org", "Ana is already enrolled in this cohort."),
    ],
)
def test_staff_enrol_refusals(db, client, course, make_cohort, make_user, make_enrolment,
                              email, message):  # fmt: skip
    cohort = make_cohort(course)
    make_enrolment(cohort, make_user(email="ana@example.org", name="Ana"))
    db.session.commit()
    before = sorted(db.session.execute(sa.select(Enrolment.user_id, Enrolment.status)).all())
    response = client.post_form(f"/courses/COH1/cohorts/{cohort.id}/enrolments", {"email": email})
    assert message in client.get(response.headers["Location"]).text
    assert (
        sorted(db.session.execute(sa.select(Enrolment.user_id, Enrolment.status)).all()) == before
    )


def test_staff_withdraw_promotes_the_first_waiting(
    db, client, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=1)
    holder = make_enrolment(cohort, make_user(name="Holder"))
    waiting = make_enrolment(cohort, make_user(), status="waitlisted")
    response = client.post_form(
        f"/courses/COH1/cohorts/{cohort.id}/enrolments/{holder.id}/withdraw", {}
    )
    assert "Holder is withdrawn." in client.get(response.headers["Location"]).text
    assert db.session.get(Enrolment, holder.id).status == "withdrawn"
    assert db.session.get(Enrolment, waiting.id).status == "active"
    again = client.post_form(
        f"/courses/COH1/cohorts/{cohort.id}/enrolments/{holder.id}/withdraw", {}
    )
    assert "already withdrawn" in client.get(again.headers["Location"]).text


def test_withdrawing_an_enrolment_of_another_cohort_is_not_found(
    client, course, make_cohort, make_user, make_enrolment
):
    cohort, other = make_cohort(course), make_cohort(course)
    enrolment = make_enrolment(other, make_user())
    response = client.post_form(
        f"/courses/COH1/cohorts/{cohort.id}/enrolments/{enrolment.id}/withdraw", {}
    )
    assert response.status_code == 404


def test_a_post_without_csrf_token_is_refused(db, client, course, make_cohort, make_user):
    cohort = make_cohort(course)
    make_user(email="ana@example.org")
    response = client.post(
        f"/courses/COH1/cohorts/{cohort.id}/enrolments", data={"email": "ana@example.org"}
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
