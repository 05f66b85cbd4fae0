"""Course grade, pass mark, overrides, late penalties and completion as pure rules.

The rules, in the order they apply:

Items
    Each gradebook item (a quiz, an assignment) belongs to one category and has
    a maximum of points, an optional score and an optional due date. Its
    percentage is ``score / max_points * 100``.

    - scored: counts with its percentage, whatever the date;
    - excused: never counts (neither as 0 nor as its score);
    - no score, due date passed (``now > due_at``): *missing*, counts as 0;
    - no score, not yet due or no due date: *pending*, excluded.

Drop lowest
    A category may drop its ``N`` lowest counted percentages (missing items
    included, so a missed quiz is the first to go). It never drops so many that
    the category is left empty: at most ``count - 1`` items are dropped. Ties are
    broken by item key so the choice is stable.

Category percentage
    The plain mean of the kept items' percentages (each item weighs the same
    within its category, whatever its points).

Course grade
    The weighted mean of the category percentages over the categories that have
    at least one counted item, the weights renormalised over those categories.
    Scaling every weight by the same factor changes nothing. When no category
    counts (or their weights sum to 0) there is no grade (``None``).

Override
    A manual override replaces the computed grade; it needs a value from 0 to
    100 and a non-empty reason. The computed grade is kept beside it.

Rounding
    Everything is computed exactly and rounded once for display, ROUND_HALF_UP
    to 2 places. Pass/fail compares the rounded grade, the number the trainee
    sees. The arithmetic is on integers: every Decimal is an exact ratio of two
    integers, and the percentages of a category are put over their least common
    denominator, so comparing (for drop-lowest) and summing them is plain
    integer work; this gives the same numbers as ``fractions.Fraction`` at a
    fraction of the cost, which matters on a page of hundreds of trainees.

Late policy
    accept: late work is graded as is. penalise: the score is reduced by
    ``percent_per_day`` percent of itself for every started day late (one
    second late is one day), floored at 0. refuse: late work is not accepted.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _

from courses.assessments.scoring import round_half_up
from lms.exceptions import UserError

#: Longest reason accepted for a manual override (match the column length).
MAX_REASON_LENGTH = 500
HUNDRED = Decimal(100)


class GradebookError(UserError, ValueError):
    """A gradebook definition or value that the rules cannot use; ``message`` says why."""


class InvalidOverride(GradebookError):
    """A manual override that is out of range or has no reason."""


class LatePolicy(enum.StrEnum):
    ACCEPT = "accept"
    PENALISE = "penalise"
    REFUSE = "refuse"


class ItemStatus(enum.StrEnum):
    GRADED = "graded"
    MISSING = "missing"
    DROPPED = "dropped"
    EXCUSED = "excused"
    PENDING = "pending"


def _finite(value: Any, what: str) -> Decimal:
    if isinstance(value, bool | float):
        raise GradebookError(f"{what} must be a Decimal or an int, not {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise GradebookError(f"{what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise GradebookError(f"{what} must be finite")
    return number


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class Category:
    """A gradebook category: its weight and how many lowest items it drops."""

    key: str
    weight: Decimal
    drop_lowest: int = 0

    def __post_init__(self) -> None:
        weight = _finite(self.weight, f"weight of {self.key}")
        if weight < 0:
            raise GradebookError(f"weight of {self.key} cannot be negative")
        object.__setattr__(self, "weight", weight)
        if isinstance(self.drop_lowest, bool) or self.drop_lowest < 0:
            raise GradebookError(f"drop_lowest of {self.key} must be 0 or more")


@dataclass(frozen=True)
class GradeItem:
    """One assessment's result for one trainee, as the gradebook sees it."""

    key: str
    category: str
    max_points: Decimal
    score: Decimal | None = None
    due_at: datetime | None = None
    excused: bool = False
    # The exact percentage of a scored item, and its rounded value: computed once here
    # because a gradebook shares one item between every trainee with the same score.
    _percent: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)
    _shown: Decimal | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        max_points = _finite(self.max_points, f"max_points of {self.key}")
        if max_points <= 0:
            raise GradebookError(f"max_points of {self.key} must be positive")
        object.__setattr__(self, "max_points", max_points)
        if self.score is not None:
            score = _finite(self.score, f"score of {self.key}")
            if not 0 <= score <= max_points:
                raise GradebookError(f"score of {self.key} must be between 0 and {max_points}")
            object.__setattr__(self, "score", score)
        if self.due_at is not None:
            _require_aware(self.due_at, "due_at")
        if self.score is not None and not self.excused:
            score_n, score_d = self.score.as_integer_ratio()
            max_n, max_d = max_points.as_integer_ratio()
            ratio = (score_n * 100 * max_d, score_d * max_n)
            object.__setattr__(self, "_percent", ratio)
            object.__setattr__(self, "_shown", _round_ratio(*ratio))

    def _judge(self, now: datetime) -> tuple[ItemStatus, tuple[int, int] | None]:
        """Return the item's status and exact percentage as (numerator, denominator)."""
        if self.excused:
            return ItemStatus.EXCUSED, None
        if self._percent is not None:
            return ItemStatus.GRADED, self._percent
        if self.due_at is not None and now > self.due_at:
            return ItemStatus.MISSING, _ZERO
        return ItemStatus.PENDING, None


