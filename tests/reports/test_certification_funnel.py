"""The certification report's funnel: eligible now, then issued; and verifications by month.

Figures are recomputed independently: eligibility by the certifier's queue, one scheme
at a time; verifications from the rows of their table.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from certificates import queries as certificate_queries
from certificates.models import Certificate, Scheme, SchemeRequirement, SigningKey, StatusList
from certificates.verify.counts import VerificationCount
from courses.assessments.models import Assessment, Grade
from courses.competencies.models import Competency, Evidence, Framework, ProficiencyLevel
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms.db import utcnow
from lms.models import Role
from reports import queries
from reports.filters import Filters
from tests.conftest import count_queries
from tests.reports import recompute

RANGE = "from=2026-03-01&to=2026-12-31"
FILTERS = {
    "all": lambda h: Filters(),
    "dates": lambda h: Filters(date_from=date(2026, 4, 15), date_to=date(2026, 8, 31)),
    "programme": lambda h: Filters(programme_id=h.programme.id),
    "course": lambda h: Filters(course_id=h.courses[0].id),
    "cohort": lambda h: Filters(cohort_id=h.cohorts[0].id),
}


@pytest.fixture
def history(db, make_history):
    history = make_history(size=60, seed=7)
    other_code = history.scheme.code.replace("S-", "T-", 1)  # the history's scheme of no programme
    other = db.session.scalar(sa.select(Scheme.id).where(Scheme.code == other_code))
    counts = {
        (history.scheme.id, date(2026, 3, 1)): 3,  # under five: suppressed
        (history.scheme.id, date(2026, 4, 1)): 12,
        (history.scheme.id, date(2026, 9, 1)): 7,
        (other, date(2026, 4, 1)): 5,
        (other, date(2026, 11, 1)): 40,
    }
    db.session.add_all(
        VerificationCount(scheme_id=scheme_id, month=month, count=n)
        for (scheme_id, month), n in counts.items()
    )
    db.session.commit()
    return history


@pytest.fixture
def manager(login_as):
    return login_as(Role.MANAGER)


@pytest.mark.parametrize("which", FILTERS)
def test_eligible_and_verifications_agree_with_the_recomputation(app, history, which):
    f = FILTERS[which](history)
    report = queries.certification(f)
    expected = recompute.certification(f)
    for key in ("by_scheme", "verifications"):
        actual = recompute.plain(report.table(key))
        assert recompute.same(actual, expected[key]), f"{key}:\n{actual}\n!=\n{expected[key]}"


def test_the_figures_are_real_and_small_ones_suppressed(app, history):
    report = queries.certification(Filters())
    eligible = report.table("by_scheme").column("eligible")
    assert any(isinstance(v, int) and v >= 5 for v in eligible)  # eligible trainees exist
    table = report.table("verifications")
    assert table.header[0] == "Month"
    assert recompute.plain(table) == [
        ["2026-03", "< 5", 0],
        ["2026-04", 12, 5],
        ["2026-09", 7, 0],
        ["2026-11", 0, 40],
    ]
    dated = queries.certification(Filters(date_from=date(2026, 4, 20), date_to=date(2026, 9, 1)))
    assert recompute.plain(dated.table("verifications")) == [["2026-04", 12, 5], ["2026-09", 7, 0]]
    mine = queries.certification(Filters(programme_id=history.programme.id))
    assert mine.table("verifications").header == ["Month", history.scheme.code]


def test_eligible_follows_the_certifiers_queue(db, make_user):
    """Met, unmet, a holder, one barred by a certificate revoked in error, an inactive one."""
    course = Course(code="ELIG-1", title_en="Course", state=CourseState.PUBLISHED)
    scheme = Scheme(code="ELIG", title_en="Scheme")
    key = SigningKey(public_multikey="z6MkEligibleTest")
    status_list = StatusList(purpose="revocation", bits=b"\0" * 16)
    db.session.add_all([course, scheme, key, status_list])
    db.session.flush()
    db.session.add(
        SchemeRequirement(scheme=scheme, kind="course", course=course, min_grade=Decimal(50))
    )
    grades = {"met": 80, "unmet": 40, "holder": 90, "barred": 90, "inactive": 90, "met2": 50}
    people = {}
    for name, grade in grades.items():
        people[name] = make_user(roles=[Role.TRAINEE], name=name)
        db.session.add(
            CourseCompletion(
                user_id=people[name].id,
                course_id=course.id,
                completed=True,
                grade=Decimal(grade),
                completed_at=utcnow(),
            )
        )
    people["inactive"].active = False
    now = utcnow()
    for index, (name, status) in enumerate((("holder", "active"), ("barred", "revoked")), 1):
        db.session.add(
            Certificate(
                code=f"ELIG-{index}",
                scheme=scheme,
                user=people[name],
                status=status,
                status_list=status_list,
                status_index=index,
                issued_at=now - timedelta(days=10),
                valid_from=now - timedelta(days=10),
                valid_until=now + timedelta(days=300),
                signing_key=key,
                snapshot={},
                credential={},
                pdf=b"%PDF-",
                pdf_sha256=hashlib.sha256(b"%PDF-").hexdigest(),
                revoked_in_error=status == "revoked",
                revoked_at=now if status == "revoked" else None,
                revocation_reason="Wrong person" if status == "revoked" else "",
            )
        )
    db.session.flush()
    assert queries.eligible_by_scheme(Filters()) == {"ELIG": 2}
    queue = {row.user.name for row in certificate_queries.eligible_queue(scheme)}
    assert queue == {"met", "met2"}
    scheme.active = False
    db.session.flush()
    assert queries.eligible_by_scheme(Filters()) == {}


def test_exam_and_competency_requirements_follow_the_certifiers_queue(db, make_user):
    """An exam's pass mark, rounding, excused and draft grades; levels, superseded, future."""
    now = utcnow()
    course = Course(code="ELIG-2", title_en="Course", state=CourseState.PUBLISHED)
    exam = Assessment(
        course=course,
        kind="manual",
        title_en="Exam",
        max_points=Decimal(3),
        pass_percent=Decimal("66.67"),
        published=True,
        position=1,
    )
    framework = Framework(code="ELIG-F", name_en="Framework")
    db.session.add_all([course, exam, framework])
    db.session.flush()
    levels = [
        ProficiencyLevel(framework=framework, rank=rank, name_en=f"L{rank}") for rank in (1, 2, 3)
    ]
    skill = Competency(framework=framework, code="ELIG-K", title_en="Skill")
    scheme = Scheme(code="ELIG-2", title_en="Scheme")
    db.session.add_all([*levels, skill, scheme])
    db.session.flush()
    db.session.add_all(
        [
            SchemeRequirement(scheme=scheme, kind="exam", assessment=exam),
            SchemeRequirement(
                scheme=scheme, kind="competency", competency_id=skill.id, min_level=2
            ),
        ]
    )
    # name: (points, grade status, excused, [(level rank, days ago, superseded)])
    people = {
        "met": (Decimal(3), "released", False, [(2, 5, False)]),
        "rounded up": (Decimal(2), "released", False, [(3, 5, False)]),  # 66.666… → 66.67
        "below": (Decimal("1.99"), "released", False, [(3, 5, False)]),
        "draft": (Decimal(3), "draft", False, [(3, 5, False)]),
        "excused": (Decimal(3), "released", True, [(3, 5, False)]),
        "superseded": (Decimal(3), "released", False, [(3, 9, True), (1, 2, False)]),
        "future": (Decimal(3), "released", False, [(1, 9, False), (3, -2, False)]),
        "two rows": (Decimal(3), "released", False, [(1, 9, False), (2, 2, False)]),
        "no level": (Decimal(3), "released", False, []),
    }
    for name, (points, status, excused, evidence) in people.items():
        user = make_user(roles=[Role.TRAINEE], name=name)
        grade = Grade(
            assessment=exam,
            user=user,
            points=points,
            status=status,
            excused=excused,
            graded_at=now - timedelta(days=3),
        )
        db.session.add(grade)
        db.session.flush()
        superseded_id = None
        for rank, days, superseded in evidence:
            row = Evidence(
                user_id=user.id,
                competency_id=skill.id,
                level_id=levels[rank - 1].id,
                source="instructor",
                created_at=now - timedelta(days=days),
                supersedes_id=superseded_id,
            )
            db.session.add(row)
            db.session.flush()
            superseded_id = row.id if superseded else None
    db.session.flush()
    queue = {row.user.name for row in certificate_queries.eligible_queue(scheme, now)}
    assert queue == {"met", "rounded up", "two rows"}
    assert queries.eligible_by_scheme(Filters(), now) == {"ELIG-2": 3}


