"""Competency rules: scales, valid evidence, current level, proficiency, recent evidence."""

from datetime import UTC, datetime, timedelta

import pytest

from courses.competencies.rules import (
    CompetencyError,
    Evidence,
    EvidenceSource,
    Level,
    ProficiencyScale,
    current_level,
    current_levels,
    deciding_evidence,
    evidence_newer_than,
    is_proficient,
    is_valid,
    months_before,
    validate_evidence_note,
)

SCALE = ProficiencyScale.from_codes(["aware", "practitioner", "proficient", "expert"], "proficient")
AWARE, PRACTITIONER, PROFICIENT, EXPERT = SCALE.levels
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)

_ids = iter(range(1, 10_000))


def evidence(level, days_ago=10, competency="SC.PM.1", **kwargs):
    kwargs.setdefault("source", EvidenceSource.ASSESSMENT)
    return Evidence(
        id=next(_ids),
        competency=competency,
        level=level,
        created_at=NOW - timedelta(days=days_ago),
        **kwargs,
    )


# --- scale ----------------------------------------------------------------------------------


def test_scale_orders_levels_and_marks_proficient():
    assert [level.rank for level in SCALE.levels] == [1, 2, 3, 4]
    assert SCALE.proficient_level == PROFICIENT
    assert SCALE.level("expert") == EXPERT


def test_scale_is_validated():
    with pytest.raises(CompetencyError, match="at least one"):
        ProficiencyScale((), "x")
    with pytest.raises(CompetencyError, match="unique"):
        ProficiencyScale.from_codes(["a", "a"], "a")
    with pytest.raises(CompetencyError, match="not in the scale"):
        ProficiencyScale.from_codes(["a", "b"], "c")
    with pytest.raises(CompetencyError, match="increasing ranks"):
        ProficiencyScale((Level("b", 2), Level("a", 1)), "a")
    with pytest.raises(CompetencyError, match="not in the scale"):
        SCALE.level("guru")


def test_is_proficient():
    assert not is_proficient(None, SCALE)
    assert not is_proficient(AWARE, SCALE)
    assert not is_proficient(PRACTITIONER, SCALE)
    assert is_proficient(PROFICIENT, SCALE)
    assert is_proficient(EXPERT, SCALE)
    with pytest.raises(CompetencyError):
        is_proficient(Level("guru", 9), SCALE)
    with pytest.raises(CompetencyError, match="does not match"):
        is_proficient(Level("aware", 4), SCALE)


# --- valid evidence -------------------------------------------------------------------------


def test_plain_evidence_is_valid():
    assert is_valid(evidence(AWARE), NOW)


def test_superseded_revoked_and_future_evidence_is_not_valid():
    assert not is_valid(evidence(EXPERT, superseded_by=99), NOW)
    assert not is_valid(evidence(EXPERT, revoked=True), NOW)
    assert not is_valid(evidence(EXPERT, days_ago=-1), NOW)


def test_validity_window():
    row = evidence(
        EXPERT,
        valid_from=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=1),
    )
    assert is_valid(row, NOW)
    assert not is_valid(row, NOW - timedelta(days=1, seconds=1))
    assert is_valid(row, NOW - timedelta(days=1))  # valid_from inclusive
    assert not is_valid(row, NOW + timedelta(days=1))  # expires_at exclusive


def test_timestamps_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        Evidence(1, "c", AWARE, EvidenceSource.INSTRUCTOR, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_valid(evidence(AWARE), datetime(2025, 1, 1))


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="'peer'"):
        evidence(AWARE, source="peer")


# --- current level --------------------------------------------------------------------------


def test_no_evidence_no_level():
    assert current_level([], NOW) is None


def test_current_level_is_the_highest_valid_level():
    rows = [evidence(AWARE), evidence(PROFICIENT, days_ago=30), evidence(PRACTITIONER, days_ago=1)]
    assert current_level(rows, NOW) == PROFICIENT


def test_a_later_lower_level_does_not_lower_the_level():
    rows = [evidence(EXPERT, days_ago=100), evidence(AWARE, days_ago=1)]
    assert current_level(rows, NOW) == EXPERT


