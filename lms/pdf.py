"""Shared PDF helpers: bundled fonts, safe text for ReportLab, text fitting and QR codes."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from xml.sax.saxutils import escape

import arabic_reshaper
import segno
import segno.encoder
from arabic_reshaper.ligatures import LIGATURES
from bidi import get_display
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

logger = logging.getLogger(__name__)

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
ELLIPSIS = "…"

# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates (which cannot
# be encoded in a PDF string) never belong in printed text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@functools.cache
def register_fonts() -> None:
    """Register the bundled DejaVu Sans family with ReportLab once per process."""
    # Binary streams: ASCII85 would make every PDF a quarter larger and slower to write,
    # only to survive 7-bit mail channels that nothing here uses.
    rl_config.useA85 = 0
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    # Without a family, <b> in Paragraph markup would fall back to Helvetica-Bold.
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )
    logger.debug("registered PDF fonts from %s", FONT_DIR)


def clean_text(text: object) -> str:
    """Return ``text`` as NFC with control characters and lone surrogates removed."""
    return unicodedata.normalize("NFC", _CONTROL.sub("", str(text)))


def escape_markup(text: object) -> str:
    """Return ``text`` cleaned and escaped so ReportLab's Paragraph shows it literally."""
    return escape(clean_text(text), {'"': "&quot;", "'": "&#39;"})


def visual(text: str) -> str:
    """Return ``text`` in visual order with Arabic letters joined, for left-to-right drawing.

    ReportLab draws glyphs left to right without shaping, so right-to-left runs are
    reordered here (Unicode bidi algorithm) and Arabic letters get their joined forms.
    Text without right-to-left characters is returned unchanged.
    """
    if not _RTL.search(text):
        return text
    if _ARABIC.search(text):
        text = _arabic_reshaper().reshape(text)
    return get_display(text)


@functools.cache
def _arabic_reshaper() -> arabic_reshaper.ArabicReshaper:
    """Return a reshaper that only forms ligatures both bundled fonts can draw."""
    register_fonts()
    faces = [cast(TTFont, pdfmetrics.getFont(name)).face.charToGlyph for name in (FONT, FONT_BOLD)]
    configuration = {
        name: all(ord(form) in face for form in forms if form for face in faces)
        for name, (_match, forms) in LIGATURES
    }
    return arabic_reshaper.ArabicReshaper(configuration=configuration)


def paragraph_text(text: object) -> str:
    """Return user text ready to be the markup of a Paragraph: cleaned, reordered, escaped."""
    return escape(visual(clean_text(text)), {'"': "&quot;", "'": "&#39;"})


def colour(value: str | None, default: str) -> colors.Color:
    """Return the colour for a ``#rrggbb`` string, or ``default`` when it is not one."""
    if value and _HEX_COLOUR.fullmatch(value):
        return colors.HexColor(value)
    if value:
        logger.warning("ignoring invalid colour %r", value)
    return colors.HexColor(default)


def new_canvas(
    buffer,
    pagesize: tuple[float, float],
    *,
    title: str,
    created: dt.date | dt.datetime,
    author: str = "",
    subject: str = "",
) -> Canvas:
    """Return a canvas whose bytes depend only on what is drawn and on ``created``."""
    register_fonts()
    # types-reportlab has initialFontName as a float; it is the name of a registered font.
    canvas = Canvas(
        buffer,
        pagesize=pagesize,
        invariant=True,
        initialFontName=FONT,  # type: ignore[arg-type]
    )
    set_metadata(canvas, title=title, created=created, author=author, subject=subject)
    return canvas


def set_metadata(
    canvas: Canvas,
    *,
    title: str,
    created: dt.date | dt.datetime,
    author: str = "",
    subject: str = "",
) -> None:
    """Set the document information, with ``created`` as both creation and change date."""
    canvas.setTitle(clean_text(title))
    canvas.setAuthor(clean_text(author))
    canvas.setSubject(clean_text(subject))
    canvas.setCreator("Skills4Cities LMS")
    canvas.setDateFormatter(_date_formatter(created))


def _date_formatter(created: dt.date | dt.datetime) -> Callable[..., str]:
    if not isinstance(created, dt.datetime):
        created = dt.datetime.combine(created, dt.time(), dt.UTC)
    elif created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    stamp = created.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    return lambda *_: stamp


# Fitting text into boxes ----------------------------------------------------------------


def text_width(text: str, font: str, size: float) -> float:
    """Return the width of ``text`` in points."""
    return pdfmetrics.stringWidth(text, font, size)


