"""Report pages, their charts and downloads: parsed, suppressed, escaped, audited, bilingual."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from lms.models import AuditLog, Role
from reports import queries
from reports.filters import Filters
from reports.svg import bar_chart
from reports.tables import SUPPRESSED, Column, build_table
from tests.reports import recompute
from tests.reports.conftest import INJECTION

RANGE = "from=2026-03-01&to=2026-12-31"


@pytest.fixture
def history(make_history):
    return make_history(size=40, seed=11)


@pytest.fixture
def manager(login_as):
    return login_as(Role.MANAGER)


def _audits(db, action: str) -> list[AuditLog]:
    return db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    ).all()


def _csv(body: bytes, delimiter: str) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


# --- Suppression ---------------------------------------------------------------------------


def test_small_groups_and_what_they_give_away_are_suppressed():
    table = build_table(
        "t",
        "T",
        [
            Column("name", "Name"),
            Column("n", "N", "count"),
            Column("k", "K", "count"),
            Column("rate", "Rate", "percent", ("n", "k")),
        ],
        [
            ["a", 0, 0, None],
            ["b", 4, 2, 50],
            ["c", 5, 4, 80],
            ["d", 20, 5, 25],
            ["e", 5, None, None],
        ],
    )
    assert table.rows == [
        ["a", 0, 0, None],
        ["b", SUPPRESSED, SUPPRESSED, SUPPRESSED],
        ["c", 5, SUPPRESSED, SUPPRESSED],  # 80 % of 5 would tell the hidden 4
        ["d", 20, 5, 25],
        ["e", 5, None, None],
    ]
    assert str(SUPPRESSED) == "< 5"


def test_pages_never_show_a_group_under_five(client, db, history, manager):
    seen = 0
    for name in queries.REPORTS:
        html = client.get(f"/reports/{name}?{RANGE}").get_data(as_text=True)
        counts = re.findall(r'<td data-kind="count"[^>]*>(.*?)</td>', html)
        derived = re.findall(r'<td data-kind="(?:percent|number)"[^>]*>(.*?)</td>', html)
        seen += len(counts)
        assert not [c for c in counts if re.fullmatch(r"[1-4]", c)], name
        assert all(c in ("0", "&lt; 5", "—") or int(c) >= 5 for c in counts), name
        assert all(c in ("—", "&lt; 5") or float(c) >= 0 for c in derived), name
    assert seen > 50


# --- Charts --------------------------------------------------------------------------------


def test_chart_is_accessible_and_escapes_text():
    svg = str(
        bar_chart(
            "Title <b>",
            "Desc & more",
            ["<script>alert(1)</script>", "B"],
            [('Series "1"', [3.0, None])],
        )
    )
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-labelledby="(\S+)-title \1-desc"', svg)
    assert "<title id=" in svg
    assert ">Title &lt;b&gt;</title>" in svg
    assert ">Desc &amp; more</desc>" in svg
    assert "<script>" not in svg
    assert svg.count("<rect") == 1  # the suppressed bar is not drawn ...
    assert "&lt; 5" in svg  # ... its place says why


def test_report_page_has_charts_beside_their_tables(client, history, manager):
    html = client.get(f"/reports/enrolments?{RANGE}").get_data(as_text=True)
    assert "<svg" in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    figure = html.split('<section class="row mb-4"', 1)[1].split("</section>", 1)[0]
    assert "<svg" in figure
    assert "<table" in figure
    report = queries.enrolments(Filters(date_from=date(2026, 3, 1), date_to=date(2026, 12, 31)))
    months = report.table("by_month").column("month")
    assert months
    assert all(f">{m}<" in figure for m in months)


def test_filters_stay_in_the_url(client, history, manager):
    course = history.courses[0]
    html = client.get(f"/reports/results?{RANGE}&course={course.id}").get_data(as_text=True)
    assert f'value="{course.id}" selected' in html
    assert 'value="2026-03-01"' in html
    assert f"/reports/results.xlsx?from=2026-03-01&amp;to=2026-12-31&amp;course={course.id}" in html


# --- Exports -------------------------------------------------------------------------------


@pytest.mark.parametrize(("suffix", "delimiter"), [("", ","), ("&excel=1", ";")])
def test_csv_matches_the_report_and_is_injection_safe(client, history, manager, suffix, delimiter):
    response = client.get(f"/reports/enrolments/by_cohort.csv?{RANGE}{suffix}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv(response.data, delimiter)
    f = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 12, 31))
    expected = recompute.enrolments(f)["by_cohort"]
    assert rows[0][:3] == ["Course", "Cohort", "Starts"]
    assert [r[3:] for r in rows[1:]] == [[str(v) for v in e[3:]] for e in expected]
    names = [r[1] for r in rows[1:]]
    assert "'" + INJECTION in names  # neutralised: a spreadsheet shows it as text
    assert INJECTION not in names
    assert "Вечерна група" in names


def test_xlsx_has_every_table_with_numbers_as_numbers(client, history, manager):
    response = client.get(f"/reports/certification.xlsx?{RANGE}")
    workbook = load_workbook(io.BytesIO(response.data))
    f = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 12, 31))
    report = queries.certification(f)
    assert len(workbook.sheetnames) == len(report.tables)
    expected = recompute.certification(f)
    sheet = workbook[workbook.sheetnames[0]]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert list(values[0][:3]) == ["Scheme", "Eligible now", "Issued"]
    assert [list(r) for r in values[1:]] == expected["by_scheme"]


def test_xlsx_neutralises_formulas(client, history, manager):
    workbook = load_workbook(io.BytesIO(client.get(f"/reports/enrolments.xlsx?{RANGE}").data))
    cells = [c for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row]
    assert "'" + INJECTION in cells
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            ["report for funders", "Participants", "Certificates by scheme", "Competency gains"],
        ),
        ("bg", ["отчет за финансиращите", "Участници", "Сертификати по схеми", "Напредък"]),
    ],
)
def test_funder_pdf_in_both_languages(client, db, history, manager, language, words):
    response = client.get(f"/reports/funder.pdf?lang={language}&{RANGE}")
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for word in words:
        assert word in text
    f = Filters(date_from=date(2026, 3, 1), date_to=date(2026, 12, 31))
    participants = recompute.overview(f)[0]
    assert re.search(rf"\b{participants}\b", text)
    assert "2026-03-01" in text
    assert "2026-12-31" in text
    fonts = {
        str(font.get("/BaseFont"))
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
        for font in [font.get_object()]
    }
    assert any("DejaVu" in name for name in fonts)
    # The charts are drawn into the page: their month labels are in the text.
    months = recompute.enrolments(f)["by_month"]
    assert all(month in text for month, *_ in months)


# --- Audit ---------------------------------------------------------------------------------


def test_every_view_and_export_is_audited(client, db, history, manager):
    urls = [
        ("/reports/", "report.view", "overview", "html"),
        (f"/reports/results?{RANGE}", "report.view", "results", "html"),
        (f"/reports/results/assessments.csv?{RANGE}", "report.export", "results", "csv"),
        (f"/reports/results/bands.csv?excel=1&{RANGE}", "report.export", "results", "csv-excel"),
        (f"/reports/results.xlsx?{RANGE}", "report.export", "results", "xlsx"),
        (f"/reports/funder.pdf?lang=bg&{RANGE}", "report.export", "overview", "pdf"),
    ]
    for url, action, object_id, fmt in urls:
        before = len(_audits(db, action))
        assert client.get(url).status_code == 200
        rows = _audits(db, action)
        assert len(rows) == before + 1, url
        entry = rows[-1]
        assert entry.actor_id == manager.id
        assert (entry.object_type, entry.object_id, entry.data["format"]) == (
            "Report",
            object_id,
            fmt,
        )
        if "from=" in url:
            assert entry.data["filters"] == {"from": "2026-03-01", "to": "2026-12-31"}


def test_refused_requests_are_not_reports(client, db, login_as):
    login_as(Role.TRAINEE)
    client.get("/reports/enrolments")
    assert _audits(db, "report.view") == []


# --- Language ------------------------------------------------------------------------------


def test_pages_in_bulgarian(client, db, history, manager):
    manager.locale = "bg"
    db.session.commit()
    html = client.get(f"/reports/certification?{RANGE}").get_data(as_text=True)
    assert "Сертификати по схеми" in html
    assert "Групите от по-малко от 5 души" in html
    xlsx = load_workbook(io.BytesIO(client.get(f"/reports/progress.xlsx?{RANGE}").data))
    assert xlsx.sheetnames[0] == "Напредък по курсове"
