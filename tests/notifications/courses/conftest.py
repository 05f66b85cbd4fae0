"""The assignment fixtures of the course tests, for notifications about assignments."""

from tests.courses.assignments.conftest import levels, make_assignment, world  # noqa: F401
from tests.courses.conftest import (  # noqa: F401
    make_cohort,
    make_course,
    make_enrolment,
)
