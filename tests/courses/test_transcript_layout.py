"""The transcript's layout, judged on the rendered page against a reference image."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from courses.transcript_pdf import CompetencyRow, CourseRow, TranscriptPDF
from tests.courses.test_transcript_pdf import snapshot
from tests.pdf_images import assert_matches_reference, render_page

ADVANCED = "3 — Напреднал / Advanced"


def bilingual():
    return snapshot(
        courses=(
            CourseRow(
                "SC-101",
                "Умни градове: понятия / Smart city concepts",
                Decimal(84),
                dt.date(2026, 11, 20),
            ),
            CourseRow(
                "SC-102",
                "Управление на цифрови проекти / Digital projects",
                Decimal("77.5"),
                dt.date(2026, 11, 28),
            ),
            CourseRow("SC-103", "Заинтересовани страни / Stakeholder engagement", None, None),
        ),
        competencies=(
            CompetencyRow(
                "PM.1", "Планиране на проекти / Project planning", ADVANCED, ADVANCED, True
            ),
            CompetencyRow(
                "PM.2",
                "Управление на риска / Risk management",
                "2 — Среден / Intermediate",
                ADVANCED,
            ),
        ),
    )


def test_transcript_page_matches_its_reference_image():
    page = render_page(TranscriptPDF(bilingual()).render())
    assert_matches_reference(page, "transcript")


def test_bilingual_levels_stay_on_one_line():
    """A level that wrapped would make its row taller than a one-line course row."""
    import io

    from pypdf import PdfReader

    data = TranscriptPDF(bilingual()).render()
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "3 — Напреднал / Advanced" in text
    assert "2 — Среден / Intermediate" in text
