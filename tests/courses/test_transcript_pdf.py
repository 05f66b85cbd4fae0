"""The transcript PDF, parsed back: pages, repeated headers, courses, grades and levels."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from courses.transcript_pdf import CompetencyRow, CourseRow, TranscriptPDF, TranscriptSnapshot

NAME = "Мария Иванова-Петрова"


def snapshot(**changes) -> TranscriptSnapshot:
    values = {
        "holder_name": NAME,
        "issued_on": dt.date(2025, 6, 1),
        "programme": "Smart City Project Manager",
        "courses": (
            CourseRow(
                "SC-PM-101", "Основи на умните градове", Decimal("78.50"), dt.date(2025, 3, 14)
            ),
            CourseRow("SC-PM-102", "Project management for cities", 91, dt.date(2025, 5, 2)),
            CourseRow("SC-PM-103", "Data platforms", None, None),
        ),
        "competencies": (
            CompetencyRow("E.2", "Управление на проекти", "3 — Advanced", "3 — Advanced", True),
            CompetencyRow("A.1", "IS and business strategy", "1 — Basic", "2 — Intermediate"),
        ),
    }
    values.update(changes)
    return TranscriptSnapshot(**values)


def pages(data: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_short_transcript_is_one_a4_portrait_page():
    data = TranscriptPDF(snapshot()).render()
    reader = PdfReader(io.BytesIO(data))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((595.28, 841.89), abs=0.01)


def test_shows_courses_grades_dates_and_levels():
    (text,) = pages(TranscriptPDF(snapshot()).render())

    for expected in [
        NAME,
        "Transcript of records",
        "01.06.2025",
        "Smart City Project Manager",
        "SC-PM-101 Основи на умните градове 78.5 14.03.2025",
        "SC-PM-102 Project management for cities 91 02.05.2025",
        "SC-PM-103 Data platforms — —",
        "E.2 Управление на проекти 3 — Advanced 3 — Advanced ✓",
        "A.1 IS and business strategy 1 — Basic 2 — Intermediate",
    ]:
        assert expected in text


def test_fonts_are_embedded_dejavu_only():
    reader = PdfReader(io.BytesIO(TranscriptPDF(snapshot()).render()))
    names = {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for font in reader.pages[0]["/Resources"]["/Font"].values()
    }

    assert names == {"DejaVuSans", "DejaVuSans-Bold"}


def test_long_transcript_spans_pages_with_repeated_headers():
    courses = tuple(
        CourseRow(f"C-{n:03}", f"Course number {n} " * (1 + n % 3), n % 100, dt.date(2025, 1, 1))
        for n in range(120)
    )
    competencies = tuple(
        CompetencyRow(f"K.{n}", f"Competency {n}", "2", "3", n % 2 == 0) for n in range(60)
    )
    texts = pages(TranscriptPDF(snapshot(courses=courses, competencies=competencies)).render())

    assert len(texts) > 2
    for number, text in enumerate(texts, start=1):
        assert NAME in text
        assert f"Page {number}" in text
    course_pages = [text for text in texts if "C-" in text]
    assert all("Course" in text and "Grade" in text for text in course_pages)
    competency_pages = [text for text in texts if "K." in text]
    assert all("/ Competency" in text and "/ Target" in text for text in competency_pages)
    joined = " ".join(texts)
    assert [joined.count(f"C-{n:03} ") for n in range(120)] == [1] * 120
    assert all(f"K.{n} Competency {n} " in joined for n in range(60))


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src="http://127.0.0.1:1/x"/>',
        '<font color="red">x</font>',
        'Tom & Jerry < O\'Brien "Jr"',
        "&",
        "<",
    ],
)
def test_user_text_is_printed_literally(hostile):
    data = TranscriptPDF(
        snapshot(
            holder_name=hostile,
            courses=(CourseRow("C-1", hostile, "pass", None),),
            competencies=(CompetencyRow("K.1", hostile, hostile, "3"),),
        )
    ).render()
    (text,) = pages(data)

    assert text.count(hostile) >= 3


@pytest.mark.parametrize("name", ["שלום כהן", "محمد عبد الله", "Ivan 😀 Petrov", "x" * 300])
def test_any_name_renders(name):
    data = TranscriptPDF(snapshot(holder_name=name)).render()

    assert len(pages(data)) == 1


def test_empty_transcript_says_so():
    (text,) = pages(TranscriptPDF(snapshot(courses=(), competencies=())).render())

    assert "No courses" in text
    assert "No competencies" in text


def test_same_snapshot_same_bytes():
    assert TranscriptPDF(snapshot()).render() == TranscriptPDF(snapshot()).render()
    reader = PdfReader(io.BytesIO(TranscriptPDF(snapshot()).render()))
    assert reader.metadata["/CreationDate"] == "D:20250601000000+00'00'"
    assert reader.metadata["/Title"] == f"Transcript: {NAME}"
