"""Report tables as CSV (formula-safe, comma or semicolon) and as an XLSX workbook."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from lms.csvsafe import csv_bytes, safe_cell
from reports.tables import SUPPRESSED, Table

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _plain(value: Any) -> Any:
    """Return a cell for a file: suppressed cells as "< 5", empty ones blank."""
    if value is SUPPRESSED:
        return str(SUPPRESSED)
    return value


def table_csv(table: Table, *, delimiter: str = ",") -> bytes:
    """Return one table as CSV (UTF-8 with BOM, CRLF), safe to open in a spreadsheet."""
    rows = ([_plain(v) for v in row] for row in table.rows)
    return csv_bytes(rows, table.header, delimiter=delimiter)


def _xlsx_cell(value: Any) -> Any:
    """Return a value openpyxl writes as a number, or as text that cannot run as a formula."""
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return safe_cell(value)


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name.lower())
    return name


def tables_xlsx(tables: Sequence[Table]) -> bytes:
    """Return a workbook with one sheet per table, headers in bold."""
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the empty sheet a new workbook has
    used: set[str] = set()
    for table in tables:
        sheet = workbook.create_sheet(_sheet_title(table.title, used))
        sheet.append([safe_cell(h) for h in table.header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_xlsx_cell(v) for v in row])
        for index, header in enumerate(table.header, start=1):
            width = max([len(str(header)), *(len(str(_plain(r[index - 1]))) for r in table.rows)])
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(width + 2, 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
