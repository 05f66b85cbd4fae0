"""File checks: type by content, size while reading, nothing left on refusal, content addresses."""

from __future__ import annotations

import hashlib
import io

import pytest

from courses.assessments.assignments import storage
from lms.storage import read_bytes
from lms.storage import storage as file_store
from tests.courses.assignments.conftest import DOCX, JPEG, PDF, PNG, XLSX, odt, plain_zip

ALL = list(storage.FILE_TYPES)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield storage.upload_dir()


def _files(folder):
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("photo.PNG", PNG, "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("map.docx", DOCX, storage.FILE_TYPES["docx"].content_type),
        ("budget.xlsx", XLSX, storage.FILE_TYPES["xlsx"].content_type),
        ("essay.odt", odt(), "application/vnd.oasis.opendocument.text"),
        ("notes.txt", "Бележки — ünïcode ✓\n".encode(), "text/plain"),
        ("bundle.zip", plain_zip(), "application/zip"),
        ("bundle.zip", DOCX, "application/zip"),  # an office file is a zip too
    ],
)
def test_accepts_files_whose_content_matches(ctx, name, data, content_type):
    before = _files(ctx)
    stored = storage.receive(io.BytesIO(data), name, allowed=ALL, max_bytes=1024 * 1024)
    assert stored.content_type == content_type
    assert stored.size == len(data)
    assert stored.key == stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.checked.read_bytes() == data
    assert _files(ctx) - before == {stored.checked.name}
    assert name not in stored.checked.name
    storage.keep([stored])
    storage.discard([stored])
    assert _files(ctx) == before
    assert read_bytes(file_store(), stored.key, stored.sha256) == data


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", PNG),  # a PNG calling itself a PDF
        ("photo.png", PDF),
        ("photo.jpg", PNG),
        ("map.docx", XLSX),  # a workbook calling itself a Word document
        ("map.docx", plain_zip()),
        ("map.docx", PDF),
        ("essay.odt", DOCX),
        ("notes.txt", b"\xff\xfe\x00binary"),
        ("notes.txt", "ok".encode("utf-16")),
        ("bundle.zip", b"PK\x03\x04 not really a zip"),
        ("run.pdf", b"MZ\x90\x00 executable"),
    ],
)
def test_refuses_a_lying_extension_and_leaves_nothing(ctx, name, data):
    before = _files(ctx)
    with pytest.raises(storage.UploadRefused, match="content does not match its extension"):
        storage.receive(io.BytesIO(data), name, allowed=ALL, max_bytes=1024 * 1024)
    assert _files(ctx) == before


def test_refuses_a_forbidden_type(ctx):
    before = _files(ctx)
    with pytest.raises(storage.UploadRefused, match=r"not accepted\. Accepted: \.pdf"):
        storage.receive(io.BytesIO(b"#!/bin/sh"), "run.sh", allowed=["pdf"], max_bytes=100)
    with pytest.raises(storage.UploadRefused, match="not accepted"):
        storage.receive(io.BytesIO(PNG), "photo.png", allowed=["pdf"], max_bytes=100)
    assert _files(ctx) == before


class CountingStream(io.BytesIO):
    """A stream that records how much was read from it."""

    def __init__(self, data):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_size_limit_is_enforced_while_reading(ctx):
    before = _files(ctx)
    stream = CountingStream(PDF + b"x" * (5 * 1024 * 1024))
    with pytest.raises(storage.UploadRefused, match=r"larger than 1\.0 MB"):
        storage.receive(stream, "big.pdf", allowed=ALL, max_bytes=1024 * 1024)
    assert stream.consumed == 1024 * 1024 + 1  # stopped one byte past the limit
    assert _files(ctx) == before


def test_exactly_the_limit_is_accepted(ctx):
    data = PDF + b"x" * (1000 - len(PDF))
    stored = storage.receive(io.BytesIO(data), "fits.pdf", allowed=ALL, max_bytes=1000)
    assert stored.size == 1000


def test_empty_and_nameless_files_are_refused(ctx):
    before = _files(ctx)
    with pytest.raises(storage.UploadRefused, match="empty"):
        storage.receive(io.BytesIO(b""), "empty.pdf", allowed=ALL, max_bytes=100)
    with pytest.raises(storage.UploadRefused, match="no name"):
        storage.receive(io.BytesIO(PDF), "", allowed=ALL, max_bytes=100)
    assert _files(ctx) == before


def test_clean_name_drops_folders_and_control_characters():
    assert storage.clean_name("../../etc/passwd.txt") == "passwd.txt"
    assert storage.clean_name("C:\\Users\\a\\отчет.pdf") == "отчет.pdf"
    assert storage.clean_name("a\x00b\nc.pdf") == "abc.pdf"
    assert storage.clean_name(".hidden.pdf") == "hidden.pdf"
    long = storage.clean_name("x" * 400 + ".pdf")
    assert len(long) == 255
    assert long.endswith(".pdf")


def test_content_disposition_is_rfc_5987_safe():
    value = storage.content_disposition('Доклад "финал".pdf')
    assert value.startswith("attachment; filename=\"submission.pdf\"; filename*=UTF-8''")
    assert "%D0%94%D0%BE%D0%BA%D0%BB%D0%B0%D0%B4%20%22" in value
    assert storage.content_disposition("Plan ä.pdf") == (
        "attachment; filename=\"Plan a.pdf\"; filename*=UTF-8''Plan%20%C3%A4.pdf"
    )
    header = storage.content_disposition('evil"\r\nX-Injected: 1.txt')
    assert "\r" not in header
    assert "\n" not in header


def test_files_are_checked_in_the_instance_folder_outside_any_static_folder(app, ctx):
    from pathlib import Path

    assert ctx == Path(app.instance_path) / "uploads" / "assignments"
    static = Path(app.static_folder).resolve()
    assert static not in ctx.resolve().parents
