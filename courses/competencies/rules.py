"""Turn competency evidence into a trainee's current level, as pure rules.

Proficiency scale
    A framework's scale is an ordered list of levels, lowest first, each with a
    rank; exactly one level is marked *proficient*. A level at or above it is
    proficient.

Evidence
    Every evidence row says that a trainee showed a competency at a level, from
    an assessment (created automatically when a mapped assessment is passed) or
    from an instructor (with a note). Rows are never edited or deleted: a
    correction is a new row, and the old one points to it with ``superseded_by``.

Valid evidence at a moment ``now``
    A row is valid when all of these hold:

    - it is not superseded (``superseded_by`` is empty);
    - it is not revoked (``revoked`` is set when the grade it came from is
      revoked, so that grade no longer counts);
    - it already existed: ``created_at <= now`` (so a level can be computed as
      of any past date);
    - its validity window contains ``now``: ``valid_from <= now`` when given,
      and ``now < expires_at`` when given.

Current level
    The highest level among the valid rows for the competency, or ``None`` when
    no row is valid. A later row at a lower level does not lower the level
    (evidence accumulates); only superseding, revocation or expiry removes a
    row's effect. Among rows at the same level the newest decides (it is the one
    shown as "based on").
"""

from __future__ import annotations

import calendar
import enum
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from lms.exceptions import UserError

#: Longest note an instructor may give with manual evidence (match the column length).
MAX_NOTE_LENGTH = 2000


class CompetencyError(UserError, ValueError):
    """Competency data that the rules cannot use; ``message`` says why."""


class EvidenceSource(enum.StrEnum):
    ASSESSMENT = "assessment"
    INSTRUCTOR = "instructor"
    IMPORT = "import"


@dataclass(frozen=True)
class Level:
    """A level of a proficiency scale; a higher rank is a higher level."""

    code: str
    rank: int
    title: str = ""


@dataclass(frozen=True)
class ProficiencyScale:
    """Ordered levels (lowest first) and the code of the one that counts as proficient."""

    levels: tuple[Level, ...]
    proficient: str

    def __post_init__(self) -> None:
        levels = tuple(self.levels)
        object.__setattr__(self, "levels", levels)
        if not levels:
            raise CompetencyError("a proficiency scale needs at least one level")
        codes = [level.code for level in levels]
        if len(set(codes)) != len(codes) or not all(codes):
            raise CompetencyError("level codes must be unique and non-empty")
        ranks = [level.rank for level in levels]
        if any(low >= high for low, high in itertools.pairwise(ranks)):
            raise CompetencyError("levels must be listed lowest first with increasing ranks")
        if self.proficient not in codes:
            raise CompetencyError(f"the proficient level {self.proficient!r} is not in the scale")

    @classmethod
    def from_codes(cls, codes: Sequence[str], proficient: str) -> ProficiencyScale:
        """Build a scale from level codes listed lowest first (ranks 1, 2, ...)."""
        return cls(tuple(Level(code, rank) for rank, code in enumerate(codes, 1)), proficient)

    def level(self, code: str) -> Level:
        """Return the level with this code, or raise CompetencyError."""
        for level in self.levels:
            if level.code == code:
                return level
        raise CompetencyError(f"level {code!r} is not in the scale")

    @property
    def proficient_level(self) -> Level:
        """Return the level marked as proficient."""
        return self.level(self.proficient)


@dataclass(frozen=True)
class Evidence:
    """One evidence row for one trainee and one competency."""

    id: int | str
    competency: str
    level: Level
    source: EvidenceSource
    created_at: datetime
    superseded_by: int | str | None = None
    revoked: bool = False
    valid_from: datetime | None = None
    expires_at: datetime | None = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", EvidenceSource(self.source))
        for name in ("created_at", "valid_from", "expires_at"):
            moment = getattr(self, name)
            if moment is not None:
                _require_aware(moment, name)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def is_valid(evidence: Evidence, now: datetime) -> bool:
    """Return whether an evidence row counts at ``now`` (see the module docstring)."""
    _require_aware(now, "now")
    if evidence.superseded_by is not None or evidence.revoked:
        return False
    if evidence.created_at > now:
        return False
    if evidence.valid_from is not None and now < evidence.valid_from:
        return False
    return evidence.expires_at is None or now < evidence.expires_at


def deciding_evidence(evidence: Iterable[Evidence], now: datetime) -> Evidence | None:
    """Return the valid row that sets the current level: highest level, then newest."""
    rows = list(evidence)
    competencies = {row.competency for row in rows}
    if len(competencies) > 1:
        raise CompetencyError("evidence for several competencies: use current_levels")
    valid = [row for row in rows if is_valid(row, now)]
    if not valid:
        return None
    return max(valid, key=lambda row: (row.level.rank, row.created_at))


def current_level(evidence: Iterable[Evidence], now: datetime) -> Level | None:
    """Return the highest level among valid evidence of one competency, or None."""
    row = deciding_evidence(evidence, now)
    return None if row is None else row.level


def current_levels(evidence: Iterable[Evidence], now: datetime) -> dict[str, Level]:
    """Return the current level per competency code, for competencies that have one."""
    grouped: dict[str, list[Evidence]] = {}
    for row in evidence:
        grouped.setdefault(row.competency, []).append(row)
    levels = {}
    for competency, rows in grouped.items():
        level = current_level(rows, now)
        if level is not None:
            levels[competency] = level
    return levels


def is_proficient(level: Level | None, scale: ProficiencyScale) -> bool:
    """Return whether a level reaches the scale's proficient level (None never does)."""
    if level is None:
        return False
    if scale.level(level.code).rank != level.rank:
        raise CompetencyError(f"level {level.code!r} does not match the scale")
    return level.rank >= scale.proficient_level.rank


def months_before(moment: datetime, months: int) -> datetime:
    """Return the same moment ``months`` calendar months earlier (day clamped to the month)."""
    if months < 0:
        raise ValueError("months cannot be negative")
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def evidence_newer_than(evidence: Iterable[Evidence], months: int, now: datetime) -> list[Evidence]:
    """Return the valid evidence created within the last ``months`` months, newest first.

    Used by certification renewal ("evidence not older than N months").
    """
    cutoff = months_before(now, months)
    recent = [row for row in evidence if is_valid(row, now) and row.created_at > cutoff]
    return sorted(recent, key=lambda row: row.created_at, reverse=True)


def validate_evidence_note(note: object) -> str:
    """Check an instructor's note for manual evidence and return it trimmed."""
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        raise CompetencyError(_("Explain the evidence in a note."))
    if len(text) > MAX_NOTE_LENGTH:
        raise CompetencyError(
            _("The note is too long (at most %(n)s characters).", n=MAX_NOTE_LENGTH)
        )
    return text
