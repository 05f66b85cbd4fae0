"""The certificate's layout, judged on the rendered page against reference images.

Each page is rendered with poppler's pdftoppm and compared with an image kept
in tests/reference: moving a block, wrapping a line or opening a band fails.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from certificates.pdf import CertificatePDF, CompetencyLine, level_label, pack_items
from lms.pdf import FONT, register_fonts
from tests.certificates.test_pdf import snapshot
from tests.pdf_images import assert_matches_reference, longest_blank_band, render_page


def logo_png() -> bytes:
    """A centre logo: a blue square with a white ring, drawn the same every time."""
    image = Image.new("RGB", (240, 96), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 95, 95), fill="#1f4e79")
    draw.ellipse((18, 18, 77, 77), outline="white", width=8)
    draw.rectangle((110, 30, 235, 44), fill="#1f4e79")
    draw.rectangle((110, 54, 200, 66), fill="#6f8fb0")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def signature_png() -> bytes:
    """A handwritten-looking signature on a transparent background."""
    image = Image.new("RGBA", (400, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(10 + x * 4, 70 + int(25 * ((x % 9) - 4) / 4) - x // 6) for x in range(95)]
    draw.line(points, fill=(20, 30, 90, 255), width=5, joint="curve")
    draw.line([(60, 100), (330, 92)], fill=(20, 30, 90, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


LEVELS = ("3 — Напреднал / Advanced", "2 — Среден / Intermediate", "4 — Експерт / Expert")


def full(**changes):
    values = {
        "logo": logo_png(),
        "signature": signature_png(),
        "competencies": (
            CompetencyLine("E.2", "Управление на проекти / Project management", LEVELS[0]),
            CompetencyLine("A.1", "Стратегия на ИС / IS and business strategy", LEVELS[1]),
            CompetencyLine("PM.3", "Управление на риска / Risk management", LEVELS[0]),
        ),
    }
    values.update(changes)
    return snapshot(**values)


def many():
    lines = tuple(
        CompetencyLine(f"C.{i}", f"Компетентност {i} / Competency number {i}", LEVELS[i % 3])
        for i in range(1, 25)
    )
    return full(competencies=lines)


CASES = {
    "certificate": full,
    "certificate-many-competencies": many,
    "certificate-plain": lambda: snapshot(competencies=(), signatory_name="", signatory_title=""),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_certificate_page_matches_its_reference_image(name):
    page = render_page(CertificatePDF(CASES[name]()).render())
    assert_matches_reference(page, name)


def test_no_wide_empty_band_between_the_text_and_the_foot():
    for make in (full, lambda: snapshot(competencies=())):
        page = render_page(CertificatePDF(make()).render())
        # From below the heading to the top of the foot (signature, QR code).
        assert longest_blank_band(page, 0.2, 0.72) < 0.16


def test_a_changed_layout_is_caught():
    """The comparison is not blind: the certificate without its signature differs."""
    from tests.pdf_images import REFERENCES, difference_share

    page = render_page(CertificatePDF(full(signature=None, logo=None)).render())
    reference = Image.open(REFERENCES / "certificate.png").convert("L")
    assert difference_share(page, reference) > 0.004


def test_details_break_only_between_items_so_units_stay_with_their_value():
    register_fonts()
    workload = "Натовареност / Workload: 80 ч. / 80 h"
    items = ["Код / Code: S4C-PM", "EQF level: 6", workload]
    for width in (200, 260, 320, 420):
        lines, _size = pack_items(items, FONT, width, max_size=9.5, min_size=9.5, max_lines=3)
        assert [part for line in lines for part in line.split("   ·   ")] == items, width
        assert workload in lines[-1]
    lines, _size = pack_items(items, FONT, 2000, max_size=9.5, min_size=7, max_lines=2)
    assert lines == ("   ·   ".join(items),)


def test_levels_print_in_both_languages():
    assert level_label(3, "Напреднал", "Advanced") == "3 — Напреднал / Advanced"
    assert level_label(3, "", "Advanced") == "3 — Advanced"
    assert level_label(2, "Basic", "Basic") == "2 — Basic"
    assert level_label(1) == "1"
