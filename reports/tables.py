"""Report tables as plain data, with small groups suppressed before anyone sees them.

A count of 1 to 4 people is shown as "< 5" (a zero describes nobody). A figure
derived from people (a rate, an average) is suppressed when any of the counts it
rests on is suppressed, since a rate beside a shown total would give a hidden
count away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Smallest group of people a report may show.
MIN_GROUP = 5


class _Suppressed:
    """A hidden cell: shown as "< 5" everywhere (pages, CSV, XLSX, PDF)."""

    def __repr__(self) -> str:
        return "SUPPRESSED"

    def __str__(self) -> str:
        return f"< {MIN_GROUP}"


SUPPRESSED = _Suppressed()


def suppress_count(value: int | None) -> int | _Suppressed:
    """Return ``value``, or SUPPRESSED when it counts 1 to 4 people."""
    value = int(value or 0)
    return SUPPRESSED if 0 < value < MIN_GROUP else value


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` is text, count (people), percent or number (derived).

    A derived column names in ``basis`` the count columns it is computed from.
    """

    key: str
    label: str
    kind: str = "text"
    basis: tuple[str, ...] = ()


@dataclass
class Table:
    """A titled table of display values; counts and derived figures already suppressed."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    @property
    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def column(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


def build_table(
    key: str, title: str, columns: Sequence[Column], raw_rows: Iterable[Sequence[Any]], note=""
) -> Table:
    """Return a table of ``raw_rows`` with every small group suppressed."""
    keys = [c.key for c in columns]
    rows = []
    for raw in raw_rows:
        values = dict(zip(keys, raw, strict=True))
        row: list[Any] = []
        for column in columns:
            value = values[column.key]
            if column.kind == "count":
                row.append(None if value is None else suppress_count(value))
            elif column.kind in ("percent", "number"):
                if value is None:
                    row.append(None)
                elif any(suppress_count(values[b]) is SUPPRESSED for b in column.basis):
                    row.append(SUPPRESSED)
                else:
                    row.append(round(Decimal(str(value)), 1))
            else:
                row.append(value)
        rows.append(row)
    return Table(key=key, title=str(title), columns=list(columns), rows=rows, note=str(note))


def display(value: Any) -> str:
    """Return the text a cell shows on a page."""
    if value is None:
        return "—"
    return str(value)


def chart_value(value: Any) -> float | None:
    """Return a cell as a number for a chart, or None when it is suppressed or empty."""
    if value is None or value is SUPPRESSED:
        return None
    return float(value)