def test_eligibility_takes_one_query(app, make_history):
    make_history(size=8, seed=5)
    with count_queries(app) as small:
        queries.eligible_by_scheme(Filters())
    make_history(size=40, seed=6)
    make_history(size=20, seed=8)
    with count_queries(app) as large:
        queries.eligible_by_scheme(Filters())
    assert large.count == small.count == 1


def test_the_page_shows_the_funnel_and_the_verifications_chart(client, history, manager):
    html = client.get(f"/reports/certification?{RANGE}").get_data(as_text=True)
    assert "Eligible now" in html
    assert html.index("Eligible now") < html.index(">Issued<")
    assert "Verifications by month" in html
    figure = html.split("Verifications by month</title>", 1)
    assert len(figure) == 2  # a chart titled so
    assert ">2026-11<" in html


@pytest.mark.parametrize(("suffix", "delimiter"), [("", ","), ("&excel=1", ";")])
def test_csv_has_the_verifications(client, history, manager, suffix, delimiter):
    response = client.get(f"/reports/certification/verifications.csv?{RANGE}{suffix}")
    assert response.status_code == 200
    text = response.data.decode("utf-8").lstrip("\ufeff").splitlines()
    code, other = history.scheme.code, history.scheme.code.replace("S-", "T-", 1)
    assert text[0] == delimiter.join(["Month", code, other])
    assert text[1:] == [
        delimiter.join(row)
        for row in (
            ["2026-03", "< 5", "0"],
            ["2026-04", "12", "5"],
            ["2026-09", "7", "0"],
            ["2026-11", "0", "40"],
        )
    ]


def test_xlsx_and_pdf_have_the_verifications(client, history, manager):
    workbook = load_workbook(io.BytesIO(client.get(f"/reports/certification.xlsx?{RANGE}").data))
    sheet = workbook["Verifications by month"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    f = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 12, 31))
    assert rows[1:] == recompute.certification(f)["verifications"]
    assert ["2026-04", 12, 5] in rows
    response = client.get(f"/reports/funder.pdf?lang=en&{RANGE}")
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Verifications by month" in text
    assert "2026-11" in text
    assert "Eligible now" in text
    bg = client.get(f"/reports/funder.pdf?lang=bg&{RANGE}")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(bg.data)).pages)
    assert "Проверки по месеци" in text
