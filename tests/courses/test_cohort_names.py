"""A cohort's name in English and in Bulgarian: the form, the operations, the pages, the API."""

# ruff: noqa: RUF001 - Cyrillic on purpose

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from courses.enrolment import operations
from courses.models import Cohort
from lms.models import AuditLog, Role

VALID = {
    "name": "Spring 2030",
    "name_bg": "Пролет 2030",
    "starts_on": "2030-03-01",
    "ends_on": "2030-06-30",
    "capacity": "25",
    "enrol_opens_on": "",
    "enrol_closes_on": "",
    "self_enrolment": "y",
}


@pytest.fixture
def staff(login_as, make_user):
    return login_as(make_user(roles=[Role.INSTRUCTOR]))


@pytest.fixture
def course(staff, make_course):
    return make_course(code="NAM1", instructors=[staff])


def _language(client, language: str) -> None:
    client.post_form("/language", {"language": language})


def test_the_form_has_a_bulgarian_name_field(client, course):
    page = client.get("/courses/NAM1/cohorts/new").text
    assert 'name="name_bg"' in page
    assert "Name (Bulgarian)" in page
    _language(client, "bg")
    page = client.get("/courses/NAM1/cohorts/new").text
    assert "Наименование (български)" in page
    assert "Показва се на страниците на български" in page


def test_create_with_a_bulgarian_name(db, client, course):
    response = client.post_form("/courses/NAM1/cohorts/new", VALID)
    assert response.status_code == 302
    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.course_id == course.id))
    assert (cohort.name, cohort.name_bg) == ("Spring 2030", "Пролет 2030")


def test_the_bulgarian_name_is_optional_and_trimmed(db, client, course):
    assert client.post_form("/courses/NAM1/cohorts/new", dict(VALID, name_bg="")).status_code == 302
    assert db.session.scalar(sa.select(Cohort.name_bg)) == ""
    data = dict(VALID, name="Autumn 2030", name_bg="  Есен 2030  ")
    assert client.post_form("/courses/NAM1/cohorts/new", data).status_code == 302
    assert db.session.scalar(sa.select(Cohort.name_bg).where(Cohort.name == "Autumn 2030")) == (
        "Есен 2030"
    )


def test_edit_changes_the_bulgarian_name_and_audits_it(db, client, course, make_cohort):
    cohort = make_cohort(course, name="Spring 2030")
    page = client.get(f"/courses/NAM1/cohorts/{cohort.id}/edit").text
    assert 'name="name_bg" type="text" value=""' in page
    response = client.post_form(
        f"/courses/NAM1/cohorts/{cohort.id}/edit", dict(VALID, name_bg="Пролетна група")
    )
    assert response.status_code == 302
    db.session.refresh(cohort)
    assert cohort.name_bg == "Пролетна група"
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "cohort.update"))
    assert entry.data["changes"]["name_bg"] == ["", "Пролетна група"]


def test_a_too_long_bulgarian_name_is_refused(db, client, course):
    response = client.post_form("/courses/NAM1/cohorts/new", dict(VALID, name_bg="я" * 121))
    assert response.status_code == 200
    assert "Field cannot be longer than 120 characters." in response.text
    assert db.session.scalar(sa.select(Cohort.id)) is None


def test_the_operation_refuses_a_too_long_bulgarian_name(db, course, staff):
    data = operations.CohortData(
        name="Spring",
        name_bg="я" * 121,
        starts_on=date(2030, 3, 1),
        ends_on=date(2030, 6, 30),
        capacity=None,
        enrol_opens_on=None,
        enrol_closes_on=None,
        self_enrolment=True,
    )
    with pytest.raises(operations.EnrolmentError, match="at most 120"):
        operations.create_cohort(course, data, actor=staff)


def test_uniqueness_stays_on_the_english_name(db, client, course, make_cohort):
    make_cohort(course, name="Spring 2030")
    # The same Bulgarian name beside another English one is allowed ...
    other = dict(VALID, name="Spring 2030 B")
    assert client.post_form("/courses/NAM1/cohorts/new", other).status_code == 302
    twin = dict(VALID, name="Spring 2030 C")
    assert client.post_form("/courses/NAM1/cohorts/new", twin).status_code == 302
    # ... the same English name is not.
    response = client.post_form("/courses/NAM1/cohorts/new", dict(VALID, name_bg="Друго"))
    assert "This course already has a cohort with that name." in response.text


def test_pages_show_the_name_in_the_readers_language(db, client, course, make_cohort):
    cohort = make_cohort(course, name="Spring <2030>")
    cohort.name_bg = "Пролет <2030>"
    db.session.commit()
    english = client.get(f"/courses/NAM1/cohorts/{cohort.id}").text
    assert '<h1 class="h3">Spring &lt;2030&gt;</h1>' in english
    assert "Пролет" not in english
    assert "Spring &lt;2030&gt;" in client.get("/courses/NAM1/cohorts").text

    _language(client, "bg")
    bulgarian = client.get(f"/courses/NAM1/cohorts/{cohort.id}").text
    assert '<h1 class="h3">Пролет &lt;2030&gt;</h1>' in bulgarian
    assert "Spring" not in bulgarian
    assert "Пролет &lt;2030&gt;" in client.get("/courses/NAM1/cohorts").text
    assert "Пролет &lt;2030&gt;" in client.get("/courses/NAM1").text  # the trainees' panel


def test_an_empty_bulgarian_name_falls_back_to_the_english_one(db, client, course, make_cohort):
    cohort = make_cohort(course, name="Spring 2030")
    _language(client, "bg")
    assert (
        '<h1 class="h3">Spring 2030</h1>' in client.get(f"/courses/NAM1/cohorts/{cohort.id}").text
    )
    assert cohort.tr("name", "bg") == "Spring 2030"
    cohort.name_bg = "Пролет 2030"
    assert cohort.tr("name", "bg") == "Пролет 2030"
    assert cohort.tr("name", "en") == "Spring 2030"


def test_the_api_gives_both_names(db, client, course, make_cohort):
    cohort = make_cohort(course, name="Spring 2030")
    cohort.name_bg = "Пролет 2030"
    db.session.commit()
    items = client.get("/api/v1/courses/NAM1/cohorts").get_json()["items"]
    assert [(c["name"], c["name_bg"]) for c in items] == [("Spring 2030", "Пролет 2030")]
