"""Gradebook rules: categories, drop-lowest, missing work, overrides, late policy, completion."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from courses.assessments.grading_rules import (
    Category,
    CompletionResult,
    GradebookError,
    GradeItem,
    InvalidOverride,
    ItemStatus,
    LateOutcome,
    LatePolicy,
    LateRule,
    Override,
    Progress,
    apply_late_penalty,
    completion,
    course_grade,
    days_late,
    late_outcome,
    passes,
    validate_override,
    validate_pass_mark,
)

D = Decimal
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PAST = NOW - timedelta(days=1)
FUTURE = NOW + timedelta(days=1)

QUIZZES = Category("quizzes", D(30), drop_lowest=1)
ASSIGNMENTS = Category("assignments", D(50))
EXAM = Category("exam", D(20))


def item(key, category="quizzes", score=None, max_points="10", **kwargs):
    return GradeItem(key, category, D(max_points), None if score is None else D(score), **kwargs)


def grade(items, categories=(QUIZZES, ASSIGNMENTS, EXAM), **kwargs):
    return course_grade(list(categories), items, NOW, **kwargs)


def statuses(result, category):
    found = next(c for c in result.categories if c.key == category)
    return {i.key: i.status for i in found.items}


# --- weighted categories --------------------------------------------------------------------


def test_weighted_mean_of_category_percentages():
    result = grade(
        [
            item("q1", score="8"),
            item("q2", score="6"),
            item("q3", score="10"),  # drop lowest: q2 goes, quizzes = 90
            item("a1", "assignments", score="35", max_points="50"),  # 70
            item("e1", "exam", score="60", max_points="100"),  # 60
        ]
    )
    # (30*90 + 50*70 + 20*60) / 100
    assert result.computed == D("74.00")
    assert result.grade == D("74.00")
    by_key = {c.key: c.percentage for c in result.categories}
    assert by_key == {"quizzes": D("90.00"), "assignments": D("70.00"), "exam": D("60.00")}
    assert statuses(result, "quizzes") == {
        "q1": ItemStatus.GRADED,
        "q2": ItemStatus.DROPPED,
        "q3": ItemStatus.GRADED,
    }


def test_items_weigh_the_same_inside_a_category_whatever_their_points():
    result = grade(
        [
            item("a1", "assignments", score="10", max_points="10"),  # 100
            item("a2", "assignments", score="0", max_points="90"),  # 0
        ],
        categories=[ASSIGNMENTS],
    )
    assert result.computed == D("50.00")


def test_weights_renormalise_over_categories_with_counted_items():
    result = grade(
        [
            item("a1", "assignments", score="40", max_points="50"),  # 80
            item("e1", "exam", score="50", max_points="100"),  # 50
            item("q1", due_at=FUTURE),  # pending: quizzes do not count yet
        ]
    )
    # (50*80 + 20*50) / 70
    assert result.computed == D("71.43")
    quizzes = next(c for c in result.categories if c.key == "quizzes")
    assert quizzes.percentage is None


def test_no_counted_item_gives_no_grade():
    assert grade([item("q1", due_at=FUTURE), item("q2")]).computed is None
    assert grade([]).grade is None


def test_categories_with_zero_weight_do_not_count():
    zero = Category("practice", D(0))
    result = grade([item("p1", "practice", score="0")], categories=[zero, EXAM])
    assert result.computed is None
    result = grade(
        [item("p1", "practice", score="0"), item("e1", "exam", score="7")],
        categories=[zero, EXAM],
    )
    assert result.computed == D("70.00")


def test_rounding_is_half_up_to_two_places():
    result = grade(
        [
            item("a", "exam", score="1", max_points="3"),
            item("b", "exam", score="2", max_points="3"),
        ],
        categories=[Category("exam", D(1))],
    )
    assert result.computed == D("50.00")
    result = grade(
        [item("a", "exam", score="2", max_points="3")], categories=[Category("exam", D(1))]
    )
    assert result.computed == D("66.67")
    result = grade(
        [item("a", "exam", score="66.665", max_points="100")], categories=[Category("exam", 1)]
    )
    assert result.computed == D("66.67")


# --- missing, excused, pending --------------------------------------------------------------


def test_missing_counts_as_zero_after_due_date_and_is_excluded_before():
    cats = [Category("exam", D(1))]
    before = grade([item("e1", "exam", score="8"), item("e2", "exam", due_at=FUTURE)], cats)
    assert before.computed == D("80.00")
    assert statuses(before, "exam")["e2"] == ItemStatus.PENDING
    after = grade([item("e1", "exam", score="8"), item("e2", "exam", due_at=PAST)], cats)
    assert after.computed == D("40.00")
    assert statuses(after, "exam")["e2"] == ItemStatus.MISSING


def test_due_exactly_now_is_not_yet_missing():
    cats = [Category("exam", D(1))]
    result = grade([item("e1", "exam", score="8"), item("e2", "exam", due_at=NOW)], cats)
    assert result.computed == D("80.00")


def test_excused_never_counts():
    cats = [Category("exam", D(1))]
    result = grade(
        [
            item("e1", "exam", score="8"),
            item("e2", "exam", due_at=PAST, excused=True),
            item("e3", "exam", score="0", excused=True),
        ],
        cats,
    )
    assert result.computed == D("80.00")
    assert statuses(result, "exam")["e2"] == ItemStatus.EXCUSED
    assert statuses(result, "exam")["e3"] == ItemStatus.EXCUSED


def test_item_without_due_date_and_score_is_pending():
    result = grade([item("q1"), item("q2", score="5")], categories=[QUIZZES])
    assert result.computed == D("50.00")
    assert statuses(result, "quizzes")["q1"] == ItemStatus.PENDING


# --- drop lowest ----------------------------------------------------------------------------


def test_drop_lowest_drops_missing_work_first():
    cats = [Category("quizzes", D(1), drop_lowest=1)]
    result = grade([item("q1", score="9"), item("q2", due_at=PAST), item("q3", score="7")], cats)
    assert result.computed == D("80.00")
    assert statuses(result, "quizzes")["q2"] == ItemStatus.DROPPED


def test_drop_lowest_never_empties_a_category():
    cats = [Category("quizzes", D(1), drop_lowest=5)]
    result = grade([item("q1", score="3"), item("q2", score="6")], cats)
    assert result.computed == D("60.00")
    result = grade([item("q1", score="3")], cats)
    assert result.computed == D("30.00")
    assert statuses(result, "quizzes") == {"q1": ItemStatus.GRADED}


def test_drop_lowest_ignores_pending_and_excused_items():
    cats = [Category("quizzes", D(1), drop_lowest=2)]
    result = grade(
        [
            item("q1", score="4"),
            item("q2", score="8"),
            item("q3", due_at=FUTURE),
            item("q4", score="0", excused=True),
        ],
        cats,
    )
    assert result.computed == D("80.00")
    assert statuses(result, "quizzes") == {
        "q1": ItemStatus.DROPPED,
        "q2": ItemStatus.GRADED,
        "q3": ItemStatus.PENDING,
        "q4": ItemStatus.EXCUSED,
    }


def test_drop_lowest_applies_to_percentages_not_points():
    cats = [Category("quizzes", D(1), drop_lowest=1)]
    # q1: 5/100 = 5 %, q2: 1/2 = 50 %: q1 is dropped though it has more points.
    result = grade(
        [item("q1", score="5", max_points="100"), item("q2", score="1", max_points="2")], cats
    )
    assert result.computed == D("50.00")


def test_drop_lowest_ties_break_by_key():
    cats = [Category("quizzes", D(1), drop_lowest=1)]
    result = grade([item("q2", score="5"), item("q1", score="5"), item("q3", score="9")], cats)
    assert statuses(result, "quizzes")["q1"] == ItemStatus.DROPPED
    assert statuses(result, "quizzes")["q2"] == ItemStatus.GRADED


# --- validation of definitions --------------------------------------------------------------


def test_definitions_are_validated():
    with pytest.raises(GradebookError, match="negative"):
        Category("x", D(-1))
    with pytest.raises(GradebookError, match="drop_lowest"):
        Category("x", D(1), drop_lowest=-1)
    with pytest.raises(GradebookError, match="finite"):
        Category("x", D("NaN"))
    with pytest.raises(GradebookError, match="Decimal"):
        Category("x", 0.3)
    with pytest.raises(GradebookError, match="positive"):
        item("i", max_points="0")
    with pytest.raises(GradebookError, match="between 0 and 10"):
        item("i", score="11")
    with pytest.raises(GradebookError, match="between 0 and 10"):
        item("i", score="-1")
    with pytest.raises(ValueError, match="timezone-aware"):
        item("i", due_at=datetime(2025, 1, 1))
    with pytest.raises(GradebookError, match="unknown category"):
        grade([item("i", "nope", score="1")])
    with pytest.raises(GradebookError, match="twice"):
        grade([item("i", score="1"), item("i", score="2")])
    with pytest.raises(GradebookError, match="unique"):
        course_grade([QUIZZES, QUIZZES], [], NOW)


# --- override and pass mark -----------------------------------------------------------------


def test_override_replaces_the_grade_and_keeps_the_computed_one():
    override = validate_override("95", "Oral re-examination on 3 June")
    result = grade([item("e1", "exam", score="5")], override=override)
    assert result.grade == D("95.00")
    assert result.computed == D("50.00")
    assert result.override.reason == "Oral re-examination on 3 June"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", "0.00"), ("100", "100.00"), ("72,5", "72.50"), (D("88.25"), "88.25"), (60, "60.00")],
)
def test_validate_override_accepts(value, expected):
    assert validate_override(value, "  appeal upheld  ") == Override(D(expected), "appeal upheld")


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        ("101", "ok", "between 0 and 100"),
        ("-0.01", "ok", "between 0 and 100"),
        ("abc", "ok", "as a number"),
        ("NaN", "ok", "as a number"),
        ("Infinity", "ok", "as a number"),
        ("", "ok", "as a number"),
        (None, "ok", "as a number"),
        (50.5, "ok", "as a number"),
        ("50.555", "ok", "two decimal places"),
        ("50", "", "reason"),
        ("50", "   ", "reason"),
        ("50", None, "reason"),
        ("50", "x" * 501, "too long"),
    ],
)
def test_validate_override_rejects_with_a_clear_message(value, reason, message):
    with pytest.raises(InvalidOverride, match=message) as err:
        validate_override(value, reason)
    assert err.value.message


def test_pass_mark():
    assert validate_pass_mark("50") == D(50)
    for bad in ("-1", "100.5", "x", None):
        with pytest.raises(GradebookError, match="pass mark"):
            validate_pass_mark(bad)
    assert passes(D("50.00"), D(50))
    assert not passes(D("49.99"), D(50))
    assert not passes(None, D(0))


# --- late policy ----------------------------------------------------------------------------

DUE = datetime(2025, 5, 1, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delay", "days"),
    [
        (timedelta(seconds=-1), 0),
        (timedelta(0), 0),
        (timedelta(seconds=1), 1),
        (timedelta(days=1), 1),
        (timedelta(days=1, seconds=1), 2),
        (timedelta(days=6, hours=23), 7),
    ],
)
def test_days_late_counts_started_days(delay, days):
    assert days_late(DUE + delay, DUE) == days


def test_days_late_without_due_date():
    assert days_late(DUE, None) == 0


def test_accept_policy_keeps_score():
    outcome = late_outcome(LateRule(LatePolicy.ACCEPT), DUE + timedelta(days=3), DUE)
    assert outcome == LateOutcome(True, 3, D(0))
    assert apply_late_penalty(D("8"), outcome) == D("8.00")


def test_penalise_policy_per_started_day_floored_at_zero():
    rule = LateRule(LatePolicy.PENALISE, D(10))
    on_time = late_outcome(rule, DUE, DUE)
    assert apply_late_penalty(D("80"), on_time) == D("80.00")
    two_days = late_outcome(rule, DUE + timedelta(hours=25), DUE)
    assert two_days.penalty_percent == D(20)
    assert apply_late_penalty(D("80"), two_days) == D("64.00")
    very_late = late_outcome(rule, DUE + timedelta(days=30), DUE)
    assert very_late.penalty_percent == D(100)
    assert apply_late_penalty(D("80"), very_late) == D("0.00")


def test_penalty_rounds_half_up():
    outcome = late_outcome(LateRule(LatePolicy.PENALISE, D("12.5")), DUE + timedelta(hours=1), DUE)
    assert apply_late_penalty(D("7.3"), outcome) == D("6.39")  # 6.3875


def test_refuse_policy():
    rule = LateRule(LatePolicy.REFUSE)
    assert late_outcome(rule, DUE, DUE).accepted
    late = late_outcome(rule, DUE + timedelta(seconds=1), DUE)
    assert not late.accepted
    with pytest.raises(GradebookError, match="not accepted"):
        apply_late_penalty(D("5"), late)


def test_late_rule_is_validated():
    with pytest.raises(GradebookError, match="between 0 and 100"):
        LateRule(LatePolicy.PENALISE, D(101))
    with pytest.raises(GradebookError, match="above 0"):
        LateRule(LatePolicy.PENALISE, D(0))
    with pytest.raises(ValueError, match="'later'"):
        LateRule("later")


# --- completion -----------------------------------------------------------------------------


def test_completion_when_every_rule_holds():
    assert completion(True, True, D("75.00"), D(60)) == CompletionResult(True, [])
    assert completion(Progress(5, 5), Progress(2, 2), D("60.00"), D(60)).complete
    assert completion(True, True, None, None).complete


def test_completion_reasons_list_every_failing_rule():
    result = completion(Progress(3, 5), Progress(1, 2), D("59.99"), D(60))
    assert not result.complete
    assert result.reasons == [
        "3 of 5 required lessons done.",
        "1 of 2 required assessments passed.",
        "The course grade 59.99 is below the pass mark 60.",
    ]


def test_completion_reasons_with_booleans_and_no_grade():
    result = completion(False, False, None, D(50))
    assert result.reasons == [
        "Not all required lessons are done.",
        "Not all required assessments are passed.",
        "There is no course grade yet.",
    ]


# --- properties -----------------------------------------------------------------------------

CATEGORY_KEYS = ("c1", "c2", "c3")


@st.composite
def gradebooks(draw):
    categories = [
        Category(
            key,
            draw(st.decimals(min_value=0, max_value=100, places=2)),
            drop_lowest=draw(st.integers(0, 3)),
        )
        for key in CATEGORY_KEYS
    ]
    items = []
    for index in range(draw(st.integers(1, 10))):
        max_points = draw(st.decimals(min_value="0.5", max_value=200, places=2))
        kind = draw(st.sampled_from(["scored", "scored", "missing", "pending", "excused"]))
        score = None
        if kind in ("scored", "excused"):
            score = draw(st.decimals(min_value=0, max_value=max_points, places=2))
        items.append(
            GradeItem(
                f"i{index}",
                draw(st.sampled_from(CATEGORY_KEYS)),
                max_points,
                score,
                due_at=PAST if kind == "missing" else FUTURE,
                excused=kind == "excused",
            )
        )
    return categories, items


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


@PROPERTY_SETTINGS
@given(gradebooks())
def test_property_grade_is_within_0_and_100(book):
    categories, items = book
    result = course_grade(categories, items, NOW)
    if result.computed is not None:
        assert D(0) <= result.computed <= D(100)
    for category in result.categories:
        counted = [i for i in category.items if i.counted]
        if any(i.status is ItemStatus.DROPPED for i in category.items):
            assert counted, "drop-lowest emptied a category"
        if category.percentage is not None:
            assert D(0) <= category.percentage <= D(100)


@PROPERTY_SETTINGS
@given(gradebooks(), st.data())
def test_property_grade_is_monotonic_in_item_scores(book, data):
    categories, items = book
    # Items that already count: scored, or missing (0) after the due date.
    raisable = [
        index
        for index, it in enumerate(items)
        if not it.excused and (it.score is not None or it.due_at == PAST)
    ]
    assume(raisable)
    index = data.draw(st.sampled_from(raisable))
    old = items[index]
    floor = old.score if old.score is not None else D(0)
    new_score = data.draw(st.decimals(min_value=floor, max_value=old.max_points, places=2))
    raised = [*items[:index], replace(old, score=new_score), *items[index + 1 :]]
    before = course_grade(categories, items, NOW).computed
    after = course_grade(categories, raised, NOW).computed
    if before is not None:
        assert after is not None
        assert after >= before


@PROPERTY_SETTINGS
@given(gradebooks(), st.decimals(min_value="0.001", max_value=1000, places=3))
def test_property_scaling_all_weights_changes_nothing(book, factor):
    categories, items = book
    scaled = [replace(c, weight=c.weight * factor) for c in categories]
    assert (
        course_grade(scaled, items, NOW).computed == course_grade(categories, items, NOW).computed
    )
