"""Hostile uploads: zip bombs, lying sizes, bidi names, killed workers, external images."""

from __future__ import annotations

import io
import os
import re
import struct
import time
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import storage
from courses.assessments.assignments.models import Submission
from lms import create_app
from lms.markdown import render_markdown
from tests.courses.assignments.conftest import (  # noqa: F401 - fixtures
    PDF,
    make_assignment,
    upload_files,
    world,
)
from tests.courses.conftest import make_cohort, make_course, make_enrolment  # noqa: F401

ALL = list(storage.FILE_TYPES)
INFLATED = 100 * 1024 * 1024  # what the bombs below inflate to
PEAK_LIMIT = 50 * 1024 * 1024


@pytest.fixture
def folder(app):
    with app.test_request_context():
        yield storage.upload_dir()


def _deflated_zip(members: dict[str, int | bytes]) -> bytes:
    """A zip whose members are given bytes, or that many zero bytes (written in chunks)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            with archive.open(name, "w") as out:
                for _ in range(content // (1024 * 1024)):
                    out.write(bytes(1024 * 1024))
    return buffer.getvalue()


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """Make the zip's local and central headers claim ``size`` bytes for ``name`` (a lie)."""
    raw = bytearray(data)
    encoded = name.encode()
    local = raw.find(b"PK\x03\x04")
    while local >= 0:
        name_length = struct.unpack_from("<H", raw, local + 26)[0]
        if raw[local + 30 : local + 30 + name_length] == encoded:
            struct.pack_into("<L", raw, local + 22, size)
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46 : central + 46 + name_length] == encoded:
            struct.pack_into("<L", raw, central + 24, size)
        central = raw.find(b"PK\x01\x02", central + 4)
    return bytes(raw)


def _peak_while(action) -> tuple[object, int]:
    tracemalloc.start()
    try:
        try:
            result = action()
        except storage.UploadRefused as refusal:
            result = refusal
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _lying_docx() -> bytes:
    """A .docx whose content-type list says 100 bytes and inflates to 100 MB."""
    bomb = _deflated_zip({"[Content_Types].xml": INFLATED, "word/document.xml": b"<document/>"})
    return _declare_size(bomb, "[Content_Types].xml", 100)


def _lying_odt() -> bytes:
    bomb = _deflated_zip({"mimetype": INFLATED, "content.xml": b"<office:document-content/>"})
    return _declare_size(bomb, "mimetype", 100)


@pytest.mark.parametrize(
    ("name", "make"),
    [("map.docx", _lying_docx), ("essay.odt", _lying_odt), ("bundle.zip", _lying_docx)],
)
def test_a_zip_member_lying_about_its_size_is_refused_without_inflating_it(folder, name, make):
    data = make()
    assert len(data) < 200 * 1024  # a small upload...
    before = set(os.listdir(folder))
    result, peak = _peak_while(
        lambda: storage.receive(io.BytesIO(data), name, allowed=ALL, max_bytes=1024 * 1024)
    )
    assert isinstance(result, storage.UploadRefused), result
    assert "not a real" in str(result)
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB"  # ...never inflated to 100 MB
    assert set(os.listdir(folder)) == before


def test_an_honest_zip_bomb_is_refused_by_its_compression_ratio(folder):
    bomb = _deflated_zip({"[Content_Types].xml": b"<Types/>", "big.bin": INFLATED})
    result, peak = _peak_while(
        lambda: storage.receive(io.BytesIO(bomb), "bundle.zip", allowed=ALL, max_bytes=1024 * 1024)
    )
    assert isinstance(result, storage.UploadRefused)
    assert peak < PEAK_LIMIT


def test_a_zip_with_too_many_members_is_refused_before_they_are_listed(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(storage.MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"{n}", b"")
    with pytest.raises(storage.UploadRefused):
        storage.receive(
            io.BytesIO(buffer.getvalue()), "many.zip", allowed=ALL, max_bytes=4 * 1024 * 1024
        )


def test_a_normal_compressed_office_file_is_still_accepted(folder):
    docx = _deflated_zip(
        {
            "[Content_Types].xml": b'<Types ContentType="application/vnd.openxmlformats-'
            b'officedocument.wordprocessingml.document.main+xml"/>',
            "word/document.xml": b"<w:p>Stakeholder map</w:p>" * 2000,
        }
    )
    stored = storage.receive(io.BytesIO(docx), "map.docx", allowed=ALL, max_bytes=1024 * 1024)
    assert stored.type_key == "docx"


def test_a_big_text_file_is_checked_in_chunks(folder):
    text = ("Бележки ✓\n" * 200_000).encode()  # about 3 MB
    stored, peak = _peak_while(
        lambda: storage.receive(io.BytesIO(text), "notes.txt", allowed=ALL, max_bytes=8 << 20)
    )
    assert stored.type_key == "txt"
    assert peak < 2 * 1024 * 1024
    with pytest.raises(storage.UploadRefused):  # a multi-byte letter cut at the very end
        storage.receive(io.BytesIO(text + b"\xd0"), "notes.txt", allowed=ALL, max_bytes=8 << 20)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # shows as "invoiceexe.pdf" otherwise
        ("\u2066report\u2069.pdf", "report.pdf"),
        ("a\u202ab\u202cc.pdf", "abc.pdf"),
        ("line\r\nbreak\t.pdf", "linebreak.pdf"),
        ("..\\..\\evil\u202e.pdf", "evil.pdf"),
        ("dir/\u202e/x.pdf", "x.pdf"),
    ],
)
def test_stored_names_lose_bidi_and_control_characters(given, kept):
    assert storage.clean_name(given) == kept


