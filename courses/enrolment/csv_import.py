"""Read an enrolment CSV as spreadsheets write it; no database here.

Accepted: UTF-8 with or without a byte-order mark, comma or semicolon as the
separator (Excel uses the semicolon where the comma is the decimal mark, as in
Bulgarian), Excel-style quoting, a header line with an ``email`` column and an
optional ``name`` column.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l

from lms.exceptions import UserError

logger = logging.getLogger(__name__)

COLUMNS = ("email", "name")
REQUIRED_COLUMNS = ("email",)
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 200


class CsvFileError(UserError):
    """The file as a whole cannot be read; the message says why and how to fix it."""


@dataclass(frozen=True)
class CsvRow:
    line: int  # line number in the file, the header being line 1
    email: str
    name: str
    extra_values: bool = False  # more values than header columns

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CsvRow:
        return cls(
            line=int(data["line"]),
            email=str(data["email"]),
            name=str(data["name"]),
            extra_values=bool(data.get("extra_values", False)),
        )


def _decode(data: bytes) -> str:
    if not data.strip():
        raise CsvFileError(_l("The file is empty."))
    try:
        # utf-8-sig drops the byte-order mark Excel puts in "CSV UTF-8" files.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError(
            _l(
                "The file is not UTF-8 text (byte %(position)s). In Excel, save it as "
                "\u201cCSV UTF-8 (Comma delimited)\u201d and upload it again.",
                position=error.start + 1,
            )
        ) from None
    if not text.strip():
        raise CsvFileError(_l("The file is empty."))
    return text


def _detect_delimiter(header_line: str) -> str:
    """Pick ';' or ',' from the header line: whichever separates more columns."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _read_header(cells: list[str]) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    expected = ", ".join(COLUMNS)
    unknown = [cell for cell in header if cell not in COLUMNS]
    if unknown or "email" not in header:
        found = ", ".join(cell or "\u2205" for cell in header)
        raise CsvFileError(
            _l(
                "The first line must be a header naming the columns: %(expected)s "
                "(email is required, name is optional). Found: %(found)s.",
                expected=expected,
                found=found,
            )
        )
    duplicated = sorted({cell for cell in header if header.count(cell) > 1})
    if duplicated:
        raise CsvFileError(
            _l("The header names a column twice: %(columns)s.", columns=", ".join(duplicated))
        )
    return header


def parse_enrolment_csv(data: bytes, *, max_rows: int, max_bytes: int) -> list[CsvRow]:
    """Return the data rows of an enrolment CSV, or raise CsvFileError for the whole file."""
    if len(data) > max_bytes:
        raise CsvFileError(
            _l(
                "The file is too large: at most %(size)s kB are accepted.",
                size=max_bytes // 1024,
            )
        )
    text = _decode(data)
    first_line = text.lstrip("\r\n").splitlines()[0]
    if first_line.strip().lower() in ("sep=,", "sep=;"):
        # Excel's hint line naming the separator; the header follows it.
        delimiter = first_line.strip()[-1]
        text = text.lstrip("\r\n").split("\n", 1)[1] if "\n" in text.lstrip("\r\n") else ""
        text = "\n" + text  # keep line numbers as in the file
    else:
        delimiter = _detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[CsvRow] = []
    header: list[str] | None = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, or lines of empty cells that Excel leaves behind
            if header is None:
                header = _read_header(cells)
                continue
            if len(rows) >= max_rows:
                raise CsvFileError(
                    _l(
                        "The file has more than %(max)s rows; split it into smaller files.",
                        max=max_rows,
                    )
                )
            values = dict(zip(header, cells, strict=False))
            extra = any(cell.strip() for cell in cells[len(header) :])
            rows.append(
                CsvRow(
                    line=reader.line_num,
                    email=values.get("email", "").strip(),
                    name=" ".join(values.get("name", "").split()),
                    extra_values=extra,
                )
            )
    except csv.Error as error:
        raise CsvFileError(
            _l(
                "Line %(line)s cannot be read as CSV (%(reason)s). Check the quotes on that line.",
                line=reader.line_num,
                reason=str(error),
            )
        ) from None
    if header is None:
        raise CsvFileError(_l("The file is empty."))
    if not rows:
        raise CsvFileError(_l("The file has a header but no rows."))
    logger.info("read %s enrolment rows (delimiter %r)", len(rows), delimiter)
    return rows
