"""Load the course a request names and check who may use it, in one call, for pages and API.

One draft policy everywhere: a course the user may not see (a draft, for anyone
but its staff) answers 404, exactly as a code that does not exist, so no route
tells a trainee that a draft course is there; a visible course that the user
may not use answers 403.
"""

from __future__ import annotations

from flask import abort

from courses import queries
from courses.enrolment.queries import can_study
from courses.models import Course
from courses.permissions import can_manage_course, can_view_course
from lms.permissions import require


def visible_course(code: str, user, *, contents: bool = False) -> Course:
    """Return the course with ``code`` if ``user`` may see it; 404 otherwise.

    ``contents`` loads its instructors, outcomes, modules and lessons with it.
    """
    course = queries.course_with_contents(code) if contents else queries.course_by_code(code)
    if course is None or not can_view_course(user, course):
        abort(404)
    return course


def staff_course(code: str, user, *, contents: bool = False) -> Course:
    """Return a course ``user`` teaches or administers: 404 if unseen, 403 if only seen."""
    course = visible_course(code, user, contents=contents)
    require(can_manage_course(user, course))
    return course


def study_course(code: str, user) -> Course:
    """Return a course ``user`` may study (its staff, or an actively enrolled trainee)."""
    course = visible_course(code, user)
    require(can_study(user, course))
    return course
