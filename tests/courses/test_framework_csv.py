"""Competency framework CSV import: formats, ESCO and e-CF alignment, one error per bad row."""

import csv
import io

import pytest

from courses.competencies.framework_csv import (
    COLUMNS,
    MAX_ROWS,
    ParsedFramework,
    ecf_competences,
    normalise_ecf_code,
    normalise_esco_uri,
    parents_first,
    parse_framework_csv,
)

# Real ESCO v1.2 skills ("ESCO, European Commission"), official English labels.
ESCO = {
    "manage relationships with stakeholders": (
        "http://data.europa.eu/esco/skill/1af2db15-2af9-44dd-9639-bf1fc69d4c34"
    ),
    "perform risk analysis": "http://data.europa.eu/esco/skill/1dd23dba-dd00-45ab-abf4-642902538317",
    "manage budgets": "http://data.europa.eu/esco/skill/21c5790c-0930-4d74-b3b0-84caf5af12ea",
    "project management": "http://data.europa.eu/esco/skill/7111b95d-0ce3-441a-9d92-4c75d05c4388",
    "smart city features": "http://data.europa.eu/esco/skill/d5bcc417-a004-4165-b7f1-ab739eadd2f4",
    "Internet of Things": "http://data.europa.eu/esco/skill/f049d050-12da-4e40-813a-2b5eb6df6b51",
    "urban planning": "http://data.europa.eu/esco/skill/7f18039d-dfae-471b-9daa-507f6b2d2842",
    "perform project management": (
        "http://data.europa.eu/esco/skill/cd5efa8c-e44d-4cbc-91c6-796018dbed68"
    ),
}

HEADER = list(COLUMNS)


def framework_rows():
    return [
        ["SC", "Smart city project work", "Проекти за умен град", "", "", "", "", ""],
        [
            "SC.PM",
            "Project management",
            "Управление на проекти",
            "Plan, run and close smart-city projects.",
            "Планиране, изпълнение и приключване на проекти.",
            "SC",
            f"{ESCO['perform project management']} | {ESCO['project management']}",
            "E.2",
        ],
        [
            "SC.PM.RISK",
            "Risk management",
            "Управление на риска",
            "Identify and assess project risks.\nPlan responses.",
            "",
            "SC.PM",
            ESCO["perform risk analysis"],
            "E.3",
        ],
        [
            "SC.PM.BUDGET",
            'Budgets, "quoted"; and; commas, too',
            "Бюджети",
            "",
            "",
            "SC.PM",
            ESCO["manage budgets"],
            "",
        ],
        [
            "SC.STAKE",
            "Stakeholder relations",
            "Работа със заинтересовани страни",
            "",
            "",
            "SC",
            ESCO["manage relationships with stakeholders"],
            "E.4, D.11",
        ],
        [
            "SC.TECH",
            "Smart-city technology",
            "Технологии за умен град",
            "",
            "",
            "SC",
            f"{ESCO['smart city features']} {ESCO['Internet of Things']}",
            "A.7;A.10",
        ],
        ["SC.URBAN", "Urban planning", "", "", "", "SC", ESCO["urban planning"], "D.10"],
    ]


def to_csv(rows, header=HEADER, delimiter=",", bom=False, lineterminator="\r\n"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    return b"\xef\xbb\xbf" + data if bom else data


def error_lines(result):
    return [line for line, _message in result.errors]


# --- the e-CF list shipped with the package -------------------------------------------------


def test_ecf_list_has_the_41_competences():
    competences = ecf_competences()
    assert len(competences) == 41
    assert competences["E.2"].title == "Project and Portfolio Management"
    assert competences["D.10"].title == "Information and Knowledge Management"
    assert competences["A.10"].levels == ("e-2", "e-3", "e-4")
    assert "E.10" not in competences
    assert sum(code.startswith("E.") for code in competences) == 9


@pytest.mark.parametrize(
    ("raw", "expected"), [("E.2", "E.2"), (" e.9 ", "E.9"), ("D.10", "D.10"), ("E.10", None)]
)
def test_normalise_ecf_code(raw, expected):
    assert normalise_ecf_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ESCO["manage budgets"], ESCO["manage budgets"]),
        (ESCO["manage budgets"].upper().replace("HTTP://DATA.EUROPA.EU/ESCO/SKILL/", ""), None),
        (
            "http://data.europa.eu/esco/skill/21C5790C-0930-4D74-B3B0-84CAF5AF12EA",
            ESCO["manage budgets"],
        ),
        ("https://data.europa.eu/esco/skill/21c5790c-0930-4d74-b3b0-84caf5af12ea", None),
        ("http://data.europa.eu/esco/occupation/21c5790c-0930-4d74-b3b0-84caf5af12ea", None),
        ("http://data.europa.eu/esco/skill/21c5790c-0930-4d74-b3b0", None),
        ("http://data.europa.eu/esco/skill/21c5790c-0930-4d74-b3b0-84caf5af12eaX", None),
    ],
)
def test_normalise_esco_uri(raw, expected):
    assert normalise_esco_uri(raw) == expected


