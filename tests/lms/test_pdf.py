"""Shared PDF helpers: fonts, escaping of user text, text fitting and the QR path."""

import io
import socket

import pypdfium2
import pytest
import segno
import zxingcpp
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab import rl_config
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

from lms import pdf
from lms.pdf import (
    FONT,
    FONT_BOLD,
    clean_text,
    draw_qr,
    escape_markup,
    fit_text,
    new_canvas,
    paragraph_text,
    qr_matrix,
    text_width,
    truncate,
    visual,
    wrap,
)


@pytest.fixture
def network_attempts(monkeypatch):
    """Record, and refuse, every attempt to open a network connection.

    ReportLab refuses URLs unless ``trustedHosts`` is configured; trust the target as a
    deployment might, so that only escaping stands between a name and a fetch.
    """
    monkeypatch.setattr(rl_config, "trustedHosts", ["127.0.0.1", "127.0.0.1:*"])
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access refused in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def paragraph_pdf(markup: str) -> bytes:
    """Render one Paragraph with the bundled font and return the PDF bytes."""
    pdf.register_fonts()
    buffer = io.BytesIO()
    style = ParagraphStyle("t", fontName=FONT, fontSize=10, leading=12)
    SimpleDocTemplate(buffer, invariant=True, initialFontName=FONT).build(
        [Paragraph(markup, style)]
    )
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    """Return the text of every page, whitespace collapsed."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def test_fonts_are_bundled_with_their_licence():
    assert (pdf.FONT_DIR / "DejaVuSans.ttf").is_file()
    assert (pdf.FONT_DIR / "DejaVuSans-Bold.ttf").is_file()
    assert "Bitstream Vera" in (pdf.FONT_DIR / "LICENSE").read_text()


def test_register_fonts_once_and_the_family_maps_bold():
    pdf.register_fonts()
    pdf.register_fonts()
    from reportlab.lib.fonts import tt2ps
    from reportlab.pdfbase import pdfmetrics

    assert pdfmetrics.getFont(FONT).face.name == b"DejaVuSans"
    assert tt2ps(FONT, 1, 0) == FONT_BOLD


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("A\x00B\x07C\nD\tE\x7f\x85F", "ABC\nD\tEF"),
        ("half\ud800surrogate", "halfsurrogate"),
        ("A\u0303n\u0303o", "Ãño"),
        ("Иван", "Иван"),
    ],
)
def test_clean_text_strips_controls_and_composes(raw, cleaned):
    assert clean_text(raw) == cleaned


def test_escape_markup_escapes_every_markup_character():
    assert escape_markup("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;"


HOSTILE = [
    '<img src="http://127.0.0.1:1/x"/>',
    '<img src="https://127.0.0.1:1/x" width="5" height="5"/>',
    '<img src="/etc/passwd" width="10" height="10"/>',
    "<font color=\"[ [ getattr(pow, Word().__name__) for Word in [ type('x', (str,), "
    "{'__name__': 'exit'}) ] ] and 'red' ]\">exploit</font>",
    "<para><b>bold</b></para>",
    "a < b",
    "Tom & Jerry",
    "&amp; &lt; &#60;",
    "\"double\" and 'single' quotes",
    "O'Brien-Smith",
    "<",
    "&",
    "]]>",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_renders_literally_without_fetching(network_attempts, name):
    text = pdf_text(paragraph_pdf(escape_markup(name)))

    assert " ".join(name.split()) in text
    assert network_attempts == []


def test_unescaped_markup_would_be_interpreted():
    # Guards the test above: without escaping, the markup is parsed, not shown.
    text = pdf_text(paragraph_pdf("<b>bold</b> Tom &amp; Jerry"))

    assert "<b>" not in text
    assert "Tom & Jerry" in text


@pytest.mark.parametrize(
    "name",
    [
        "Мария Иванова-Петрова",
        "Ελένη Παπαδοπούλου",
        "José Ñúñez Çelik Łukasz Øster",
        "A\u0303n\u0303a",
        "Ivan\x00\x08 Petrov\x1b",
        "x" * 300,
        " ".join(["Иванова"] * 40),
    ],
)
def test_any_script_renders_and_extracts(name):
    text = pdf_text(paragraph_pdf(paragraph_text(name)))

    # Lines may break anywhere in a long word, so compare without spaces.
    assert clean_text(name).replace(" ", "") in text.replace(" ", "")


@pytest.mark.parametrize("name", ["שלום עולם", "مرحبا بالعالم", "Ivan 😀🎓 Petrov", "漢字 名前"])
def test_rtl_emoji_and_missing_glyphs_render_without_error(name):
    data = paragraph_pdf(paragraph_text(name))

    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_visual_leaves_left_to_right_text_alone():
    assert visual("Мария <Ivan> 123") == "Мария <Ivan> 123"


def test_visual_reorders_hebrew_and_joins_arabic():
    assert visual("שלום") == "םולש"
    arabic = visual("مرحبا")
    # Joined letters come from the Arabic Presentation Forms-B block.
    assert all("\ufe70" <= char <= "\ufeff" for char in arabic)
    assert len(arabic) == 5


def test_colour_accepts_hex_and_falls_back_otherwise():
    assert pdf.colour("#FF0000", "#000000").hexval() == "0xff0000"
    assert pdf.colour("red;evil", "#123456").hexval() == "0x123456"
    assert pdf.colour(None, "#123456").hexval() == "0x123456"


# Fitting -------------------------------------------------------------------------------


def test_fit_text_keeps_the_largest_size_when_it_fits():
    fitted = fit_text("Ivan Petrov", FONT_BOLD, 500, max_size=30, min_size=10)

    assert fitted.lines == ("Ivan Petrov",)
    assert fitted.size == 30


def test_fit_text_shrinks_a_long_line_to_the_width():
    name = "Анна-Мария Константинова-Христова Димитрова"
    fitted = fit_text(name, FONT_BOLD, 300, max_size=30, min_size=8)

    assert fitted.lines == (name,)
    assert fitted.size < 30
    assert text_width(name, FONT_BOLD, fitted.size) == pytest.approx(300, abs=0.01)


def test_fit_text_wraps_when_one_line_would_be_too_small():
    name = " ".join(["Константинова"] * 12)
    fitted = fit_text(
        name, FONT_BOLD, 400, max_size=30, single_line_min=18, min_size=10, max_lines=4
    )

    assert 1 < len(fitted.lines) <= 4
    assert 10 <= fitted.size <= 18
    assert " ".join(fitted.lines) == name
    assert all(text_width(line, FONT_BOLD, fitted.size) <= 400 for line in fitted.lines)


def test_fit_text_truncates_only_what_cannot_fit_at_the_minimum():
    name = "слово " * 400
    fitted = fit_text(name, FONT, 200, max_size=12, single_line_min=10, min_size=8, max_lines=2)

    assert len(fitted.lines) == 2
    assert fitted.size == 8
    assert fitted.lines[-1].endswith("…")
    assert all(text_width(line, FONT, 8) <= 200 for line in fitted.lines)


def test_fit_text_with_a_three_hundred_character_name():
    name = " ".join(["Хрисимира"] * 30)[:300]
    fitted = fit_text(
        name, FONT_BOLD, 642, max_size=32, single_line_min=18, min_size=10, max_lines=4
    )

    assert " ".join(fitted.lines) == name


def test_wrap_splits_a_word_longer_than_the_line():
    lines = wrap("x" * 300, FONT, 10, 100)

    assert "".join(lines) == "x" * 300
    assert all(text_width(line, FONT, 10) <= 100 for line in lines)


def test_truncate():
    assert truncate("short", FONT, 10, 200) == "short"
    cut = truncate("a long sentence " * 20, FONT, 10, 100)
    assert cut.endswith("…")
    assert text_width(cut, FONT, 10) <= 100


def test_new_canvas_is_deterministic_and_dated():
    import datetime as dt

    def render(created):
        buffer = io.BytesIO()
        canvas = new_canvas(buffer, (200, 200), title="T", created=created)
        canvas.setFont(FONT, 10)
        canvas.drawString(10, 10, "Мария")
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    first = render(dt.date(2025, 6, 1))

    assert first == render(dt.date(2025, 6, 1))
    assert first != render(dt.date(2025, 6, 2))
    info = PdfReader(io.BytesIO(first)).metadata
    assert info["/CreationDate"] == "D:20250601000000+00'00'"


# QR ------------------------------------------------------------------------------------

URL = "https://lms.example.org/verify/7Q2M-K9XD-4HTR-PZ1A-X8"


def qr_page(data: str, size: float = 150, mask: int | None = None) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(size + 40, size + 40), invariant=True)
    draw_qr(canvas, data, 20, 20, size, mask=mask)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_qr_matrix_is_segnos_matrix():
    code = segno.make(URL, error="m", micro=False, boost_error=False)
    matrix = qr_matrix(URL)

    assert len(matrix) == code.symbol_size(border=0)[0]
    assert matrix == [[bool(module) for module in row] for row in code.matrix]


@pytest.mark.parametrize("error", ["l", "m", "q", "h"])
def test_qr_matrix_chooses_segnos_mask_at_every_size(error):
    # Lengths from version 1 to beyond version 7 (which adds version information).
    for length in (1, 9, 20, 33, 60, 100, 150, 230, 400):
        for start in range(12):
            data = "".join(URL[(start + k) % len(URL)] for k in range(length))
            code = segno.make(data, error=error, micro=False, boost_error=False)
            assert qr_matrix(data, error) == [[bool(m) for m in row] for row in code.matrix]


@pytest.mark.parametrize("mask", range(8))
def test_qr_matrix_with_a_fixed_mask_is_segnos(mask):
    code = segno.make(URL, error="m", micro=False, boost_error=False, mask=mask)
    assert qr_matrix(URL, mask=mask) == [[bool(m) for m in row] for row in code.matrix]


def test_qr_path_holds_exactly_the_dark_modules_in_one_fill():
    data = qr_page(URL, size=150)
    reader = PdfReader(io.BytesIO(data))
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    fills = [index for index, (_, op) in enumerate(operations) if op in (b"f", b"f*")]
    # One fill paints the light quiet zone, one fills every dark module.
    assert len(fills) == 2
    matrix = qr_matrix(URL)
    count = len(matrix) + 2 * pdf.QR_BORDER
    module = 150 / count
    drawn = set()
    background, path_end = fills
    for operands, op in operations[background + 1 : path_end]:
        if op != b"re":
            continue
        x, y, width, height = (float(value) for value in operands)
        column = round((x - 20) / module) - pdf.QR_BORDER
        row = round((20 + 150 - (y + height)) / module) - pdf.QR_BORDER
        assert height == pytest.approx(module, abs=0.01)
        for offset in range(round(width / module)):
            drawn.add((row, column + offset))
    dark = {(r, c) for r, line in enumerate(matrix) for c, value in enumerate(line) if value}

    assert drawn == dark


@pytest.mark.parametrize(("size", "mask"), [(60, None), (150, None), (104, 0), (104, 5)])
def test_qr_page_decodes_to_the_url(size, mask):
    document = pypdfium2.PdfDocument(qr_page(URL, size=size, mask=mask))
    image = document[0].render(scale=300 / 72).to_pil()
    document.close()

    results = zxingcpp.read_barcodes(image)

    assert [result.text for result in results] == [URL]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


def test_unescaped_image_tag_would_fetch_the_url(network_attempts):
    # Guards the test above: raw markup does reach for the URL.
    with pytest.raises(Exception, match="Cannot open resource"):
        paragraph_pdf('<img src="https://127.0.0.1:1/x" width="5" height="5"/>')

    assert network_attempts


def page_images(data: bytes) -> list:
    page = PdfReader(io.BytesIO(data)).pages[0]
    return list(page["/Resources"].get("/XObject", {}).keys())


def test_image_tag_reading_a_local_file_is_shown_as_text(tmp_path):
    from PIL import Image

    secret = tmp_path / "secret.png"
    Image.new("RGB", (4, 4), "red").save(secret)
    tag = f'<img src="{secret}" width="5" height="5"/>'

    assert page_images(paragraph_pdf(tag))  # raw markup reads the file
    escaped = paragraph_pdf(escape_markup(tag))
    assert page_images(escaped) == []
    assert tag in pdf_text(escaped)


@pytest.mark.parametrize("text", ["محمد عبد الله", "لا إله", "שלום עולם"])
def test_right_to_left_text_uses_only_glyphs_the_fonts_have(text):
    from reportlab.pdfbase import pdfmetrics

    pdf.register_fonts()
    for font in (FONT, FONT_BOLD):
        glyphs = pdfmetrics.getFont(font).face.charToGlyph
        assert [char for char in visual(text) if char != " " and ord(char) not in glyphs] == []
