"""Submitted files: stored outside the web root under random names, typed by their content.

A file is streamed to a temporary file in ``<instance>/uploads/assignments``
with its size checked while reading, its SHA-256 computed on the way, and its
type recognised from its bytes (magic numbers, the content-type list inside
an OOXML or the ``mimetype`` entry of an OpenDocument zip, strict UTF-8 for
text). The name the trainee gave is kept in the database only; on disk the
file is called by a random token. A refused file leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Longest entry read from inside an office zip: the content-type list is small,
# and a "zip bomb" must not make us inflate gigabytes to find out.
MAX_ZIP_ENTRY = 256 * 1024
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class FileType:
    key: str
    label: str
    extensions: tuple[str, ...]
    content_type: str


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

FILE_TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("pdf", _l("PDF document"), (".pdf",), "application/pdf"),
        FileType("docx", _l("Word document"), (".docx",), _DOCX),
        FileType("xlsx", _l("Excel workbook"), (".xlsx",), _XLSX),
        FileType("pptx", _l("PowerPoint presentation"), (".pptx",), _PPTX),
        FileType(
            "odt", _l("OpenDocument text"), (".odt",), "application/vnd.oasis.opendocument.text"
        ),
        FileType(
            "ods",
            _l("OpenDocument spreadsheet"),
            (".ods",),
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        FileType(
            "odp",
            _l("OpenDocument presentation"),
            (".odp",),
            "application/vnd.oasis.opendocument.presentation",
        ),
        FileType("png", _l("PNG image"), (".png",), "image/png"),
        FileType("jpeg", _l("JPEG image"), (".jpg", ".jpeg"), "image/jpeg"),
        FileType("txt", _l("Plain text (UTF-8)"), (".txt", ".md"), "text/plain"),
        FileType("csv", _l("CSV table (UTF-8)"), (".csv",), "text/csv"),
        FileType("zip", _l("ZIP archive"), (".zip",), "application/zip"),
    )
}
ZIP_BASED = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp", "zip"})
TEXT_BASED = frozenset({"txt", "csv"})
_OOXML_MAIN = {
    "docx": "wordprocessingml.document.main+xml",
    "xlsx": "spreadsheetml.sheet.main+xml",
    "pptx": "presentationml.presentation.main+xml",
}
_OPENDOCUMENT = {
    "odt": b"application/vnd.oasis.opendocument.text",
    "ods": b"application/vnd.oasis.opendocument.spreadsheet",
    "odp": b"application/vnd.oasis.opendocument.presentation",
}


class UploadRefused(Exception):
    """A file that is not accepted; the message says why and names the file."""


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    stored_name: str
    size: int
    content_type: str
    sha256: str
    type_key: str


def upload_dir() -> Path:
    """Return the folder for submitted files, creating it: outside any static folder."""
    configured = current_app.config.get("ASSIGNMENT_UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    folder = folder / "assignments" if not configured else folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_of(stored_name: str) -> Path:
    """Return the path of a stored file; refuse anything but our own random names."""
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name):
        raise ValueError("not a stored file name")
    return upload_dir() / stored_name


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(filename: str | None) -> str:
    """Return the base name a user gave, without folders or control characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = _CONTROL.sub("", name).strip().strip(".")  # no hidden or trailing-dot names
    if len(name) > MAX_NAME_LENGTH:
        _stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = name[: MAX_NAME_LENGTH - len(ext) - 1] + ("." + ext if ext else "")
    return name


def type_for_extension(name: str, allowed: Iterable[str]) -> FileType | None:
    """Return the allowed type whose extension the name has, if any."""
    suffix = PurePosixPath(name.lower()).suffix
    for key in allowed:
        file_type = FILE_TYPES.get(key)
        if file_type and suffix in file_type.extensions:
            return file_type
    return None


def allowed_extensions(allowed: Iterable[str]) -> list[str]:
    return [ext for key in allowed if key in FILE_TYPES for ext in FILE_TYPES[key].extensions]


def _zip_kind(path: Path) -> str | None:
    """Tell an OOXML or OpenDocument file from a plain zip; None if not a readable zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size <= 200:
                    declared = archive.read("mimetype").strip()
                    for key, value in _OPENDOCUMENT.items():
                        if declared == value:
                            return key
            if "[Content_Types].xml" in names:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size <= MAX_ZIP_ENTRY:
                    listing = archive.read("[Content_Types].xml").decode("utf-8", "replace")
                    for key, marker in _OOXML_MAIN.items():
                        if marker in listing:
                            return key
            return "zip"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, ValueError):
        return None


def _is_utf8_text(path: Path) -> bool:
    data = path.read_bytes()
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect(path: Path, head: bytes, claimed: FileType) -> bool:
    """Return whether the file's bytes are what its extension claims."""
    key = claimed.key
    if key == "pdf":
        return head.startswith(b"%PDF-")
    if key == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if key == "jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if key in ZIP_BASED:
        if not head.startswith(b"PK\x03\x04"):
            return False
        kind = _zip_kind(path)
        # Any zip is a zip; an office file must be the office file it says it is.
        return kind is not None and (key == "zip" or kind == key)
    if key in TEXT_BASED:
        return _is_utf8_text(path)
    return False


def store(
    stream: BinaryIO, filename: str | None, *, allowed: Iterable[str], max_bytes: int
) -> StoredFile:
    """Save an uploaded file after checking its name, size and content; raise UploadRefused."""
    allowed = list(allowed)
    name = clean_name(filename)
    if not name:
        raise UploadRefused(_("A file has no name."))
    claimed = type_for_extension(name, allowed)
    if claimed is None:
        raise UploadRefused(
            _(
                "%(name)s: this type of file is not accepted. Accepted: %(types)s.",
                name=name,
                types=", ".join(allowed_extensions(allowed)),
            )
        )
    folder = upload_dir()
    stored_name = secrets.token_hex(16)
    final = folder / stored_name
    partial = folder / (stored_name + ".part")
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            # Read at most one byte more than allowed: enough to know it is too big.
            while chunk := stream.read(min(CHUNK, max_bytes + 1 - size)):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(
                        _(
                            "%(name)s is larger than %(limit)s.",
                            name=name,
                            limit=human_size(max_bytes),
                        )
                    )
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRefused(_("%(name)s is empty.", name=name))
        if not detect(partial, head, claimed):
            raise UploadRefused(
                _(
                    "%(name)s is not a real %(type)s file: its content does not match its "
                    "extension.",
                    name=name,
                    type=claimed.label,
                )
            )
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("stored upload %s (%s bytes, %s)", stored_name, size, claimed.key)
    return StoredFile(
        original_name=name,
        stored_name=stored_name,
        size=size,
        content_type=claimed.content_type,
        sha256=digest.hexdigest(),
        type_key=claimed.key,
    )


def discard(files: Iterable[StoredFile | str]) -> None:
    """Delete stored files again (their submission was refused or rolled back)."""
    for item in files:
        stored_name = item if isinstance(item, str) else item.stored_name
        path_of(stored_name).unlink(missing_ok=True)
        logger.info("discarded upload %s", stored_name)


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(n)s MB", n=round(size / (1024 * 1024), 1))
    if size >= 1024:
        return _("%(n)s KB", n=round(size / 1024))
    return _("%(n)s bytes", n=size)


def content_disposition(name: str) -> str:
    """Return an attachment header value with an ASCII fallback and the RFC 5987 UTF-8 name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip(" ._")
    suffix = PurePosixPath(name).suffix
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
    if not ascii_name or ascii_name == suffix.strip("."):
        ascii_name = "submission" + suffix
    quoted = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