# --- a good file in every accepted format ---------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("lineterminator", ["\r\n", "\n"])
def test_good_framework_parses_in_every_format(delimiter, bom, lineterminator):
    data = to_csv(framework_rows(), delimiter=delimiter, bom=bom, lineterminator=lineterminator)
    result = parse_framework_csv(data)
    assert result.errors == []
    assert result.ok
    assert [row.code for row in result.rows] == [r[0] for r in framework_rows()]
    pm = result.rows[1]
    assert pm.title_bg == "Управление на проекти"
    assert pm.parent_code == "SC"
    assert pm.esco_uris == (ESCO["perform project management"], ESCO["project management"])
    assert pm.ecf_codes == ("E.2",)
    assert pm.line == 3
    assert result.rows[0].parent_code is None
    assert result.rows[2].description_en == "Identify and assess project risks.\nPlan responses."
    assert result.rows[3].title_en == 'Budgets, "quoted"; and; commas, too'
    assert result.rows[4].ecf_codes == ("E.4", "D.11")
    assert result.rows[5].esco_uris == (ESCO["smart city features"], ESCO["Internet of Things"])
    assert result.rows[5].ecf_codes == ("A.7", "A.10")


def test_text_input_and_columns_in_any_order_with_only_required_ones():
    text = "\ufeffTitle_EN , Code\nUrban planning,SC.URBAN\n\n ,  \nIoT,SC.IOT\n"
    result = parse_framework_csv(text)
    assert result.ok
    assert [(r.code, r.title_en, r.line) for r in result.rows] == [
        ("SC.URBAN", "Urban planning", 2),
        ("SC.IOT", "IoT", 5),
    ]


def test_every_esco_uri_of_the_reference_rows_is_accepted():
    rows = [
        [f"S{i}", label, "", "", "", "", uri, ""] for i, (label, uri) in enumerate(ESCO.items())
    ]
    result = parse_framework_csv(to_csv(rows))
    assert result.ok
    assert [row.esco_uris for row in result.rows] == [(uri,) for uri in ESCO.values()]


def test_children_may_come_before_parents_and_parents_first_orders_them():
    rows = [
        ["C", "child", "", "", "", "B", "", ""],
        ["A", "root", "", "", "", "", "", ""],
        ["B", "middle", "", "", "", "A", "", ""],
        ["D", "other root", "", "", "", "", "", ""],
    ]
    result = parse_framework_csv(to_csv(rows))
    assert result.ok
    assert [row.code for row in parents_first(result.rows)] == ["A", "B", "C", "D"]


def test_parents_first_refuses_broken_rows():
    result = parse_framework_csv(to_csv([["A", "a", "", "", "", "", "", ""]]))
    broken = [*result.rows, result.rows[0].__class__(9, "B", "b", parent_code="Z")]
    with pytest.raises(ValueError, match="parse errors"):
        parents_first(broken)


# --- one error per bad row ------------------------------------------------------------------


def test_each_bad_row_gets_one_error_with_its_line():
    rows = framework_rows()
    rows[1][6] = "https://data.europa.eu/esco/skill/cd5efa8c-e44d-4cbc-91c6-796018dbed68"
    rows[1][7] = "E.10"  # second problem, same row: one combined message
    rows[2][5] = "NOPE"
    rows[4][0] = "SC.PM"  # duplicate of line 3 (line 7: the risk description spans two)
    rows[6][1] = ""  # title_en missing (line 9)
    result = parse_framework_csv(to_csv(rows))
    assert not result.ok
    assert error_lines(result) == [3, 4, 7, 9]
    messages = dict(result.errors)
    assert "is not an ESCO skill URI (http://data.europa.eu/esco/skill/<uuid>)" in messages[3]
    assert "“E.10” is not an e-CF 4.0 competence code (A.1 to E.9)" in messages[3]
    assert "parent code NOPE is not in the file" in messages[4]
    assert "code SC.PM is already used on line 3" in messages[7]
    assert "title_en is empty" in messages[9]
    # The good rows are still returned for a preview, but the caller imports nothing.
    assert 2 in [row.line for row in result.rows]
    assert all(row.line not in messages for row in result.rows)


