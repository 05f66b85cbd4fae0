"""Submitted files: checked by content in a scratch folder, then kept in the file store.

A file is streamed to a temporary file in ``<instance>/uploads/assignments``
with its size checked while reading, its SHA-256 computed on the way, and its
type recognised from its bytes (magic numbers, the content-type list inside
an OOXML or the ``mimetype`` entry of an OpenDocument zip, strict UTF-8 for
text). A refused file leaves nothing behind. An accepted one goes to the file
store (:mod:`lms.storage`, the instance folder or an S3 bucket) under its
content address only once the submission's rows are built and checked, and
before they commit: a crash in between leaves at most an unnamed object, which
the orphan cleanup removes, never a row without its file. The name the trainee
gave is kept in the database only.

Checking a zip never inflates more than a few kilobytes: the central directory
is sized from its end record before it is parsed, members are read through a
capped stream (their declared sizes may lie), and an archive whose members
claim a "zip bomb" compression ratio is refused.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import secrets
import struct
import time
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

from lms.auth.operations import HIDDEN_CHARACTERS
from lms.exceptions import UserError
from lms.storage import StorageError
from lms.storage import storage as file_store

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Longest entry read from inside an office zip: the content-type list is small,
# and a "zip bomb" must not make us inflate gigabytes to find out.
MAX_ZIP_ENTRY = 256 * 1024
# An office file has tens of members; tens of thousands would only cost memory to list.
MAX_ZIP_MEMBERS = 5000
# Office XML compresses about 10:1; a member claiming 200:1 or more is a bomb.
MAX_ZIP_RATIO = 200
MAX_NAME_LENGTH = 255
# A ".part" file older than this belongs to an upload whose process died.
STALE_PART_SECONDS = 3600


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


class UploadRefused(UserError):
    """A file that is not accepted; the message says why and names the file."""


@dataclass(frozen=True)
class StoredFile:
    """An accepted file: its checked copy in the scratch folder until :func:`keep` stores it."""

    original_name: str
    checked: Path
    size: int
    content_type: str
    sha256: str
    type_key: str

    @property
    def key(self) -> str:
        """Its key in the file store: the content address."""
        return self.sha256


def upload_dir() -> Path:
    """Return the scratch folder uploads are checked in, creating it: outside any static folder."""
    configured = current_app.config.get("ASSIGNMENT_UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    folder = folder / "assignments" if not configured else folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clean_name(filename: str | None) -> str:
    """Return the base name a user gave, without folders, control or bidi characters.

    A right-to-left override would make ``report\u202efdp.exe`` show as
    ``reportexe.pdf`` to whoever downloads it, so it is dropped like a control character.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = HIDDEN_CHARACTERS.sub("", name)
    name = PurePosixPath(name.replace("\\", "/")).name
    name = name.strip().strip(".")  # no hidden or trailing-dot names
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


_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"


def _zip_member_count(path: Path) -> int | None:
    """Return the entry count from a zip's end record (read before ``ZipFile`` lists them)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        # The end record is 22 bytes, followed by a comment of at most 64 KB.
        fh.seek(max(0, size - _END_RECORD.size - 0xFFFF))
        tail = fh.read()
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END_RECORD.size:
        return None
    fields = _END_RECORD.unpack_from(tail, at)
    return fields[4]  # total entries (0xFFFF means Zip64: more than we accept anyway)


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """Return a member's bytes if it inflates to at most ``limit``; never inflate more."""
    with archive.open(name) as member:
        data = member.read(limit + 1)  # its declared size may lie: cap what we inflate
    return data if len(data) <= limit else None


def _looks_like_bomb(archive: zipfile.ZipFile, archive_size: int) -> bool:
    """Whether the members claim more than the ratio cap allows (by their declared sizes)."""
    declared = 0
    for info in archive.infolist():
        declared += info.file_size
        if info.file_size > MAX_ZIP_ENTRY and info.file_size > MAX_ZIP_RATIO * max(
            info.compress_size, 1
        ):
            return True
    return declared > MAX_ZIP_RATIO * max(archive_size, MAX_ZIP_ENTRY)


def _zip_kind(path: Path) -> str | None:
    """Tell an OOXML or OpenDocument file from a plain zip; None if not a safe, readable zip."""
    try:
        count = _zip_member_count(path)
        if count is None or count > MAX_ZIP_MEMBERS:
            return None
        with zipfile.ZipFile(path) as archive:
            if _looks_like_bomb(archive, path.stat().st_size):
                return None
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = _read_member(archive, "mimetype", 200)
                for key, value in _OPENDOCUMENT.items():
                    if declared is not None and declared.strip() == value:
                        return key
            if "[Content_Types].xml" in names:
                listing = _read_member(archive, "[Content_Types].xml", MAX_ZIP_ENTRY)
                if listing is not None:
                    text = listing.decode("utf-8", "replace")
                    for key, marker in _OOXML_MAIN.items():
                        if marker in text:
                            return key
            return "zip"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, ValueError, EOFError):
        return None


def _is_utf8_text(path: Path) -> bool:
    """Whether the file is UTF-8 without NUL bytes, read in chunks (not all at once)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                if b"\x00" in chunk:
                    return False
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
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


def receive(
    stream: BinaryIO, filename: str | None, *, allowed: Iterable[str], max_bytes: int
) -> StoredFile:
    """Check an uploaded file's name, size and content; raise UploadRefused.

    The accepted file waits in the scratch folder: :func:`keep` puts it in the file
    store, :func:`discard` removes the scratch copy.
    """
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
    # A ".part" until discarded, stored or not: the start-up cleanup removes a stale one.
    partial = upload_dir() / (secrets.token_hex(16) + ".part")
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
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("checked upload %s (%s bytes, %s)", partial.name, size, claimed.key)
    return StoredFile(
        original_name=name,
        checked=partial,
        size=size,
        content_type=claimed.content_type,
        sha256=digest.hexdigest(),
        type_key=claimed.key,
    )


def remove_stale_parts(folder: Path, *, older_than: float = STALE_PART_SECONDS) -> int:
    """Delete ``.part`` files of uploads whose process was killed; return how many.

    Only old ones: another worker may be writing a fresh one right now.
    """
    cutoff = time.time() - older_than
    removed = 0
    for part in folder.glob("*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another worker removed it first
    if removed:
        logger.warning("removed %s unfinished uploads from %s", removed, folder)
    return removed


def keep(files: Iterable[StoredFile]) -> None:
    """Put checked files in the file store, before the rows that name them commit.

    Once there, a file is never deleted for a refused or rolled-back submission: the
    same content may be another row's. The orphan cleanup removes it if no row names it.
    """
    store = file_store()
    for item in files:
        with item.checked.open("rb") as stream:
            key = store.put(stream)
        if key != item.key:
            raise StorageError(f"upload {item.checked.name} changed while it was stored")
        logger.info("stored upload %s as %s", item.checked.name, key)


def discard(files: Iterable[StoredFile]) -> None:
    """Delete the scratch copies of checked files (kept in the store or refused)."""
    for item in files:
        item.checked.unlink(missing_ok=True)


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
