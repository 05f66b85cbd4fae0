"""Parse a competency framework from CSV, with one clear error per bad row.

The file is UTF-8 (with or without a byte-order mark, as Excel saves "CSV
UTF-8"), separated by commas or semicolons (whichever the header line uses
more), with a header row naming the columns in any order:

    code, title_en, title_bg, description_en, description_bg, parent_code,
    esco_uri, ecf_code

``code`` and ``title_en`` are required, the other columns optional. Codes use
letters, digits, ``.``, ``-`` and ``_``. ``parent_code`` names another row of the
same file (or is empty for a top-level competency); parents may come before or
after their children but may not form a cycle. ``esco_uri`` holds one or more
ESCO skill URIs (``http://data.europa.eu/esco/skill/<uuid>``) and ``ecf_code``
one or more e-CF 4.0 competence codes (A.1 … E.9), separated by spaces, ``|``,
``,`` or ``;``.

:func:`parse_framework_csv` never raises on bad content: it returns the rows and
a list of ``(line_number, message)`` errors, at most one per row (a row's
problems are joined into one message). The caller imports all rows or none:
anything in ``errors`` means nothing is imported.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

from flask_babel import gettext as _

logger = logging.getLogger(__name__)

COLUMNS = (
    "code",
    "title_en",
    "title_bg",
    "description_en",
    "description_bg",
    "parent_code",
    "esco_uri",
    "ecf_code",
)
REQUIRED_COLUMNS = ("code", "title_en")
MAX_CODE_LENGTH = 32
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_ROWS = 2000
MAX_BYTES = 2 * 1024 * 1024

ESCO_SKILL_PREFIX = "http://data.europa.eu/esco/skill/"
_ESCO_URI = re.compile(
    r"http://data\.europa\.eu/esco/skill/"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LIST_SEPARATORS = re.compile(r"[\s|,;]+")


@dataclass(frozen=True)
class EcfCompetence:
    code: str
    title: str
    area: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class FrameworkRow:
    """One competency read from the file, with the line it started on."""

    line: int
    code: str
    title_en: str
    title_bg: str = ""
    description_en: str = ""
    description_bg: str = ""
    parent_code: str | None = None
    esco_uris: tuple[str, ...] = ()
    ecf_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFramework:
    rows: list[FrameworkRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the file can be imported (no errors and at least one row)."""
        return not self.errors and bool(self.rows)


@functools.cache
def ecf_competences() -> dict[str, EcfCompetence]:
    """Return the e-CF 4.0 competences shipped with the package, by code."""
    text = resources.files("courses.competencies").joinpath("data/ecf.csv").read_text("utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return {
        row["code"]: EcfCompetence(
            row["code"], row["title"], row["area"], tuple(row["levels"].split(","))
        )
        for row in csv.DictReader(lines)
    }


def normalise_esco_uri(value: str) -> str | None:
    """Return the ESCO skill URI in canonical form (lower-case UUID), or None if it is not one."""
    match = _ESCO_URI.fullmatch(value.strip())
    return ESCO_SKILL_PREFIX + match.group(1).lower() if match else None


def normalise_ecf_code(value: str) -> str | None:
    """Return the e-CF 4.0 competence code ("e.2" -> "E.2"), or None if there is none such."""
    code = value.strip().upper()
    return code if code in ecf_competences() else None


def _split_list(value: str) -> list[str]:
    items = [item for item in _LIST_SEPARATORS.split(value) if item]
    return list(dict.fromkeys(items))


def _has_control(text: str, allow_newlines: bool) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


