"""The gradebook page of a large class: pages, search, filters, escaping and bounded work."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

import courses.gradebook.queries as gradebook_queries
from courses.assessments.grades import set_grade
from courses.assessments.models import Grade
from courses.gradebook.models import CourseCompletion
from courses.models import Enrolment
from lms.models import User, UserRole
from tests.conftest import count_queries

D = Decimal


@pytest.fixture
def enrol_many(db):
    """Bulk-enrol ``count`` trainees named ``Trainee 001``... into a cohort; return their ids."""

    def enrol(cohort, count: int, prefix: str = "Trainee") -> list[int]:
        domain = f"c{cohort.id}.example.org"
        db.session.execute(
            sa.insert(User),
            [
                {"email": f"{prefix.lower()}{n:03d}@{domain}", "name": f"{prefix} {n:03d}"}
                for n in range(1, count + 1)
            ],
        )
        ids = list(
            db.session.scalars(
                sa.select(User.id)
                .where(User.email.like(f"{prefix.lower()}%@{domain}"))
                .order_by(User.name)
            )
        )
        db.session.execute(sa.insert(UserRole), [{"user_id": i, "role": "trainee"} for i in ids])
        now = datetime.now(UTC)
        db.session.execute(
            sa.insert(Enrolment),
            [
                {"cohort_id": cohort.id, "user_id": i, "status": "active", "queued_at": now}
                for i in ids
            ],
        )
        db.session.commit()
        return ids

    return enrol


def _names(html: str) -> list[str]:
    """Trainee names of the page's rows, in order."""
    return re.findall(r'/history">([^<]*)</a>', html)


def _page_links(html: str) -> list[dict]:
    hrefs = re.findall(r'class="page-link" href="([^"#]+)"', html)
    return [parse_qs(urlsplit(href.replace("&amp;", "&")).query) for href in hrefs]


def test_a_page_shows_50_trainees_by_name_and_runs_the_same_queries_at_any_size(
    app, client, db, login_as, make_class, make_category, make_assessment, enrol_many
):
    counts = []
    for size, code in ((3, "PGA"), (130, "PGB")):
        world = make_class(0, code=code)
        category = make_category(world.course)
        exam = make_assessment(world.course, category=category, max_points=10, required=True)
        ids = enrol_many(world.cohort, size)
        for user_id in ids[:60]:
            set_grade(exam, db.session.get(User, user_id), D(7), actor=None, release=True)
        db.session.commit()
        login_as(world.instructor)
        with count_queries(app) as counter:
            response = client.get(f"/courses/{code}/gradebook")
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert _names(html) == [f"Trainee {n:03d}" for n in range(1, min(size, 50) + 1)]
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 15


def test_only_the_rows_shown_are_computed(
    client, db, login_as, make_class, enrol_many, monkeypatch
):
    world = make_class(0, code="PGC")
    enrol_many(world.cohort, 120)
    login_as(world.instructor)
    computed = []
    real = gradebook_queries.course_grade

    def counting(*args, **kwargs):
        computed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gradebook_queries, "course_grade", counting)
    assert client.get("/courses/PGC/gradebook?page=3").status_code == 200
    assert len(computed) == 20  # the last page: 101 to 120
    computed.clear()
    assert client.get("/courses/PGC/gradebook?per_page=100").status_code == 200
    assert len(computed) == 100


@pytest.mark.parametrize(
    ("query", "first", "count"),
    [
        ("", "Trainee 001", 50),
        ("?page=2", "Trainee 051", 50),
        ("?page=3", "Trainee 101", 20),
        ("?page=4", "Trainee 101", 20),  # past the last page: the last page
        ("?page=922337203685477580", "Trainee 101", 20),
        ("?page=99999999999999999999999999", "Trainee 101", 20),
        ("?page=0", "Trainee 001", 50),
        ("?page=-3", "Trainee 001", 50),
        ("?page=abc", "Trainee 001", 50),
        ("?per_page=100", "Trainee 001", 100),
        ("?per_page=200", "Trainee 001", 120),
        ("?per_page=7", "Trainee 001", 50),  # not a size offered: the default
        ("?per_page=100000", "Trainee 001", 50),
    ],
)
def test_page_numbers_and_sizes(client, login_as, make_class, enrol_many, query, first, count):
    world = make_class(0, code="PGD")
    enrol_many(world.cohort, 120)
    login_as(world.instructor)
    response = client.get(f"/courses/PGD/gradebook{query}")
    assert response.status_code == 200
    names = _names(response.get_data(as_text=True))
    assert names[0] == first
    assert len(names) == count


def test_search_by_name_ignores_case_in_cyrillic_too(client, login_as, make_class):
    world = make_class(
        4,
        code="PGE",
        names=["Мария Иванова", "Иван Петров", "Georgi IVANOV", "100% Sure_Name"],
    )
    login_as(world.instructor)

    def found(q):
        return sorted(_names(client.get("/courses/PGE/gradebook", query_string={"q": q}).text))

    assert found("МАРИЯ") == ["Мария Иванова"]
    assert found("иван") == ["Иван Петров", "Мария Иванова"]
    assert found("ivanov") == ["Georgi IVANOV"]
    assert found("  петров   иван ") == ["Иван Петров"]  # every word must match
    assert found("%") == ["100% Sure_Name"]  # LIKE wildcards are plain characters
    assert found("_") == ["100% Sure_Name"]
    assert found(world.trainees[1].email.upper()) == ["Иван Петров"]
    html = client.get("/courses/PGE/gradebook", query_string={"q": "nobody"}).text
    assert "No trainee matches." in html