@dataclass(frozen=True)
class FittedText:
    """Lines of text and the font size at which they fit a box."""

    lines: tuple[str, ...]
    size: float


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``, splitting overlong words."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # A word wider than the box (a long name without spaces) is split by characters.
        while text_width(word, font, size) > width and len(word) > 1:
            cut = _longest_prefix(word, font, size, width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _longest_prefix(word: str, font: str, size: float, width: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(word[:middle], font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def truncate(text: str, font: str, size: float, width: float) -> str:
    """Return ``text``, or its longest prefix plus an ellipsis, that fits ``width``."""
    if text_width(text, font, size) <= width:
        return text
    cut = _longest_prefix(text + ELLIPSIS, font, size, width - text_width(ELLIPSIS, font, size))
    return text[: max(cut, 1)].rstrip() + ELLIPSIS


def fit_text(
    text: str,
    font: str,
    width: float,
    *,
    max_size: float,
    min_size: float,
    max_lines: int = 1,
    single_line_min: float | None = None,
) -> FittedText:
    """Fit ``text`` into ``width``: shrink on one line, then wrap onto up to ``max_lines``.

    One line is kept while the size stays at or above ``single_line_min`` (default
    ``min_size``); below that the text wraps, shrinking down to ``min_size``. Text that
    still does not fit is cut with an ellipsis on its last line rather than overflowing.
    """
    text = " ".join(text.split())
    if not text:
        return FittedText((), max_size)
    single_line_min = min_size if single_line_min is None else single_line_min
    natural = text_width(text, font, max_size)
    size = max_size if natural <= width else max_size * width / natural
    if size >= single_line_min or max_lines == 1:
        size = max(size, min_size)
        return FittedText((truncate(text, font, size, width),), size)
    size = single_line_min
    while True:
        lines = wrap(text, font, size, width)
        if len(lines) <= max_lines:
            return FittedText(tuple(lines), size)
        if size <= min_size:
            kept = lines[:max_lines]
            last = " ".join([kept[-1], *lines[max_lines:]])
            kept[-1] = truncate(last, font, size, width)
            return FittedText(tuple(kept), size)
        size = max(min_size, size * 0.9)


def draw_centred_lines(
    canvas: Canvas,
    fitted: FittedText,
    font: str,
    centre_x: float,
    top: float,
    *,
    leading: float = 1.2,
) -> float:
    """Draw fitted lines centred on ``centre_x`` below ``top``; return the bottom y."""
    canvas.setFont(font, fitted.size)
    y = top - fitted.size
    for index, line in enumerate(fitted.lines):
        if index:
            y -= fitted.size * leading
        canvas.drawCentredString(centre_x, y, visual(line))
    # Leave room for descenders below the last baseline.
    return y - fitted.size * 0.25


# QR codes -------------------------------------------------------------------------------

QR_BORDER = 4  # quiet zone in modules, as ISO/IEC 18004 requires


def qr_matrix(data: str, error: str = "m", mask: int | None = None) -> list[list[bool]]:
    """Return the modules of the QR code for ``data`` (without quiet zone), dark as True.

    With ``mask`` None the best of the eight mask patterns is kept, as ISO/IEC 18004
    recommends and segno chooses it (:func:`_best_masked`); a caller may fix the
    pattern instead (any pattern decodes).
    """
    code = segno.encoder.encode(data, error=error, micro=False, boost_error=False, mask=mask or 0)
    matrix = code.matrix if mask is not None else _best_masked(code)
    return [[bool(module) for module in row] for row in matrix]


@dataclass(frozen=True)
class _MaskLayout:
    """What scoring the masks of every QR code of one size shares, as integer rows.

    Rows are integers of one byte a module (first module most significant).
    ``fixed`` holds what segno scores masks on besides the data: finder, alignment and
    timing patterns, with the reserved format and version areas as 0; ``data`` has 1
    where data modules go; ``flips[n]`` has 1 where mask pattern ``n`` flips data.
    """

    size: int
    fixed: tuple[int, ...]
    data: tuple[int, ...]
    flips: tuple[tuple[int, ...], ...]

    @property
    def pairs(self) -> int:
        """Return 1 at every module but the first of a row: the right of each 2x2 block."""
        return int.from_bytes(b"\x00" + b"\x01" * (self.size - 1), "big")


@functools.cache
def _mask_layout(size: int) -> _MaskLayout:
    """Return the mask layout of QR codes of ``size`` modules a side, built once."""
    template = segno.encoder.make_matrix(size, size)
    segno.encoder.add_finder_patterns(template, size, size)
    segno.encoder.add_alignment_patterns(template, size, size)

    data = [[value > 0x1 for value in row] for row in template]

    def rows(lines: Iterable[Iterable[int]]) -> tuple[int, ...]:
        return tuple(int.from_bytes(bytes(line), "big") for line in lines)

    return _MaskLayout(
        size=size,
        fixed=rows((0 if value > 0x1 else value for value in row) for row in template),
        data=rows((int(flag) for flag in row) for row in data),
        flips=tuple(
            rows(
                (int(data[i][j] and bool(pattern(i, j))) for j in range(size)) for i in range(size)
            )
            for pattern in segno.encoder.get_data_mask_functions(False)
        ),
    )


_N3_PATTERN = b"\x01\x00\x01\x01\x01\x00\x01"
_N3_GAP = b"\x00" * 4


def _penalty(rows: list[bytes], size: int, pairs: int) -> int:
    """Return the penalty score of a masked QR matrix, equal to segno's ``evaluate_mask``.

    The same four rules (ISO/IEC 18004, 7.8.3.1) worked on whole rows and columns, as
    integers of one byte a module and by searching bytes, rather than module by module.
    """
    lines = rows + [bytes(column) for column in zip(*rows, strict=True)]
    # Runs of five or more modules of one colour score their length less two: the
    # number of five-module windows in them plus two for each run. A byte 2 ends
    # every line, so no run continues into the next one.
    text = b"\x02" + b"\x02".join(lines)
    ones = int.from_bytes(b"\x01" * len(text), "big")
    modules = int.from_bytes(text, "big")
    differs = modules ^ (modules >> 8)  # a module against the one before it
    same = ((differs | (differs >> 1)) & ones) ^ ones
    windows = same & (same >> 8) & (same >> 16) & (same >> 24)
    score = windows.bit_count() + 2 * (windows & ((same >> 32) ^ ones)).bit_count()
    # Four light modules between lines stand for the light border around each line
    # that segno reads at the ends of a row or column.
    text = _N3_GAP + _N3_GAP.join(lines) + _N3_GAP
    index = text.find(_N3_PATTERN)
    while index != -1:
        after = index + 7
        if not any(text[index - 4 : index]) or not any(text[after : after + 4]):
            score += 40
        else:
            after = index + 4
        index = text.find(_N3_PATTERN, after)
    numbers = [int.from_bytes(row, "big") for row in rows]
    for upper, lower in itertools.pairwise(numbers):
        vertical = upper ^ lower
        differs = (upper ^ (upper >> 8)) | vertical | (vertical >> 8)
        score += 3 * ((size - 1) - (differs & pairs).bit_count())
    dark = b"".join(rows).count(1)
    return score + 10 * int(abs(float(dark) / size**2 * 100 - 50) / 5)


def _best_masked(code: segno.encoder.Code) -> tuple[bytearray, ...]:
    """Return the matrix of ``code`` (encoded with mask 0) under segno's best mask.

    segno scores all eight patterns module by module in Python, which costs more
    than encoding; the same rules on whole rows choose the same pattern several times
    faster, and the result is the matrix segno returns for that pattern.
    """
    layout = _mask_layout(len(code.matrix))
    size, pairs = layout.size, layout.pairs
    current = [int.from_bytes(row, "big") for row in code.matrix]
    # What segno scores: the data unmasked, the fixed modules, the format areas as 0.
    unmasked = [
        (row ^ zero) & data | fixed
        for row, zero, data, fixed in zip(
            current, layout.flips[0], layout.data, layout.fixed, strict=True
        )
    ]
    scores = [
        _penalty(
            [(row ^ flip).to_bytes(size, "big") for row, flip in zip(unmasked, flips, strict=True)],
            size,
            pairs,
        )
        for flips in layout.flips
    ]
    best = scores.index(min(scores))
    matrix = tuple(
        bytearray((row ^ zero ^ flip).to_bytes(size, "big"))
        for row, zero, flip in zip(current, layout.flips[0], layout.flips[best], strict=True)
    )
    segno.encoder.add_format_info(matrix, code.version, code.error, best)
    return matrix


def draw_qr(
    canvas: Canvas,
    data: str,
    x: float,
    y: float,
    size: float,
    *,
    error: str = "m",
    mask: int | None = None,
    dark: colors.Color = colors.black,
    light: colors.Color = colors.white,
) -> None:
    """Draw the QR code of ``data`` as one filled path in a ``size`` square at (x, y).

    The square includes the quiet zone, which is painted ``light`` so the code scans on
    any background. Dark modules are merged into one rectangle per horizontal run and
    filled as a single path: one drawing operation, and no hairline seams between
    neighbouring modules when a viewer anti-aliases.
    """
    matrix = qr_matrix(data, error, mask)
    count = len(matrix) + 2 * QR_BORDER
    module = size / count
    canvas.saveState()
    canvas.setFillColor(light)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + QR_BORDER) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(
                x + (start + QR_BORDER) * module,
                top - module,
                (column - start) * module,
                module,
            )
    canvas.setFillColor(dark)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
