"""Report pages read a fixed number of queries, however many trainees the centre has."""

from __future__ import annotations

import pytest

from lms.models import Role
from tests.conftest import count_queries

PAGES = [
    "/reports/",
    "/reports/enrolments",
    "/reports/progress",
    "/reports/results",
    "/reports/competencies?from=2026-05-01",
    "/reports/certification",
    "/reports/enrolments.xlsx",
    "/reports/funder.pdf?lang=en",
]


def _counts(app, client, course_id: int) -> dict[str, int]:
    counts = {}
    for url in [*PAGES, f"/reports/progress?course={course_id}"]:
        key = url.replace(str(course_id), "<course>")
        with count_queries(app) as counter:
            assert client.get(url).status_code == 200
        counts[key] = counter.count
    return counts


@pytest.mark.parametrize("role", [Role.MANAGER])
def test_query_count_does_not_grow_with_the_centre(app, client, login_as, make_history, role):
    login_as(role)
    small = make_history(size=8, seed=5)
    before = _counts(app, client, small.courses[0].id)
    make_history(size=40, seed=6)
    after = _counts(app, client, small.courses[0].id)
    assert after == before
    assert max(before.values()) <= 25