def test_cycles_are_reported_on_every_row_of_the_cycle():
    rows = [
        ["A", "a", "", "", "", "C", "", ""],
        ["B", "b", "", "", "", "A", "", ""],
        ["C", "c", "", "", "", "B", "", ""],
        ["D", "d", "", "", "", "A", "", ""],  # hangs off the cycle, not on it
        ["E", "e", "", "", "", "E", "", ""],  # its own parent
    ]
    result = parse_framework_csv(to_csv(rows))
    assert error_lines(result) == [2, 3, 4, 6]
    messages = dict(result.errors)
    assert "cycle: A → C → B → A" in messages[2]
    assert "cycle: E → E" in messages[6]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("has space", "may use only letters"),
        ("-lead", "may use only letters"),
        ("<b>", "may use only letters"),
        ("X" * 33, "longer than 32"),
        ("", "code is empty"),
    ],
)
def test_bad_codes(code, message):
    result = parse_framework_csv(to_csv([[code, "t", "", "", "", "", "", ""]]))
    assert error_lines(result) == [2]
    assert message in result.errors[0][1]


def test_text_limits_and_control_characters():
    rows = [
        ["A", "x" * 201, "", "", "", "", "", ""],
        ["B", "bad\x07title", "", "", "", "", "", ""],
        ["C", "t", "", "d" * 5001, "", "", "", ""],
        ["D", "t", "", "line one\r\nline two\tok", "", "", "", ""],
        ["E", "t", "", "nul\x00here", "", "", "", ""],
    ]
    result = parse_framework_csv(to_csv(rows))
    messages = dict(result.errors)
    assert sorted(messages) == [2, 3, 4, 7]  # D's description spans lines 5-6
    assert "title_en is longer than 200" in messages[2]
    assert "title_en contains control characters" in messages[3]
    assert "description_en is longer than 5000" in messages[4]
    assert "description_en contains control characters" in messages[7]


def test_wrong_number_of_fields():
    data = to_csv(framework_rows()) + b"SC.X,Extra,,,,SC,,,surplus\r\n"
    result = parse_framework_csv(data)
    assert result.errors == [(10, "Expected 8 fields, found 9.")]


def test_line_numbers_count_physical_lines_of_multiline_cells():
    rows = [
        ["A", "a", "", "one\ntwo\nthree", "", "", "", ""],
        ["B", "b", "", "", "", "Z", "", ""],
    ]
    result = parse_framework_csv(to_csv(rows))
    assert error_lines(result) == [5]


# --- whole-file problems --------------------------------------------------------------------


def test_header_problems_are_reported_on_line_1():
    result = parse_framework_csv(b"code,titel_en,parent\nA,b,\n")
    assert result.rows == []
    assert len(result.errors) == 1
    line, message = result.errors[0]
    assert line == 1
    assert "Unknown column(s): “titel_en”, “parent”" in message
    assert "Missing column(s): title_en" in message
    result = parse_framework_csv(b"code,title_en,code\n")
    assert "Repeated column(s): code" in result.errors[0][1]


@pytest.mark.parametrize("data", [b"", b"  \r\n", "\ufeff"])
def test_empty_file(data):
    assert parse_framework_csv(data).errors == [(1, "The file is empty.")]


def test_header_only():
    result = parse_framework_csv(b"code,title_en\r\n")
    assert result.errors == [(1, "The file has no competencies.")]
    assert not result.ok
    assert not ParsedFramework().ok


def test_not_utf8_reports_the_line():
    data = b"code,title_en\r\nA,ok\r\nB," + "Проект".encode("cp1251") + b"\r\n"
    result = parse_framework_csv(data)
    assert result.rows == []
    assert result.errors[0][0] == 3
    assert "not UTF-8" in result.errors[0][1]


def test_malformed_quoting():
    result = parse_framework_csv(b'code,title_en\r\nA,"open\r\nB,b\r\n')
    assert not result.ok
    assert "malformed" in result.errors[-1][1]
    result = parse_framework_csv(b'code,title_en\r\nA,"x"y\r\n')
    assert error_lines(result) == [2]


def test_too_many_rows_and_too_large():
    rows = [[f"C{i}", "t", "", "", "", "", "", ""] for i in range(MAX_ROWS + 1)]
    result = parse_framework_csv(to_csv(rows))
    assert result.errors == [(MAX_ROWS + 2, f"The file has more than {MAX_ROWS} competencies.")]
    result = parse_framework_csv(b"code,title_en\n" + b"x" * (2 * 1024 * 1024))
    assert result.errors == [(1, "The file is larger than 2 MB.")]
