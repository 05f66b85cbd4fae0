"""Every report figure agrees with the same figure recomputed in plain Python from the rows."""

from __future__ import annotations

from datetime import date

import pytest

from reports import queries
from reports.filters import Filters
from tests.reports import recompute

FILTERS = {
    "all": lambda h: Filters(),
    "dates": lambda h: Filters(date_from=date(2026, 4, 15), date_to=date(2026, 8, 31)),
    "programme": lambda h: Filters(programme_id=h.programme.id),
    "course": lambda h: Filters(course_id=h.courses[0].id),
    "cohort": lambda h: Filters(cohort_id=h.cohorts[1].id, date_to=date(2026, 9, 30)),
    "course and dates": lambda h: Filters(
        course_id=h.courses[1].id, date_from=date(2026, 5, 1), date_to=date(2026, 12, 31)
    ),
}


@pytest.fixture(params=[(60, 7), (25, 3)], ids=["60 trainees", "25 trainees"])
def history(request, make_history):
    size, seed = request.param
    return make_history(size=size, seed=seed)


def _check(report, expected: dict[str, list[list]]) -> None:
    for key, rows in expected.items():
        actual = recompute.plain(report.table(key))
        assert recompute.same(actual, rows), f"{report.key}.{key}:\n{actual}\n!=\n{rows}"


@pytest.mark.parametrize("which", FILTERS)
def test_every_report_agrees(app, history, which):
    f = FILTERS[which](history)
    enrolments = queries.enrolments(f)
    _check(enrolments, recompute.enrolments(f))
    assert enrolments.table("by_month").rows  # the data set has enrolments in every filter
    expected = recompute.progress(f)
    _check(queries.progress(f), expected)
    assert ("lessons" in expected) == (f.course_id is not None)
    _check(queries.results(f), recompute.results(f))
    _check(queries.certification(f), recompute.certification(f))
    headline = queries.overview(f).table("headline")
    assert [row[1] for row in recompute.plain(headline)] == recompute.overview(f)
    if f.date_to is None:  # levels "now": pin the end so both sides use the same moment
        f = Filters(**{**f.__dict__, "date_to": date(2026, 12, 31)})
    _check(queries.competencies(f), recompute.competencies(f))


def test_the_large_history_shows_unsuppressed_figures(app, make_history):
    """The comparison above is not only between "< 5" cells: most groups are shown."""
    make_history(size=60, seed=7)
    report = queries.enrolments(Filters())
    totals = report.table("by_month").column("total")
    assert sum(isinstance(v, int) and v >= 5 for v in totals) >= 3
    gains = queries.competencies(Filters(date_to=date(2026, 12, 31))).table("gains")
    assert any(isinstance(v, int) and v >= 5 for v in gains.column("assessed"))
