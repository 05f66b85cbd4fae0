"""The funder report: a PDF of the period's figures with charts, in English or Bulgarian.

Built from plain report tables (no database, no request), drawn with the bundled
DejaVu fonts so Cyrillic prints; every text from the database is escaped before it
reaches a Paragraph.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from lms.pdf import FONT, FONT_BOLD, clean_text, paragraph_text, register_fonts, set_metadata
from reports.svg import PALETTE
from reports.tables import Table, chart_value, display


@dataclass(frozen=True)
class PdfChart:
    """A bar chart for the PDF: categories and named series of values (None: suppressed)."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[float | None]]]


@dataclass(frozen=True)
class Section:
    heading: str
    tables: list[Table]
    charts: list[PdfChart]
    notes: list[str]


class FunderReport:
    """Render a funder report: a title page block, then one section per report."""

    def __init__(
        self,
        *,
        title: str,
        subtitle: str,
        created: date,
        sections: Sequence[Section],
        suppression_note: str,
        language: str,
    ) -> None:
        self.title = title
        self.subtitle = subtitle
        self.created = created
        self.sections = sections
        self.suppression_note = suppression_note
        self.language = language

    def render(self) -> bytes:
        register_fonts()
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
            title=clean_text(self.title),
            lang=self.language,
            invariant=True,
        )
        styles = {
            "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=18, leading=22),
            "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=13, leading=16, spaceBefore=8),
            "h3": ParagraphStyle("h3", fontName=FONT_BOLD, fontSize=10, leading=13, spaceBefore=6),
            "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12),
            "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9),
            "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=7.5, leading=9),
        }
        story: list = [
            Paragraph(paragraph_text(self.title), styles["title"]),
            Paragraph(paragraph_text(self.subtitle), styles["body"]),
            Paragraph(paragraph_text(self.suppression_note), styles["body"]),
        ]
        for section in self.sections:
            story.append(Paragraph(paragraph_text(section.heading), styles["h2"]))
            for chart in section.charts:
                story.append(Paragraph(paragraph_text(chart.title), styles["h3"]))
                story.append(_drawing(chart))
            for table in section.tables:
                story.append(Paragraph(paragraph_text(table.title), styles["h3"]))
                story.append(_table(table, styles, document.width))
            story.extend(Paragraph(paragraph_text(note), styles["body"]) for note in section.notes)
            story.append(Spacer(1, 4 * mm))

        def on_page(canvas, doc):
            set_metadata(canvas, title=self.title, created=self.created, subject=self.subtitle)
            canvas.setFont(FONT, 7)
            canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, str(doc.page))

        document.build(story, onFirstPage=on_page, onLaterPages=on_page)
        return buffer.getvalue()


def _table(table: Table, styles, width: float) -> PdfTable:
    data: list[list[Paragraph | str]] = [
        [Paragraph(paragraph_text(h), styles["head"]) for h in table.header]
    ]
    if not table.rows:
        data.append([Paragraph("—", styles["cell"])] + [""] * (len(table.header) - 1))
    data.extend(
        [Paragraph(paragraph_text(display(v)), styles["cell"]) for v in row] for row in table.rows
    )
    result = PdfTable(data, colWidths=[width / len(table.header)] * len(table.header), repeatRows=1)
    result.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return result


def _drawing(chart: PdfChart) -> Drawing:
    drawing = Drawing(170 * mm, 62 * mm)
    # Any: types-reportlab has the charts' geometry as int; ReportLab takes any number.
    bars: Any = VerticalBarChart()
    bars.x, bars.y = 12 * mm, 16 * mm
    bars.width, bars.height = 150 * mm, 38 * mm
    # ReportLab draws nothing for None: a suppressed group leaves a gap, as on the page.
    bars.data = [list(values) for _label, values in chart.series] or [[0]]
    bars.categoryAxis.categoryNames = [clean_text(c)[:14] for c in chart.categories] or [""]
    bars.categoryAxis.labels.fontName = FONT
    bars.categoryAxis.labels.fontSize = 6
    bars.categoryAxis.labels.angle = 30 if len(chart.categories) > 6 else 0
    bars.categoryAxis.labels.boxAnchor = "ne" if len(chart.categories) > 6 else "n"
    bars.valueAxis.labels.fontName = FONT
    bars.valueAxis.labels.fontSize = 6
    bars.valueAxis.valueMin = 0
    values = [v for _label, vs in chart.series for v in vs if v is not None]
    if not values or max(values) == 0:
        bars.valueAxis.valueMax = 1
    for index in range(len(chart.series)):
        bars.bars[index].fillColor = colors.HexColor(PALETTE[index % len(PALETTE)])
    drawing.add(bars)
    if len(chart.series) > 1:
        legend: Any = Legend()
        legend.x, legend.y = 12 * mm, 4 * mm
        legend.fontName = FONT
        legend.fontSize = 6
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.deltax = 30 * mm
        legend.colorNamePairs = [
            (colors.HexColor(PALETTE[i % len(PALETTE)]), clean_text(label))
            for i, (label, _values) in enumerate(chart.series)
        ]
        drawing.add(legend)
    if not chart.categories:
        drawing.add(String(60 * mm, 30 * mm, "—", fontName=FONT))
    return drawing


def chart_from(table: Table, category: str, series: Sequence[str], title: str) -> PdfChart:
    """Return the PDF chart of ``series`` columns of ``table`` by its ``category`` column."""
    labels = {c.key: str(c.label) for c in table.columns}
    return PdfChart(
        title=title,
        categories=[display(v) for v in table.column(category)],
        series=[(labels[key], [chart_value(v) for v in table.column(key)]) for key in series],
    )