#: A percentage of 0 as (numerator, denominator), and as shown.
_ZERO = (0, 1)
_SHOWN_ZERO = Decimal("0.00")
_CENT = Decimal("0.01")


def _round_ratio(numerator: int, denominator: int) -> Decimal:
    """Round ``numerator / denominator`` (not negative) to 2 places, halves up, exactly.

    The same result as ``scoring.round_half_up`` of the same fraction.
    """
    cents = (200 * numerator + denominator) // (2 * denominator)
    return Decimal(cents).scaleb(-2).quantize(_CENT)


@dataclass(frozen=True)
class ItemResult:
    key: str
    status: ItemStatus
    percentage: Decimal | None

    @property
    def counted(self) -> bool:
        """Return whether the item is part of its category's percentage."""
        return self.status in (ItemStatus.GRADED, ItemStatus.MISSING)


@dataclass(frozen=True)
class CategoryResult:
    key: str
    weight: Decimal
    percentage: Decimal | None
    items: tuple[ItemResult, ...]


@dataclass(frozen=True)
class Override:
    value: Decimal
    reason: str


@dataclass(frozen=True)
class CourseGrade:
    """The course grade shown (override first), the computed one, and the breakdown."""

    grade: Decimal | None
    computed: Decimal | None
    override: Override | None
    categories: tuple[CategoryResult, ...]


