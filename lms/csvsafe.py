"""Write CSV for spreadsheets: safe from formula injection, and Cyrillic opens right in Excel.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (and a tab or carriage return can hide such a start), so a
trainee named ``=HYPERLINK(...)`` could attack whoever opens the export. Every
text cell whose first non-blank character is one of ``= + - @``, or that starts
with a tab, carriage return or line feed, gets a single quote ``'`` in front,
which makes the spreadsheet show it as text. The full-width forms (U+FF1D,
U+FF0B, U+FF0D, U+FF20) are treated the same, since some spreadsheet locales
read them as their ASCII twins. Real
numbers (``int``, ``Decimal``, ``float``, not ``bool``) are written unchanged, so
``-3.5`` stays a negative number; a number passed as a string is text and is
neutralised like any other text.

Encoding: UTF-8 with a byte-order mark and CRLF line ends, which is what Excel
needs to read Cyrillic names correctly; ``delimiter=";"`` suits locales (such as
Bulgarian) whose Excel expects semicolons.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

BOM = "\ufeff"
CSV_MIMETYPE = "text/csv; charset=utf-8"
DELIMITERS = (",", ";")
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_LEADING_CONTROL = ("\t", "\r", "\n")
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_cell(value: Any) -> str:
    """Return the text to write for one cell, neutralised if it could run as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if finite:
            return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = _SURROGATE.sub("\ufffd", str(value))
    if text.startswith(_LEADING_CONTROL) or text.lstrip()[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def iter_csv(
    rows: Iterable[Sequence[Any]],
    header: Sequence[Any] | None = None,
    *,
    delimiter: str = ",",
) -> Iterator[str]:
    """Return an iterator over the CSV's lines (the first with the BOM), for streaming."""
    if delimiter not in DELIMITERS:
        raise ValueError(f"delimiter must be one of {DELIMITERS}, not {delimiter!r}")
    lines = rows if header is None else itertools.chain([header], rows)
    return _lines(lines, delimiter)


def _lines(rows: Iterable[Sequence[Any]], delimiter: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(BOM)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def csv_bytes(
    rows: Iterable[Sequence[Any]],
    header: Sequence[Any] | None = None,
    *,
    delimiter: str = ",",
) -> bytes:
    """Return the whole CSV as UTF-8 bytes with a BOM and CRLF line ends."""
    return "".join(iter_csv(rows, header, delimiter=delimiter)).encode("utf-8")
