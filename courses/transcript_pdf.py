"""The transcript PDF: a trainee's courses, grades and competency levels from a snapshot."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from lms.pdf import (
    FONT,
    FONT_BOLD,
    clean_text,
    fit_text,
    paragraph_text,
    register_fonts,
    set_metadata,
    truncate,
    visual,
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
ACCENT = colors.HexColor("#1f4e79")
_RULE = colors.HexColor("#b8c4d0")
_STRIPE = colors.HexColor("#f1f4f8")


@dataclass(frozen=True)
class CourseRow:
    """One course on the transcript; ``grade`` and ``completed_on`` None while open."""

    code: str
    title: str
    grade: Decimal | float | int | str | None = None
    completed_on: dt.date | None = None


@dataclass(frozen=True)
class CompetencyRow:
    """One competency: the trainee's current level against the scale's proficient level."""

    code: str
    title: str
    level: str
    proficient_level: str
    proficient: bool = False


@dataclass(frozen=True)
class TranscriptSnapshot:
    """Everything the transcript shows; plain values, no database objects."""

    holder_name: str
    issued_on: dt.date
    courses: tuple[CourseRow, ...] = ()
    competencies: tuple[CompetencyRow, ...] = ()
    centre_name: str = "Skills4Cities"
    programme: str = ""


def _grade(value: Decimal | float | int | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    number = Decimal(str(value)).quantize(Decimal("0.01")).normalize()
    return f"{number:f}"


def _date(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


class TranscriptPDF:
    """Lay out a transcript on A4 portrait pages, tables continuing with their header."""

    def __init__(self, snapshot: TranscriptSnapshot) -> None:
        self.snapshot = snapshot
        register_fonts()
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=10.5)
        self.head = ParagraphStyle(
            "head", parent=self.body, fontName=FONT_BOLD, textColor=colors.white
        )
        self.section = ParagraphStyle(
            "section",
            fontName=FONT_BOLD,
            fontSize=12,
            leading=15,
            textColor=ACCENT,
            spaceBefore=8 * mm,
            spaceAfter=2 * mm,
            keepWithNext=True,
        )
        self.note = ParagraphStyle("note", parent=self.body, textColor=colors.HexColor("#555555"))

    def render(self) -> bytes:
        """Return the PDF bytes; the same snapshot always gives the same bytes."""
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 26 * mm,
            bottomMargin=MARGIN + 6 * mm,
            invariant=True,
            initialFontName=FONT,
        )
        document.build(self._story(), onFirstPage=self._page, onLaterPages=self._page)
        return buffer.getvalue()

    def _story(self) -> list:
        snapshot = self.snapshot
        story: list = [Paragraph("Курсове / Courses", self.section)]
        if snapshot.courses:
            story.append(self._courses_table())
        else:
            story.append(Paragraph("Няма курсове. / No courses.", self.note))
        story.append(Paragraph("Компетентности / Competencies", self.section))
        if snapshot.competencies:
            story.append(self._competencies_table())
            story.append(Spacer(0, 2 * mm))
            story.append(
                Paragraph(
                    "✓ = на или над нивото на компетентност / at or above the proficient level",
                    self.note,
                )
            )
        else:
            story.append(Paragraph("Няма компетентности. / No competencies.", self.note))
        return story

    def _cell(self, text: object, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(paragraph_text(text), style or self.body)

    def _table(self, header: list[str], rows: list[list], widths: list[float]) -> Table:
        table = Table(
            [[Paragraph(label, self.head) for label in header], *rows],
            colWidths=widths,
            repeatRows=1,
        )
        table.setStyle(
            TableStyle(
                [
                    # Cells hold Paragraphs, but the table still selects its own font,
                    # which would pull in an unembedded Helvetica.
                    ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                    ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, _RULE),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _STRIPE]),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return table

    def _courses_table(self) -> Table:
        width = PAGE_WIDTH - 2 * MARGIN
        rows = [
            [
                self._cell(course.code),
                self._cell(course.title),
                self._cell(_grade(course.grade)),
                self._cell(_date(course.completed_on)),
            ]
            for course in self.snapshot.courses
        ]
        header = ["Код / Code", "Курс / Course", "Оценка / Grade", "Завършен / Completed"]  # noqa: RUF001
        return self._table(header, rows, [28 * mm, width - 94 * mm, 30 * mm, 36 * mm])

    def _competencies_table(self) -> Table:
        width = PAGE_WIDTH - 2 * MARGIN
        rows = [
            [
                self._cell(item.code),
                self._cell(item.title),
                self._cell(item.level),
                self._cell(item.proficient_level),
                self._cell("✓" if item.proficient else ""),
            ]
            for item in self.snapshot.competencies
        ]
        header = ["Код / Code", "Компетентност / Competency", "Ниво / Level", "Цел / Target", ""]
        # Levels print in both languages ("3 — Напреднал / Advanced"): wide enough for one line.
        return self._table(header, rows, [20 * mm, width - 128 * mm, 50 * mm, 50 * mm, 8 * mm])

    def _page(self, canvas: Canvas, document: SimpleDocTemplate) -> None:
        """Draw the header and footer that every page repeats."""
        snapshot = self.snapshot
        if document.page == 1:
            set_metadata(
                canvas,
                title=f"Transcript: {snapshot.holder_name}",
                author=snapshot.centre_name,
                subject="Transcript of records",
                created=snapshot.issued_on,
            )
        canvas.saveState()
        width = PAGE_WIDTH - 2 * MARGIN
        top = PAGE_HEIGHT - MARGIN
        canvas.setFillColor(ACCENT)
        canvas.setFont(FONT_BOLD, 14)
        canvas.drawString(MARGIN, top - 12, "Академична справка / Transcript of records")
        canvas.setFont(FONT, 8.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        centre = fit_text(clean_text(snapshot.centre_name), FONT, 60 * mm, max_size=8.5, min_size=6)
        canvas.drawRightString(
            MARGIN + width, top - 12, visual(centre.lines[0]) if centre.lines else ""
        )
        name = fit_text(clean_text(snapshot.holder_name), FONT_BOLD, width, max_size=13, min_size=7)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT_BOLD, name.size)
        canvas.drawString(MARGIN, top - 32, visual(name.lines[0]) if name.lines else "")
        canvas.setFont(FONT, 8.5)
        details = f"Издадена на / Issued: {_date(snapshot.issued_on)}"
        if snapshot.programme:
            details += f"   ·   Програма / Programme: {clean_text(snapshot.programme)}"
        fitted = fit_text(details, FONT, width, max_size=8.5, min_size=6)
        canvas.drawString(MARGIN, top - 46, visual(fitted.lines[0]))
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(0.75)
        canvas.line(MARGIN, top - 54, MARGIN + width, top - 54)
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        footer = truncate(clean_text(snapshot.centre_name), FONT, 7.5, width - 30 * mm)
        canvas.drawString(MARGIN, MARGIN, visual(footer))
        canvas.drawRightString(MARGIN + width, MARGIN, f"Стр. / Page {document.page}")
        canvas.restoreState()