def _category(
    category: Category, items: Sequence[GradeItem], now: datetime
) -> tuple[CategoryResult, tuple[int, int] | None]:
    """Return a category's result and its exact mean as (numerator, denominator), or None."""
    judged = [(item, *item._judge(now)) for item in items]
    ratios = [ratio for _item, _status, ratio in judged if ratio is not None]
    common = math.lcm(*(denominator for _numerator, denominator in ratios)) if ratios else 1
    counted = sorted(
        (ratio[0] * (common // ratio[1]), item.key)
        for item, _status, ratio in judged
        if ratio is not None
    )
    drop = min(category.drop_lowest, max(len(counted) - 1, 0))
    dropped = {key for _scaled, key in counted[:drop]}
    kept = [scaled for scaled, _key in counted[drop:]]
    results = []
    for item, status, ratio in judged:
        if ratio is None:
            shown = None
        else:
            shown = _SHOWN_ZERO if status is ItemStatus.MISSING else item._shown
        results.append(
            ItemResult(item.key, ItemStatus.DROPPED if item.key in dropped else status, shown)
        )
    mean = (sum(kept), len(kept) * common) if kept else None
    shown_mean = None if mean is None else _round_ratio(*mean)
    return CategoryResult(category.key, category.weight, shown_mean, tuple(results)), mean


def course_grade(
    categories: Sequence[Category],
    items: Iterable[GradeItem],
    now: datetime,
    override: Override | None = None,
) -> CourseGrade:
    """Compute a trainee's course grade by the rules in the module docstring."""
    _require_aware(now, "now")
    by_key = {category.key: category for category in categories}
    if len(by_key) != len(categories):
        raise GradebookError("category keys must be unique")
    grouped: dict[str, list[GradeItem]] = {key: [] for key in by_key}
    seen: set[str] = set()
    for item in items:
        if item.category not in by_key:
            raise GradebookError(f"item {item.key} is in unknown category {item.category}")
        if item.key in seen:
            raise GradebookError(f"item {item.key} appears twice")
        seen.add(item.key)
        grouped[item.category].append(item)

    results = []
    counted: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (weight, mean) ratios
    for category in categories:
        result, mean = _category(category, grouped[category.key], now)
        results.append(result)
        if mean is not None:
            counted.append((category.weight.as_integer_ratio(), mean))
    computed = _weighted_mean(counted)
    grade = override.value if override is not None else computed
    return CourseGrade(grade, computed, override, tuple(results))


def _weighted_mean(counted: list[tuple[tuple[int, int], tuple[int, int]]]) -> Decimal | None:
    """Return the rounded weighted mean of exact (weight, mean) ratios; None when weights sum to 0.

    Weights go over their common denominator (scaling every weight alike changes
    nothing), then the means over theirs, so the sums are of integers.
    """
    if not counted:
        return None
    weight_common = math.lcm(*(weight_d for (_weight_n, weight_d), _mean in counted))
    weights = [weight_n * (weight_common // weight_d) for (weight_n, weight_d), _mean in counted]
    total_weight = sum(weights)
    if not total_weight:
        return None
    mean_common = math.lcm(*(mean_d for _weight, (_mean_n, mean_d) in counted))
    weighted = sum(
        weight * mean_n * (mean_common // mean_d)
        for weight, (_weight, (mean_n, mean_d)) in zip(weights, counted, strict=True)
    )
    return _round_ratio(weighted, mean_common * total_weight)


def _parse_value(value: Any) -> Decimal | None:
    if isinstance(value, bool | float):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def validate_override(value: Any, reason: Any) -> Override:
    """Check a manual grade override and return it, or raise InvalidOverride saying why."""
    number = _parse_value(value)
    if number is None:
        raise InvalidOverride(_("Enter the grade as a number from 0 to 100."))
    if not 0 <= number <= HUNDRED:
        raise InvalidOverride(_("The grade must be between 0 and 100."))
    if number != number.quantize(Decimal("0.01")):
        raise InvalidOverride(_("Use at most two decimal places."))
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidOverride(_("Give a reason for the override."))
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidOverride(
            _("The reason is too long (at most %(n)s characters).", n=MAX_REASON_LENGTH)
        )
    return Override(number.quantize(Decimal("0.01")), text)


def validate_pass_mark(value: Any) -> Decimal:
    """Check a pass mark (0 to 100) and return it, or raise GradebookError saying why."""
    number = _parse_value(value)
    if number is None or not 0 <= number <= HUNDRED:
        raise GradebookError(_("The pass mark must be a number from 0 to 100."))
    return number


def reaches_percent(points: Decimal, max_points: Decimal, percent: Decimal) -> bool:
    """Return whether ``points`` of ``max_points`` are at least ``percent`` per cent, exactly."""
    points_n, points_d = Decimal(points).as_integer_ratio()
    max_n, max_d = Decimal(max_points).as_integer_ratio()
    percent_n, percent_d = Decimal(percent).as_integer_ratio()
    # points / max * 100 >= percent, with every denominator (and max) positive.
    return points_n * 100 * max_d * percent_d >= percent_n * points_d * max_n


def passes(grade: Decimal | None, pass_mark: Decimal) -> bool:
    """Return whether a grade reaches the pass mark (no grade never passes)."""
    return grade is not None and grade >= pass_mark


# --- late work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LateRule:
    """How an assignment treats late work: accept, penalise per started day, or refuse."""

    policy: LatePolicy = LatePolicy.ACCEPT
    percent_per_day: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", LatePolicy(self.policy))
        percent = _finite(self.percent_per_day, "percent_per_day")
        if not 0 <= percent <= HUNDRED:
            raise GradebookError(_("The late penalty must be between 0 and 100 per cent per day."))
        if self.policy is LatePolicy.PENALISE and percent == 0:
            raise GradebookError(_("A late penalty needs a percentage per day above 0."))
        object.__setattr__(self, "percent_per_day", percent)


@dataclass(frozen=True)
class LateOutcome:
    accepted: bool
    days_late: int
    penalty_percent: Decimal


def days_late(submitted_at: datetime, due_at: datetime | None) -> int:
    """Return the number of started days after the due date (0 when on time)."""
    _require_aware(submitted_at, "submitted_at")
    if due_at is None:
        return 0
    _require_aware(due_at, "due_at")
    late = submitted_at - due_at
    if late <= timedelta(0):
        return 0
    return math.ceil(late / timedelta(days=1))


def late_outcome(rule: LateRule, submitted_at: datetime, due_at: datetime | None) -> LateOutcome:
    """Decide whether a submission is accepted and what percentage of its score it loses."""
    days = days_late(submitted_at, due_at)
    if days == 0 or rule.policy is LatePolicy.ACCEPT:
        return LateOutcome(True, days, Decimal(0))
    if rule.policy is LatePolicy.REFUSE:
        return LateOutcome(False, days, Decimal(0))
    return LateOutcome(True, days, min(rule.percent_per_day * days, HUNDRED))


def apply_late_penalty(score: Decimal, outcome: LateOutcome) -> Decimal:
    """Return the score after the outcome's penalty, rounded, never below 0."""
    if not outcome.accepted:
        raise GradebookError(_("Late submissions are not accepted for this assignment."))
    kept = (HUNDRED - outcome.penalty_percent) / HUNDRED
    return round_half_up(max(Fraction(score) * Fraction(kept), Fraction(0)))


# --- completion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How many of the required things are done."""

    done: int
    required: int

    @property
    def complete(self) -> bool:
        """Return whether everything required is done."""
        return self.done >= self.required


@dataclass(frozen=True)
class CompletionResult:
    complete: bool
    reasons: list[str]


def completion(
    required_lessons_done: bool | Progress,
    required_assessments_passed: bool | Progress,
    course_grade: Decimal | None,
    pass_mark: Decimal | None,
) -> CompletionResult:
    """Decide course completion; reasons list every rule that does not hold yet.

    With no pass mark the course grade is not a condition.
    """
    reasons = []
    lessons = required_lessons_done
    if isinstance(lessons, Progress) and not lessons.complete:
        reasons.append(
            _(
                "%(done)s of %(required)s required lessons done.",
                done=lessons.done,
                required=lessons.required,
            )
        )
    elif lessons is False:
        reasons.append(_("Not all required lessons are done."))
    assessments = required_assessments_passed
    if isinstance(assessments, Progress) and not assessments.complete:
        reasons.append(
            _(
                "%(done)s of %(required)s required assessments passed.",
                done=assessments.done,
                required=assessments.required,
            )
        )
    elif assessments is False:
        reasons.append(_("Not all required assessments are passed."))
    if pass_mark is not None:
        if course_grade is None:
            reasons.append(_("There is no course grade yet."))
        elif not passes(course_grade, pass_mark):
            reasons.append(
                _(
                    "The course grade %(grade)s is below the pass mark %(pass_mark)s.",
                    grade=course_grade,
                    pass_mark=pass_mark,
                )
            )
    return CompletionResult(not reasons, reasons)
