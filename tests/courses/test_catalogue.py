"""The public catalogue, programme pages and course pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import url_for

from courses.models import CourseState
from lms.models import Role
from tests.conftest import count_queries

XSS_TITLE = "<script>alert(1)</script> Roads & Rails"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; Roads &amp; Rails"


def listed_codes(html: str) -> list[str]:
    """Return the course codes linked from a catalogue or programme page, in order."""
    return re.findall(r'href="/courses/([A-Z0-9._-]+)"', html)


def in_bulgarian(client) -> None:
    with client.session_transaction() as session:
        session["locale"] = "bg"


# --- catalogue ---------------------------------------------------------------


def test_catalogue_lists_published_courses_only(client, make_course):
    make_course(code="PUB-1", state=CourseState.PUBLISHED)
    make_course(code="DRAFT-1", state=CourseState.DRAFT)
    make_course(code="ARCH-1", state=CourseState.ARCHIVED)
    html = client.get("/courses").get_data(as_text=True)
    assert listed_codes(html) == ["PUB-1"]
    assert "DRAFT-1" not in html
    assert "ARCH-1" not in html


@pytest.mark.parametrize("viewer", ["anonymous", "trainee", "other_instructor", "certifier"])
def test_catalogue_and_search_do_not_leak_drafts(client, login_as, make_user, make_course, viewer):
    owner = make_user(roles=[Role.INSTRUCTOR])
    make_course(
        code="SECRET-1", title_en="Secret plans", state=CourseState.DRAFT, instructors=[owner]
    )
    if viewer == "other_instructor":
        login_as(make_user(roles=[Role.INSTRUCTOR]))
    elif viewer != "anonymous":
        login_as(Role(viewer))
    for url in ("/courses", "/courses?q=secret", "/courses?q=SECRET-1"):
        html = client.get(url).get_data(as_text=True)
        assert listed_codes(html) == []
        assert "/courses/SECRET-1" not in html
        assert "Secret plans" not in html


def test_drafts_are_listed_for_their_staff(client, login_as, make_user, make_course):
    owner = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="MINE-1", state=CourseState.DRAFT, instructors=[owner])
    make_course(code="THEIRS-1", state=CourseState.DRAFT)
    login_as(owner)
    html = client.get("/courses").get_data(as_text=True)
    assert listed_codes(html) == ["MINE-1"]
    assert "Draft" in html
    login_as(Role.ADMIN)
    assert listed_codes(client.get("/courses").get_data(as_text=True)) == ["MINE-1", "THEIRS-1"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sc-pm", ["SC-PM-101"]),  # code, lower case
        ("GOVERNANCE", ["SC-PM-101"]),  # English title, upper case
        ("stakeholders", ["SC-PM-101"]),  # English summary
        ("УПРАВЛЕНИЕ", ["SC-PM-101"]),  # Bulgarian title, Cyrillic upper case
        ("заинтересовани", ["SC-PM-101"]),  # Bulgarian summary
        ("данни", ["SC-DATA-201"]),
        ("urban data", ["SC-DATA-201"]),  # every word must match
        ("governance data", []),
        ("%", []),  # LIKE wildcards are literal
        ("_", []),
        ("", ["SC-DATA-201", "SC-PM-101"]),
    ],
)
def test_search_in_both_languages_ignores_case(client, make_course, query, expected):
    make_course(
        code="SC-PM-101",
        title_en="Smart-city Governance",
        title_bg="Управление на интелигентен град",
        summary_en="Who decides, and how stakeholders take part.",
        summary_bg="Кой решава и как участват заинтересованите страни.",
    )
    make_course(
        code="SC-DATA-201",
        title_en="Urban Data",
        title_bg="Градски данни",
        summary_en="Open data that people reuse.",
    )
    html = client.get("/courses", query_string={"q": query}).get_data(as_text=True)
    assert listed_codes(html) == expected
    if not expected:
        assert "No course matches your search." in html


def test_search_box_keeps_the_query_escaped(client):
    html = client.get("/courses", query_string={"q": '"><script>x</script>'}).get_data(as_text=True)
    assert "<script>x</script>" not in html
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in html


def test_filter_by_programme(client, make_course, make_programme):
    first, second = make_course(code="A-1"), make_course(code="B-1")
    make_course(code="C-1")
    make_programme(code="PM", title_en="Project managers", courses=[second, first])
    make_programme(code="HIDDEN", title_en="Hidden one", state=CourseState.DRAFT)
    html = client.get("/courses").get_data(as_text=True)
    assert "Project managers" in html
    assert "Hidden one" not in html
    assert 'href="/programmes/PM"' in html
    html = client.get("/courses?programme=pm").get_data(as_text=True)
    assert listed_codes(html) == ["A-1", "B-1"]


def test_filter_by_open_cohort(client, make_course, make_cohort):
    today = date.today()
    open_course = make_course(code="OPEN-1")
    make_cohort(open_course, enrol_opens_on=today - timedelta(days=3))
    closed = make_course(code="CLOSED-1")
    make_cohort(closed, enrol_closes_on=today - timedelta(days=1))
    staff_only = make_course(code="STAFF-1")
    make_cohort(staff_only, self_enrolment=False)
    not_yet = make_course(code="LATER-1")
    make_cohort(not_yet, enrol_opens_on=today + timedelta(days=5))
    over = make_course(code="OVER-1")
    make_cohort(over, starts_on=today - timedelta(days=90), ends_on=today - timedelta(days=1))
    make_course(code="NONE-1")

    html = client.get("/courses?open=1").get_data(as_text=True)
    assert listed_codes(html) == ["OPEN-1"]
    html = client.get("/courses").get_data(as_text=True)
    assert len(listed_codes(html)) == 6
    assert html.count("Open for enrolment") == 2  # the filter's label and one badge


def test_pagination(app, client, make_course):
    per_page = app.config["PER_PAGE"]
    for n in range(per_page + 3):
        make_course(code=f"PAGE-{n:03d}")
    first = listed_codes(client.get("/courses").get_data(as_text=True))
    second_html = client.get("/courses?page=2").get_data(as_text=True)
    second = listed_codes(second_html)
    assert len(first) == per_page
    assert len(second) == 3
    assert not set(first) & set(second)
    assert 'href="/courses?page=1"' in second_html
    assert client.get("/courses?page=99").status_code == 200
    assert client.get("/courses?page=-3").status_code == 200
    assert client.get("/courses?page=abc").status_code == 200


def test_pagination_keeps_the_filters(app, client, make_course):
    for n in range(app.config["PER_PAGE"] + 1):
        make_course(code=f"KEEP-{n:03d}", title_en="Keep me")
    html = client.get("/courses?q=keep").get_data(as_text=True)
    assert 'href="/courses?page=2&amp;q=keep"' in html


def _seed(make_user, make_course, make_cohort, make_programme, count):
    teachers = [make_user(roles=[Role.INSTRUCTOR]) for _ in range(3)]
    courses = [make_course(instructors=teachers[: 1 + n % 3]) for n in range(count)]
    for course in courses:
        make_cohort(course)
    make_programme(courses=courses[:2])


@pytest.mark.parametrize("viewer", ["anonymous", "trainee", "admin"])
def test_catalogue_query_count_does_not_grow_with_courses(
    app, client, login_as, make_user, make_course, make_cohort, make_programme, viewer
):
    app.config["PER_PAGE"] = 50
    if viewer != "anonymous":
        login_as(Role(viewer))
    _seed(make_user, make_course, make_cohort, make_programme, 3)
    with count_queries(app) as few:
        assert client.get("/courses").status_code == 200
    _seed(make_user, make_course, make_cohort, make_programme, 27)
    with count_queries(app) as many:
        html = client.get("/courses").get_data(as_text=True)
    assert len(listed_codes(html)) == 30
    assert few.count == many.count
    # 8 for the page, 1 for the navbar's unread-notification count of a signed-in user
    limit = 8 if viewer == "anonymous" else 9
    assert many.count <= limit, "\n".join(s[:90] for s in many.statements)


def test_titles_are_shown_in_the_chosen_language(client, make_course):
    make_course(code="LANG-1", title_en="Urban data", title_bg="Градски данни")
    make_course(code="LANG-2", title_en="Only English")
    in_bulgarian(client)
    html = client.get("/courses").get_data(as_text=True)
    assert "Градски данни" in html
    assert "Urban data" not in html
    assert "Only English" in html  # falls back to English


def test_titles_are_escaped_everywhere(
    client, login_as, make_user, make_course, make_module, make_programme
):
    owner = make_user(roles=[Role.INSTRUCTOR], name="Ann <b>& Co</b>")
    course = make_course(
        code="XSS-1", title_en=XSS_TITLE, summary_en=XSS_TITLE, instructors=[owner]
    )
    make_module(course, title_en=XSS_TITLE)
    make_programme(code="XSS-P", title_en=XSS_TITLE, courses=[course])
    pages = ["/courses", "/courses/XSS-1", "/programmes/XSS-P"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html, url
        assert XSS_ESCAPED in html, url
        assert "Ann &lt;b&gt;&amp; Co&lt;/b&gt;" in html, url
    login_as(owner)
    for url in ["/teaching", "/courses/XSS-1/manage", "/courses/XSS-1/edit"]:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


# --- course page -------------------------------------------------------------


def test_course_page_shows_the_contents(
    app, client, login_as, make_user, make_course, make_module, make_lesson, make_outcome
):
    ann = make_user(roles=[Role.INSTRUCTOR], name="Ann Instructor")
    course = make_course(
        code="SC-101", title_en="Smart cities", summary_en="What and why.", workload_hours=12
    )
    course.instructors.append(ann)
    make_outcome(course, text_en="Explain a smart city")
    basics = make_module(course, title_en="Basics")
    lesson = make_lesson(basics, title_en="What is a smart city?", workload_minutes=45)
    make_lesson(basics, title_en="Extra reading", required=False)
    make_module(course, title_en="Practice")
    html = client.get("/courses/sc-101").get_data(as_text=True)
    for text in (
        "Smart cities",
        "What and why.",
        "12 hours",
        "Ann Instructor",
        "Explain a smart city",
        "Basics",
        "What is a smart city?",
        "45 min",
        "Optional",
        "Practice",
    ):
        assert text in html, text
    assert html.index("Basics") < html.index("Practice")
    with app.test_request_context():
        lesson_url = url_for("enrolment.lesson", code="SC-101", lesson_id=lesson.id)
    # Lessons link only for those who may open them: not for a visitor, yes for staff.
    assert f'href="{lesson_url}"' not in html
    login_as(ann)
    html = client.get("/courses/sc-101").get_data(as_text=True)
    assert f'href="{lesson_url}"' in html
    assert 'id="cohorts-heading"' in html  # the enrolment panel is included


def test_course_page_in_bulgarian(client, make_course, make_module, make_outcome):
    course = make_course(code="BG-1", title_en="Urban data", title_bg="Градски данни")
    make_module(course, title_en="Sources", title_bg="Източници")
    make_outcome(course, text_en="Find data", text_bg="Намира данни")
    in_bulgarian(client)
    html = client.get("/courses/BG-1").get_data(as_text=True)
    assert "Градски данни" in html
    assert "Източници" in html
    assert "Намира данни" in html
    assert 'lang="bg"' in html


def test_unknown_course_is_not_found(client):
    assert client.get("/courses/NOPE").status_code == 404


@pytest.mark.parametrize("viewer", ["anonymous", "trainee", "other_instructor", "employer"])
def test_draft_course_page_is_not_found_for_outsiders(
    client, login_as, make_user, make_course, viewer
):
    owner = make_user(roles=[Role.INSTRUCTOR])
    make_course(code="HUSH-1", title_en="Hush", state=CourseState.DRAFT, instructors=[owner])
    if viewer == "other_instructor":
        login_as(make_user(roles=[Role.INSTRUCTOR]))
    elif viewer != "anonymous":
        login_as(Role(viewer))
    response = client.get("/courses/HUSH-1")
    assert response.status_code == 404
    assert "Hush" not in response.get_data(as_text=True)
    # Same answer as a course that does not exist.
    assert client.get("/courses/NEVER-1").status_code == 404


def test_archived_course_page_stays_reachable(client, make_course):
    make_course(code="OLD-1", title_en="Old course", state=CourseState.ARCHIVED)
    html = client.get("/courses/OLD-1").get_data(as_text=True)
    assert "Old course" in html
    assert "Archived" in html


def test_course_page_query_count_does_not_grow_with_lessons(
    app, client, make_course, make_module, make_lesson, make_outcome
):
    course = make_course(code="Q-1")
    module = make_module(course)
    make_lesson(module)
    make_outcome(course)
    with count_queries(app) as few:
        client.get("/courses/Q-1")
    for _ in range(4):
        extra = make_module(course)
        for _ in range(5):
            make_lesson(extra)
        make_outcome(course)
    with count_queries(app) as many:
        client.get("/courses/Q-1")
    assert few.count == many.count


# --- programme pages ---------------------------------------------------------


def test_programme_page_lists_its_courses_in_order(client, make_course, make_programme):
    third, first, second = make_course(code="Z-3"), make_course(code="A-1"), make_course(code="M-2")
    make_programme(
        code="SCPM", title_en="Smart-city project manager", courses=[first, second, third]
    )
    html = client.get("/programmes/scpm").get_data(as_text=True)
    assert "Smart-city project manager" in html
    assert listed_codes(html) == ["A-1", "M-2", "Z-3"]


def test_programme_page_hides_draft_courses_from_outsiders(
    client, login_as, make_user, make_course, make_programme
):
    owner = make_user(roles=[Role.INSTRUCTOR])
    public = make_course(code="PUB-9")
    draft = make_course(code="DRAFT-9", state=CourseState.DRAFT, instructors=[owner])
    make_programme(code="MIX", courses=[public, draft])
    assert listed_codes(client.get("/programmes/MIX").get_data(as_text=True)) == ["PUB-9"]
    login_as(make_user(roles=[Role.INSTRUCTOR]))
    assert listed_codes(client.get("/programmes/MIX").get_data(as_text=True)) == ["PUB-9"]
    login_as(owner)
    assert listed_codes(client.get("/programmes/MIX").get_data(as_text=True)) == [
        "PUB-9",
        "DRAFT-9",
    ]


def test_draft_programme_is_not_found_except_for_admins(client, login_as, make_programme):
    make_programme(code="SOON", title_en="Coming soon", state=CourseState.DRAFT)
    assert client.get("/programmes/SOON").status_code == 404
    login_as(Role.INSTRUCTOR)
    assert client.get("/programmes/SOON").status_code == 404
    login_as(Role.ADMIN)
    assert "Coming soon" in client.get("/programmes/SOON").get_data(as_text=True)
    assert client.get("/programmes/NOPE").status_code == 404
