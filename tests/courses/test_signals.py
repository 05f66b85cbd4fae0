"""Signal receivers keep their invariants in any process, not only one that loaded the pages."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import certificates, courses
courses.connect_signals()
certificates.connect_signals()
courses.connect_signals()  # twice, as every app the factory builds does
from courses.assessments.grades import grade_changed
from courses.enrolment.operations import lesson_progress_changed
from courses.operations import lesson_publication_changed
def names(signal):
    return sorted(f"{r.__module__}.{r.__name__}" for r in signal.receivers_for(object()))
print(json.dumps({
    "grade": names(grade_changed),
    "progress": names(lesson_progress_changed),
    "publication": names(lesson_publication_changed),
    "views": sorted(m for m in sys.modules if m.endswith(".views")),
}))
"""


def test_receivers_are_connected_without_any_page_module():
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    found = json.loads(out)
    assert found["grade"] == [
        "certificates.operations.review.on_grade_changed",
        "courses.competencies.operations.on_grade_changed",
        "courses.gradebook.operations.on_grade_changed",
    ]
    assert found["progress"] == ["courses.gradebook.operations.on_lesson_progress_changed"]
    assert found["publication"] == ["courses.gradebook.operations.on_lesson_publication_changed"]
    assert found["views"] == []  # nothing above came from a module of pages
