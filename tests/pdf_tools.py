"""PDF tools the tests use as outside judges: poppler's pdfsig and qpdf (.ci/run installs them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PDFSIG = shutil.which("pdfsig")
QPDF = shutil.which("qpdf")

needs_pdfsig = pytest.mark.skipif(PDFSIG is None, reason="poppler's pdfsig is not installed")
needs_qpdf = pytest.mark.skipif(QPDF is None, reason="qpdf is not installed")


def pdfsig(data: bytes, folder: Path) -> str:
    """Return what ``pdfsig`` reports about the PDF ``data``."""
    path = folder / "pdfsig-input.pdf"
    path.write_bytes(data)
    command = [PDFSIG, str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout  # noqa: S603


def linearize(data: bytes, folder: Path) -> bytes:
    """Return the PDF ``data`` as ``qpdf --linearize`` saves it again, content unchanged."""
    source, target = folder / "qpdf-input.pdf", folder / "qpdf-output.pdf"
    source.write_bytes(data)
    subprocess.run([QPDF, "--linearize", str(source), str(target)], check=True)  # noqa: S603
    return target.read_bytes()
