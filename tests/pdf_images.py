"""Render PDF pages to images with poppler's pdftoppm and compare them with references.

A layout regression (a block moved, a line wrapped, a band left empty) changes
many pixels; a different poppler or font hinting changes a few along edges.
The comparison counts pixels that differ clearly and allows a small share.

Set LMS_UPDATE_REFERENCE_IMAGES=1 to write the references anew after an intended
change; look at them before committing.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

REFERENCES = Path(__file__).parent / "reference"
#: Pixels per inch of the rendering: enough to see layout, small to store.
DPI = 50
#: Two greys closer than this (0-255) count as the same.
PIXEL_TOLERANCE = 48
#: Share of clearly different pixels allowed before the layout counts as changed.
SHARE_TOLERANCE = 0.004


def render_page(pdf: bytes, page: int = 1, dpi: int = DPI) -> Image.Image:
    """Return page ``page`` of ``pdf`` as a greyscale image (pdftoppm must be installed)."""
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm (poppler-utils) is needed to compare PDF layouts"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "page.pdf"
        source.write_bytes(pdf)
        result = subprocess.run(  # noqa: S603 - a fixed tool on a file of our own
            [tool, "-gray", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
             "-singlefile", str(source), str(Path(folder) / "page")],
            capture_output=True,
            check=True,
            timeout=60,
        )  # fmt: skip
        assert not result.stderr.strip(), result.stderr
        return Image.open(io.BytesIO((Path(folder) / "page.png").read_bytes())).convert("L")


def difference_share(image: Image.Image, reference: Image.Image) -> float:
    """The share of pixels that differ by more than PIXEL_TOLERANCE (1.0 if sizes differ)."""
    if image.size != reference.size:
        return 1.0
    # A one-pixel shift of anti-aliased edges is not a layout change: compare each
    # image against the other's 3x3 neighbourhood (min and max), keep what stays.
    darker = ImageChops.subtract(reference.filter(ImageFilter.MinFilter(3)), image)
    lighter = ImageChops.subtract(image, reference.filter(ImageFilter.MaxFilter(3)))
    changed = ImageChops.lighter(darker, lighter).point(lambda v: 255 if v > PIXEL_TOLERANCE else 0)
    histogram = changed.histogram()
    return histogram[255] / (image.size[0] * image.size[1])


def assert_matches_reference(image: Image.Image, name: str) -> None:
    """Fail when ``image`` differs from the stored reference ``name``.png beyond tolerance."""
    path = REFERENCES / f"{name}.png"
    if os.environ.get("LMS_UPDATE_REFERENCE_IMAGES") == "1":
        REFERENCES.mkdir(exist_ok=True)
        image.save(path, optimize=True)
    assert path.exists(), f"no reference image {path}; see tests/pdf_images.py"
    reference = Image.open(path).convert("L")
    share = difference_share(image, reference)
    assert share <= SHARE_TOLERANCE, (
        f"{name}: {share:.2%} of the page differs from {path.name} "
        f"(allowed {SHARE_TOLERANCE:.2%}); a layout change? see tests/pdf_images.py"
    )


def longest_blank_band(image: Image.Image, top: float, bottom: float) -> float:
    """The tallest run of blank rows between ``top`` and ``bottom`` (shares of the height).

    The frame's vertical lines are ignored by looking inside a 10 % margin.
    """
    width, height = image.size
    inner = image.crop((width // 10, int(top * height), width - width // 10, int(bottom * height)))
    longest = run = 0
    for y in range(inner.size[1]):
        row = inner.crop((0, y, inner.size[0], y + 1))
        blank = row.getextrema()[0] > 235
        run = run + 1 if blank else 0
        longest = max(longest, run)
    return longest / height