def test_superseding_corrects_a_level_downwards():
    correction = evidence(PRACTITIONER, days_ago=1, source=EvidenceSource.INSTRUCTOR)
    original = evidence(EXPERT, days_ago=5, superseded_by=correction.id)
    assert current_level([original, correction], NOW) == PRACTITIONER


def test_evidence_from_a_revoked_grade_no_longer_counts():
    rows = [evidence(EXPERT, revoked=True), evidence(PRACTITIONER)]
    assert current_level(rows, NOW) == PRACTITIONER
    assert current_level([evidence(EXPERT, revoked=True)], NOW) is None


def test_expired_evidence_drops_out_and_level_as_of_a_past_date():
    expiring = evidence(EXPERT, days_ago=400, expires_at=NOW - timedelta(days=35))
    rows = [expiring, evidence(PRACTITIONER, days_ago=3)]
    assert current_level(rows, NOW) == PRACTITIONER
    assert current_level(rows, NOW - timedelta(days=40)) == EXPERT
    assert current_level(rows, NOW - timedelta(days=500)) is None


def test_deciding_evidence_is_the_newest_at_the_highest_level():
    old = evidence(PROFICIENT, days_ago=50)
    new = evidence(PROFICIENT, days_ago=2, source=EvidenceSource.INSTRUCTOR, note="Observed")
    assert deciding_evidence([old, new, evidence(AWARE, days_ago=1)], NOW) == new


def test_current_level_refuses_mixed_competencies():
    with pytest.raises(CompetencyError, match="several competencies"):
        current_level([evidence(AWARE, competency="A"), evidence(AWARE, competency="B")], NOW)


def test_current_levels_per_competency():
    rows = [
        evidence(AWARE, competency="A"),
        evidence(EXPERT, competency="A", days_ago=3),
        evidence(PRACTITIONER, competency="B"),
        evidence(EXPERT, competency="C", revoked=True),
    ]
    assert current_levels(rows, NOW) == {"A": EXPERT, "B": PRACTITIONER}


# --- recent evidence ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2025, 6, 15, tzinfo=UTC), 6, datetime(2024, 12, 15, tzinfo=UTC)),
        (datetime(2025, 3, 31, tzinfo=UTC), 1, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 1, 10, tzinfo=UTC), 13, datetime(2023, 12, 10, tzinfo=UTC)),
        (datetime(2025, 1, 10, tzinfo=UTC), 0, datetime(2025, 1, 10, tzinfo=UTC)),
    ],
)
def test_months_before(moment, months, expected):
    assert months_before(moment, months) == expected


def test_months_before_refuses_negative():
    with pytest.raises(ValueError, match="negative"):
        months_before(NOW, -1)


def test_evidence_newer_than_counts_valid_rows_in_the_window_newest_first():
    recent = evidence(PRACTITIONER, days_ago=20)
    newest = evidence(AWARE, days_ago=2)
    rows = [
        evidence(EXPERT, days_ago=200),  # too old for 6 months
        recent,
        newest,
        evidence(EXPERT, days_ago=5, revoked=True),
        evidence(EXPERT, days_ago=5, superseded_by=1),
    ]
    assert evidence_newer_than(rows, 6, NOW) == [newest, recent]
    assert evidence_newer_than(rows, 0, NOW) == []
    assert len(evidence_newer_than(rows, 12, NOW)) == 3


def test_evidence_newer_than_boundary_is_exclusive():
    cutoff = months_before(NOW, 6)
    at_cutoff = Evidence(1, "c", AWARE, EvidenceSource.ASSESSMENT, cutoff)
    after = Evidence(2, "c", AWARE, EvidenceSource.ASSESSMENT, cutoff + timedelta(seconds=1))
    assert evidence_newer_than([at_cutoff, after], 6, NOW) == [after]


# --- instructor notes -----------------------------------------------------------------------


def test_evidence_note():
    assert validate_evidence_note("  Led the sensor pilot  ") == "Led the sensor pilot"
    for bad in ("", "   ", None):
        with pytest.raises(CompetencyError, match="note"):
            validate_evidence_note(bad)
    with pytest.raises(CompetencyError, match="too long"):
        validate_evidence_note("x" * 2001)
