"""The pure eligibility rule: each requirement met or not, with an explanation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from certificates.eligibility import (
    COMPETENCY,
    COURSE,
    EXAM,
    CourseRecord,
    ExamRecord,
    LevelRecord,
    Requirement,
    TraineeRecord,
    evaluate,
    exam_renewed,
)

COURSE_REQ = Requirement(COURSE, 1, "SC-PM-101", min_grade=Decimal(60))
COMP_REQ = Requirement(COMPETENCY, 7, "E.2", min_level=3)
EXAM_REQ = Requirement(EXAM, 9, "Final exam", min_grade=Decimal(70))
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_all_met_is_eligible_with_explanations():
    record = TraineeRecord(
        courses={1: CourseRecord(True, Decimal("78.00"), T0)},
        levels={7: LevelRecord(3, "Proficient")},
        exams={9: ExamRecord(Decimal("85.5"), T0)},
    )
    result = evaluate([COURSE_REQ, COMP_REQ, EXAM_REQ], record)
    assert result.eligible
    assert [r.explanation for r in result.results] == [
        "Course SC-PM-101 completed with 78 ≥ 60",
        "Competency E.2 at level 3 ≥ 3",
        "Exam Final exam passed with 85.5% ≥ 70%",
    ]
    assert result.met_count == 3


def test_unmet_requirements_are_explained():
    record = TraineeRecord(
        courses={1: CourseRecord(True, Decimal(55), T0)},
        levels={7: LevelRecord(2)},
        exams={9: ExamRecord(Decimal(40), T0)},
    )
    result = evaluate([COURSE_REQ, COMP_REQ, EXAM_REQ], record)
    assert not result.eligible
    assert [r.explanation for r in result.unmet] == [
        "Course SC-PM-101 completed with 55 < 60",
        "Competency E.2 at level 2 < 3",
        "Exam Final exam: 40% < 70%",
    ]


def test_missing_data():
    result = evaluate([COURSE_REQ, COMP_REQ, EXAM_REQ], TraineeRecord())
    assert [r.met for r in result.results] == [False, False, False]
    assert result.results[0].explanation == "Course SC-PM-101 not completed yet"
    assert result.results[1].explanation == "Competency E.2: no evidence yet; level 3 needed"
    assert result.results[2].explanation == "Exam Final exam: no released result yet"


def test_incomplete_course_with_good_grade_is_not_met():
    record = TraineeRecord(courses={1: CourseRecord(False, Decimal(99))})
    assert not evaluate([COURSE_REQ], record).eligible


def test_course_without_minimum_and_without_grade():
    req = Requirement(COURSE, 1, "SC-101")
    assert evaluate([req], TraineeRecord(courses={1: CourseRecord(True)})).eligible
    record = TraineeRecord(courses={1: CourseRecord(True)})
    result = evaluate([COURSE_REQ], record)
    assert result.results[0].explanation == "Course SC-PM-101 completed without a grade; 60 needed"


def test_boundary_values_count_as_met():
    record = TraineeRecord(
        courses={1: CourseRecord(True, Decimal("60.00"))}, exams={9: ExamRecord(Decimal(70))}
    )
    assert evaluate([COURSE_REQ, EXAM_REQ], record).eligible


def test_no_requirements_is_not_eligible():
    assert not evaluate([], TraineeRecord()).eligible


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown requirement kind"):
        evaluate([Requirement("magic", 1, "x")], TraineeRecord())


def test_explanations_are_translated(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("bg"):
        text = evaluate([COURSE_REQ], TraineeRecord()).results[0].explanation
    assert "SC-PM-101" in text


def test_exam_renewal_needs_a_pass_after_the_date():
    later = datetime(2026, 1, 1, tzinfo=UTC)
    passed_late = TraineeRecord(exams={9: ExamRecord(Decimal(80), later)})
    passed_early = TraineeRecord(exams={9: ExamRecord(Decimal(80), T0)})
    failed_late = TraineeRecord(exams={9: ExamRecord(Decimal(10), later)})
    since = datetime(2025, 6, 1, tzinfo=UTC)
    assert exam_renewed([EXAM_REQ], passed_late, since)
    assert not exam_renewed([EXAM_REQ], passed_early, since)
    assert not exam_renewed([EXAM_REQ], failed_late, since)
    assert not exam_renewed([COURSE_REQ], passed_late, since)
