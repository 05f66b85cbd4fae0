"""The integer course grade equals the former ``fractions.Fraction`` one, rounding included.

``reference_course_grade`` is the computation the gradebook used before it moved
to integer arithmetic, kept here word for word as the definition of the right
answer; 10,000 seeded random gradebooks must give identical results.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from courses.assessments.grading_rules import (
    Category,
    CategoryResult,
    CourseGrade,
    GradeItem,
    ItemResult,
    ItemStatus,
    Override,
    course_grade,
    reaches_percent,
)
from courses.assessments.scoring import round_half_up

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _item_fraction(item: GradeItem, now: datetime) -> tuple[ItemStatus, Fraction | None]:
    if item.excused:
        return ItemStatus.EXCUSED, None
    if item.score is not None:
        return ItemStatus.GRADED, Fraction(item.score) * 100 / Fraction(item.max_points)
    if item.due_at is not None and now > item.due_at:
        return ItemStatus.MISSING, Fraction(0)
    return ItemStatus.PENDING, None


def _category(
    category: Category, items: Sequence[GradeItem], now: datetime
) -> tuple[CategoryResult, Fraction | None]:
    judged = [(item, *_item_fraction(item, now)) for item in items]
    counted = sorted(
        ((fraction, item.key) for item, status, fraction in judged if fraction is not None),
    )
    drop = min(category.drop_lowest, max(len(counted) - 1, 0))
    dropped = {key for _fraction, key in counted[:drop]}
    kept = [fraction for fraction, _key in counted[drop:]]
    results = []
    for item, status, fraction in judged:
        shown = None if fraction is None else round_half_up(fraction)
        results.append(
            ItemResult(item.key, ItemStatus.DROPPED if item.key in dropped else status, shown)
        )
    mean = sum(kept, Fraction(0)) / len(kept) if kept else None
    shown_mean = None if mean is None else round_half_up(mean)
    return CategoryResult(category.key, category.weight, shown_mean, tuple(results)), mean


def reference_course_grade(
    categories: Sequence[Category],
    items: Iterable[GradeItem],
    now: datetime,
    override: Override | None = None,
) -> CourseGrade:
    grouped: dict[str, list[GradeItem]] = {category.key: [] for category in categories}
    for item in items:
        grouped[item.category].append(item)
    results = []
    weighted = Fraction(0)
    total_weight = Fraction(0)
    for category in categories:
        result, mean = _category(category, grouped[category.key], now)
        results.append(result)
        if mean is not None:
            weighted += Fraction(category.weight) * mean
            total_weight += Fraction(category.weight)
    computed = round_half_up(weighted / total_weight) if total_weight else None
    grade = override.value if override is not None else computed
    return CourseGrade(grade, computed, override, tuple(results))


def _decimal(rng: random.Random, low: int, high: int, places: int) -> Decimal:
    """A random Decimal from low to high with exactly ``places`` decimal places."""
    return Decimal(rng.randint(low * 10**places, high * 10**places)).scaleb(-places)


def random_gradebook(rng: random.Random) -> tuple[list[Category], list[GradeItem]]:
    """Categories and items shaped like real courses, with ties, zeros and odd precisions."""
    categories = [
        Category(
            f"c{n}",
            rng.choice((Decimal(0), _decimal(rng, 0, 100, rng.choice((0, 0, 1, 2, 3))))),
            drop_lowest=rng.choice((0, 0, 1, 2, 5)),
        )
        for n in range(rng.randint(1, 4))
    ]
    items = []
    for n in range(rng.randint(0, 14)):
        places = rng.choice((0, 0, 1, 2, 2, 3))
        max_points = max(_decimal(rng, 0, rng.choice((3, 10, 20, 100, 999)), places), Decimal(1))
        score = None
        if rng.random() < 0.75:
            score = rng.choice(
                (
                    max_points,
                    Decimal(0),
                    max_points / 2,
                    min(_decimal(rng, 0, int(max_points) + 1, rng.choice((0, 2, 4))), max_points),
                )
            )
        items.append(
            GradeItem(
                key=f"i{n}",
                category=rng.choice(categories).key,
                max_points=max_points,
                score=score,
                due_at=rng.choice((None, NOW - timedelta(days=1), NOW + timedelta(days=1))),
                excused=rng.random() < 0.1,
            )
        )
    return categories, items


def _shape(result: CourseGrade) -> tuple:
    """Every value of a result, Decimals as their text, so 75.0 and 75.00 differ."""
    text = lambda value: None if value is None else str(value)  # noqa: E731
    return (
        text(result.grade),
        text(result.computed),
        result.override,
        [
            (
                c.key,
                text(c.weight),
                text(c.percentage),
                [(i.key, i.status, text(i.percentage)) for i in c.items],
            )
            for c in result.categories
        ],
    )


def test_integer_grades_equal_the_fraction_reference_on_10000_gradebooks():
    rng = random.Random(20261207)
    graded = 0
    for _ in range(10_000):
        categories, items = random_gradebook(rng)
        override = Override(Decimal("55.50"), "oral resit") if rng.random() < 0.05 else None
        expected = reference_course_grade(categories, items, NOW, override)
        assert _shape(course_grade(categories, items, NOW, override)) == _shape(expected)
        graded += expected.computed is not None
    assert graded > 5_000  # most random gradebooks have a grade to compare


def test_halves_round_up_exactly_as_before():
    # 2/3 of 1 point is 66.666..%, 1/8 is 12.5%; a half cent rounds up: 0.125 -> 0.13.
    categories = [Category("a", Decimal(1)), Category("b", Decimal(3))]
    items = [
        GradeItem("x", "a", Decimal(3), Decimal(2)),
        GradeItem("y", "b", Decimal(800), Decimal(1)),
    ]
    expected = reference_course_grade(categories, items, NOW)
    result = course_grade(categories, items, NOW)
    assert _shape(result) == _shape(expected)
    assert result.computed == Decimal("16.76")  # (66.666... * 1 + 0.125 * 3) / 4
    assert result.categories[1].percentage == Decimal("0.13")


def test_reaching_a_pass_percentage_is_decided_exactly():
    rng = random.Random(7)
    for _ in range(2_000):
        max_points = max(_decimal(rng, 0, 100, rng.choice((0, 2))), Decimal(1))
        points = min(_decimal(rng, 0, int(max_points) + 1, rng.choice((0, 2, 3))), max_points)
        percent = _decimal(rng, 0, 100, rng.choice((0, 1, 2)))
        expected = Fraction(points) * 100 / Fraction(max_points) >= Fraction(percent)
        assert reaches_percent(points, max_points, percent) is expected
    # 2 of 3 is 66.666...%: below 66.67, above 66.66.
    assert not reaches_percent(Decimal(2), Decimal(3), Decimal("66.67"))
    assert reaches_percent(Decimal(2), Decimal(3), Decimal("66.66"))