def test_a_bidi_name_is_stored_clean_through_the_page(
    client,
    db,
    world,  # noqa: F811 - the fixture imported above
    login_as,
    make_assignment,  # noqa: F811
):
    assignment = make_assignment(world.course, actor=world.instructor)
    login_as(world.trainee)
    response = client.post_form(
        f"/courses/{world.course.code}/assignments/{assignment.assessment_id}/submit",
        {"text": "", "files": (io.BytesIO(PDF), "map\u202efdp.exe\u202c.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    stored = db.session.scalars(sa.select(Submission)).one().files[0]
    assert stored.original_name == "mapfdp.exe.pdf"


def test_an_upload_cut_short_leaves_no_part_file(folder):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 64 * 1024:
                raise ConnectionResetError("client went away")
            return super().read(size)

    before = set(os.listdir(folder))
    with pytest.raises(ConnectionResetError):
        storage.receive(Broken(PDF * 10_000), "r.pdf", allowed=ALL, max_bytes=8 << 20)
    assert set(os.listdir(folder)) == before


def test_part_files_of_killed_workers_are_removed_at_start(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    stale, fresh, kept = folder / "a.part", folder / "b.part", folder / ("c" * 32)
    for path in (stale, fresh, kept):
        path.write_bytes(b"x")
    an_hour_ago = time.time() - storage.STALE_PART_SECONDS - 60
    os.utime(stale, (an_hour_ago, an_hour_ago))

    create_app(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "k" * 64,
            "ASSIGNMENT_UPLOAD_DIR": str(folder),
        }
    )

    assert not stale.exists()  # its worker died long ago
    assert fresh.exists()
    assert kept.exists()


@pytest.mark.parametrize(
    "source",
    [
        "![pixel](https://tracker.example/p.gif?u=1)",
        "![pixel](http://tracker.example/p.gif)",
        "![pixel](//tracker.example/p.gif)",
        "![pixel](<\t//tracker.example/p.gif>)",
        "![pixel](/\\tracker.example/p.gif)",
        "![svg](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)",
        "![big](data:image/png;base64," + "A" * (70 * 1024) + ")",
    ],
)
def test_lesson_images_from_elsewhere_are_not_loaded(app, source):
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', str(render_markdown(source)))
    # Nothing, or a path on this site ("/%5Ctracker..." is the path "/\\tracker...").
    assert all(src.startswith("/%5C") for src in sources), sources


def test_lesson_images_from_the_site_and_small_data_uris_are_kept(app):
    small = "data:image/png;base64,iVBORw0KGgo="
    html = str(render_markdown(f"![a](/static/map.png) ![b](figure.png) ![c]({small})"))
    assert '<img src="/static/map.png" alt="a">' in html
    assert '<img src="figure.png" alt="b">' in html
    assert f'<img src="{small}" alt="c">' in html
    base = app.config["BASE_URL"]
    assert f'src="{base}/x.png"' in str(render_markdown(f"![same site]({base}/x.png)"))


def test_data_uris_are_never_links(app):
    html = str(render_markdown("[click](data:text/html;base64,PHNjcmlwdD4=)"))
    assert "href" not in html


def test_a_body_over_the_request_cap_is_refused_while_read_and_stores_nothing(
    client,
    db,
    app,
    login_as,
    world,  # noqa: F811
    make_assignment,  # noqa: F811
    monkeypatch,
):
    assignment = make_assignment(world.course, actor=world.instructor, max_file_bytes=8 << 20)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    login_as(world.trainee)
    before = upload_files(app)
    response = client.post_form(
        f"/courses/{world.course.code}/assignments/{assignment.assessment_id}/submit",
        {"text": "", "files": (io.BytesIO(PDF + b"0" * 200_000), "big.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303  # back to the assignment, saying why
    assert "Content-Security-Policy" in response.headers
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The upload is too large" in page
    assert upload_files(app) == before
    assert db.session.scalars(sa.select(Submission)).all() == []