def _decode(data: bytes | str) -> tuple[str | None, tuple[int, str] | None]:
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), None
    if len(data) > MAX_BYTES:
        limit = MAX_BYTES // (1024 * 1024)
        return None, (1, _("The file is larger than %(mb)s MB.", mb=limit))
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return None, (
            line,
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."),
        )


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _check_header(header: list[str]) -> list[str]:
    problems = []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        problems.append(
            _(
                "Unknown column(s): %(names)s. The columns are: %(columns)s.",
                names=", ".join(f"“{name}”" for name in unknown),
                columns=", ".join(COLUMNS),
            )
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append(_("Missing column(s): %(names)s.", names=", ".join(missing)))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(_("Repeated column(s): %(names)s.", names=", ".join(repeated)))
    return problems


def _check_text(values: dict[str, str], problems: list[str]) -> None:
    for name in ("title_en", "title_bg"):
        text = values.get(name, "")
        if len(text) > MAX_TITLE_LENGTH:
            problems.append(
                _("%(column)s is longer than %(n)s characters.", column=name, n=MAX_TITLE_LENGTH)
            )
        if _has_control(text, allow_newlines=False):
            problems.append(_("%(column)s contains control characters.", column=name))
    for name in ("description_en", "description_bg"):
        text = values.get(name, "")
        if len(text) > MAX_DESCRIPTION_LENGTH:
            problems.append(
                _(
                    "%(column)s is longer than %(n)s characters.",
                    column=name,
                    n=MAX_DESCRIPTION_LENGTH,
                )
            )
        if _has_control(text, allow_newlines=True):
            problems.append(_("%(column)s contains control characters.", column=name))


def _check_code(code: str, column: str, problems: list[str]) -> None:
    if len(code) > MAX_CODE_LENGTH:
        problems.append(
            _("%(column)s is longer than %(n)s characters.", column=column, n=MAX_CODE_LENGTH)
        )
    elif not _CODE.fullmatch(code):
        problems.append(
            _(
                "%(column)s “%(code)s” may use only letters, digits, dots, hyphens and"
                " underscores, starting with a letter or digit.",
                column=column,
                code=code[:40],
            )
        )


def _alignments(values: dict[str, str], problems: list[str]) -> tuple[tuple[str, ...], ...]:
    uris = []
    for raw in _split_list(values.get("esco_uri", "")):
        uri = normalise_esco_uri(raw)
        if uri is None:
            problems.append(
                _(
                    "“%(value)s” is not an ESCO skill URI (%(prefix)s<uuid>).",
                    value=raw[:80],
                    prefix=ESCO_SKILL_PREFIX,
                )
            )
        elif uri not in uris:
            uris.append(uri)
    codes = []
    for raw in _split_list(values.get("ecf_code", "")):
        code = normalise_ecf_code(raw)
        if code is None:
            problems.append(
                _("“%(value)s” is not an e-CF 4.0 competence code (A.1 to E.9).", value=raw[:20])
            )
        elif code not in codes:
            codes.append(code)
    return tuple(uris), tuple(codes)


def _row(line: int, values: dict[str, str], problems: list[str]) -> FrameworkRow:
    code = values["code"]
    if not code:
        problems.append(_("code is empty."))
    else:
        _check_code(code, "code", problems)
    if not values["title_en"]:
        problems.append(_("title_en is empty."))
    parent = values.get("parent_code", "") or None
    if parent is not None:
        _check_code(parent, "parent_code", problems)
    _check_text(values, problems)
    esco_uris, ecf_codes = _alignments(values, problems)
    return FrameworkRow(
        line=line,
        code=code,
        title_en=values["title_en"],
        title_bg=values.get("title_bg", ""),
        description_en=values.get("description_en", "").replace("\r\n", "\n"),
        description_bg=values.get("description_bg", "").replace("\r\n", "\n"),
        parent_code=parent,
        esco_uris=esco_uris,
        ecf_codes=ecf_codes,
    )


def _cycle_members(parents: dict[str, str | None]) -> dict[str, list[str]]:
    """Return, for each code on a parent cycle, the cycle as a list starting at that code."""
    on_cycle: dict[str, list[str]] = {}
    for start in parents:
        path: list[str] = []
        seen: set[str] = set()
        node: str | None = start
        while node is not None and node in parents and node not in seen:
            seen.add(node)
            path.append(node)
            node = parents[node]
        if node == start:
            on_cycle[start] = path
    return on_cycle


def parse_framework_csv(data: bytes | str) -> ParsedFramework:
    """Parse a framework CSV into rows and ``(line, message)`` errors (see the module doc)."""
    text, error = _decode(data)
    if text is None:
        assert error is not None, "_decode says why when it gives no text"
        return ParsedFramework(errors=[error])
    if not text.strip():
        return ParsedFramework(errors=[(1, _("The file is empty."))])

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    problems: dict[int, list[str]] = {}
    rows: list[FrameworkRow] = []
    count = 0
    try:
        header = [name.strip().lower() for name in next(reader)]
        header_problems = _check_header(header)
        if header_problems:
            return ParsedFramework(errors=[(1, " ".join(header_problems))])
        previous_end = reader.line_num
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(value.strip() for value in record):
                continue
            count += 1
            if count > MAX_ROWS:
                problems.setdefault(line, []).append(
                    _("The file has more than %(n)s competencies.", n=MAX_ROWS)
                )
                break
            if len(record) != len(header):
                problems.setdefault(line, []).append(
                    _(
                        "Expected %(expected)s fields, found %(found)s.",
                        expected=len(header),
                        found=len(record),
                    )
                )
                continue
            row_problems: list[str] = []
            values = {name: value.strip() for name, value in zip(header, record, strict=True)}
            row = _row(line, values, row_problems)
            if row_problems:
                problems[line] = row_problems
            rows.append(row)
    except csv.Error as err:
        problems.setdefault(reader.line_num, []).append(
            _("The CSV is malformed here: %(detail)s.", detail=str(err))
        )

    _check_links(rows, problems)
    if not rows and not problems:
        problems[1] = [_("The file has no competencies.")]
    errors = [(line, " ".join(messages)) for line, messages in sorted(problems.items())]
    good = [row for row in rows if row.line not in problems]
    logger.info("Parsed framework CSV: %s rows, %s errors", len(rows), len(errors))
    return ParsedFramework(rows=good, errors=errors)


def _check_links(rows: list[FrameworkRow], problems: dict[int, list[str]]) -> None:
    first_line: dict[str, int] = {}
    for row in rows:
        if not row.code:
            continue
        if row.code in first_line:
            problems.setdefault(row.line, []).append(
                _(
                    "The code %(code)s is already used on line %(line)s.",
                    code=row.code,
                    line=first_line[row.code],
                )
            )
        else:
            first_line[row.code] = row.line
    parents = {}
    for row in rows:
        if first_line.get(row.code) != row.line:
            continue
        parents[row.code] = row.parent_code
        if row.parent_code is not None and row.parent_code not in first_line:
            problems.setdefault(row.line, []).append(
                _("The parent code %(code)s is not in the file.", code=row.parent_code)
            )
    for code, cycle in _cycle_members(parents).items():
        problems.setdefault(first_line[code], []).append(
            _("The parent codes form a cycle: %(cycle)s.", cycle=" → ".join([*cycle, code]))
        )


def parents_first(rows: list[FrameworkRow]) -> list[FrameworkRow]:
    """Return the rows ordered so that every parent comes before its children.

    Rows keep their file order otherwise; the rows must have parsed without errors.
    """
    children: dict[str | None, list[FrameworkRow]] = {}
    for row in rows:
        children.setdefault(row.parent_code, []).append(row)
    ordered: list[FrameworkRow] = []
    pending = list(reversed(children.get(None, [])))
    while pending:
        row = pending.pop()
        ordered.append(row)
        pending.extend(reversed(children.get(row.code, [])))
    if len(ordered) != len(rows):
        raise ValueError("rows have a missing parent or a cycle; parse errors must be fixed first")
    return ordered