def test_filters_by_cohort_and_completion_and_the_links_keep_them(
    client, db, login_as, make_class, make_cohort, enrol_many
):
    world = make_class(0, code="PGF")
    evening = make_cohort(world.course, name="Evening")
    day_ids = enrol_many(world.cohort, 130, prefix="Day")
    enrol_many(evening, 5, prefix="Night")
    for user_id in day_ids[::2]:  # Day 001, Day 003, ...: 65 completed
        db.session.add(CourseCompletion(user_id=user_id, course_id=world.course.id, completed=True))
    db.session.add(CourseCompletion(user_id=day_ids[1], course_id=world.course.id, completed=False))
    db.session.commit()
    login_as(world.instructor)

    html = client.get(f"/courses/PGF/gradebook?cohort={evening.id}").text
    assert _names(html) == [f"Night {n:03d}" for n in range(1, 6)]

    base = f"/courses/PGF/gradebook?cohort={world.cohort.id}&q=day&completion=complete"
    html = client.get(base).text
    assert _names(html)[:3] == ["Day 001", "Day 003", "Day 005"]
    assert len(_names(html)) == 50
    assert "Trainees 1–50 of 65." in html  # noqa: RUF001
    links = _page_links(html)
    assert links, "a second page is linked"
    for args in links:
        assert args["cohort"] == [str(world.cohort.id)]
        assert args["q"] == ["day"]
        assert args["completion"] == ["complete"]
    html = client.get(base + "&page=2").text
    assert _names(html)[0] == "Day 101"
    assert len(_names(html)) == 15

    html = client.get("/courses/PGF/gradebook?completion=incomplete&per_page=100").text
    names = _names(html)
    assert names[:2] == ["Day 002", "Day 004"]
    assert "Night 001" in names
    assert len(names) == 70
    assert all(args["per_page"] == ["100"] for args in _page_links(html))
    # An unknown completion value lists everybody.
    everybody = client.get("/courses/PGF/gradebook?completion=x").text
    assert "Trainees 1–50 of 135." in everybody  # noqa: RUF001


def test_names_and_the_search_are_escaped(client, login_as, make_class):
    world = make_class(1, code="PGG", names=['<script>alert("x")</script> Ana'])
    login_as(world.instructor)
    html = client.get(
        "/courses/PGG/gradebook", query_string={"q": 'ana"><img src=x onerror=alert(1)>'}
    ).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # kept in the search box
    html = client.get("/courses/PGG/gradebook?q=ana").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Ana" in html


def test_the_search_form_labels_every_field(client, login_as, make_class):
    world = make_class(1, code="PGH")
    login_as(world.instructor)
    html = client.get("/courses/PGH/gradebook").text
    for field in ("q", "cohort", "completion", "per_page"):
        assert re.search(rf'<label [^>]*for="{field}"', html)
        assert re.search(rf'id="{field}" name="{field}"', html)


def test_grading_a_cell_returns_to_the_same_page_and_filters(
    client, db, login_as, make_class, make_assessment, enrol_many
):
    world = make_class(0, code="PGI")
    exam = make_assessment(world.course, title_en="Oral", max_points=20)
    ids = enrol_many(world.cohort, 60)
    login_as(world.instructor)
    html = client.get("/courses/PGI/gradebook?page=2&q=trainee&per_page=50").text
    target = ids[55]  # Trainee 056, on page 2
    cell = re.search(
        rf'href="(/courses/PGI/gradebook/assessments/{exam.id}/trainees/{target}[^"]*)"', html
    ).group(1)
    cell = cell.replace("&amp;", "&")
    assert parse_qs(urlsplit(cell).query) == {"q": ["trainee"], "page": ["2"]}
    form = client.get(cell)
    assert form.status_code == 200
    cancel = re.search(r'href="([^"]*)">Cancel<', form.text).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(cancel).query) == {"q": ["trainee"], "page": ["2"]}
    response = client.post_form(cell, {"points": "15", "release": "y"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "q": ["trainee"],
        "page": ["2"],
    }
    grade = db.session.scalar(sa.select(Grade).where(Grade.user_id == target))
    assert grade.points == 15
    assert grade.status == "released"


def test_the_csv_streams_every_filtered_trainee_in_name_order(
    client, db, login_as, make_class, make_assessment, enrol_many
):
    world = make_class(0, code="PGJ")
    exam = make_assessment(world.course, title_en="Oral", max_points=20)
    ids = enrol_many(world.cohort, 1030)
    enrol_many(world.cohort, 3, prefix="Zed")
    graded = db.session.get(User, ids[-1])
    set_grade(exam, graded, D("12.5"), actor=None, release=True)
    db.session.commit()
    login_as(world.instructor)
    response = client.get("/courses/PGJ/gradebook.csv")
    assert response.status_code == 200
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    header, *data = rows
    assert header[:4] == ["Name", "E-mail", "Cohort", "Oral (of 20)"]
    names = [f"Trainee {n:03d}" for n in range(1, 1031)]
    assert [row[0] for row in data] == [*sorted(names), "Zed 001", "Zed 002", "Zed 003"]
    assert {row[0]: row[3] for row in data}[graded.name] == "12.50"
    filtered = client.get("/courses/PGJ/gradebook.csv?q=ZED").data.decode("utf-8-sig")
    names = [row[0] for row in csv.reader(io.StringIO(filtered, newline=""))][1:]
    assert names == ["Zed 001", "Zed 002", "Zed 003"]
