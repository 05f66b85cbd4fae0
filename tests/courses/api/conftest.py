"""A course world for the API tests: staff, trainees, a cohort, a quiz, an assignment, tokens."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lms.models import Role
from tests.api_helpers import bearer, make_token
from tests.courses.assignments.conftest import make_assignment  # noqa: F401 - fixture
from tests.courses.quizzes.conftest import make_question, make_quiz  # noqa: F401 - fixtures


@pytest.fixture
def token_for(db):
    """Return Bearer headers for ``user`` with ``scopes``: ``token_for(user, "learn")``."""

    def make(user, *scopes: str) -> dict:
        secret = make_token(user, scopes=scopes or ("read",))
        db.session.commit()
        return bearer(secret)

    return make


@pytest.fixture
def world(
    db,
    make_user,
    make_course,
    make_module,
    make_lesson,
    make_cohort,
    make_enrolment,
    make_question,  # noqa: F811
    make_quiz,  # noqa: F811
    make_assignment,  # noqa: F811
):
    """A published course taught by an instructor, with two enrolled trainees and an outsider."""
    w = SimpleNamespace()
    w.instructor = make_user(roles=[Role.INSTRUCTOR], name="Anna Instructor")
    w.other_instructor = make_user(roles=[Role.INSTRUCTOR], name="Boris Elsewhere")
    w.trainee = make_user(roles=[Role.TRAINEE], name="Мария Иванова", email="maria@example.org")
    w.classmate = make_user(roles=[Role.TRAINEE], name="Georgi Petrov")
    w.outsider = make_user(roles=[Role.TRAINEE], name="Not Enrolled", email="out@example.org")
    w.certifier = make_user(roles=[Role.CERTIFIER], name="Petya Certifier")
    w.admin = make_user(roles=[Role.ADMIN], name="Admin Person")
    w.course = make_course(code="API-101", instructors=[w.instructor])
    w.other_course = make_course(code="API-999", instructors=[w.other_instructor])
    module = make_module(w.course, title_en="Basics")
    w.lessons = [make_lesson(module, title_en="Why data"), make_lesson(module, title_en="Sensors")]
    w.cohort = make_cohort(w.course, name="Sofia A")
    w.other_cohort = make_cohort(w.other_course, name="Elsewhere")
    w.enrolment = make_enrolment(w.cohort, w.trainee)
    w.classmate_enrolment = make_enrolment(w.cohort, w.classmate)
    w.question = make_question(w.course, "single")
    w.tf = make_question(w.course, "true_false")
    w.quiz = make_quiz(w.course, questions=[w.question, w.tf], attempt_limit=2)
    w.assignment = make_assignment(w.course)
    return w


def correct_option(question) -> str:
    return str(next(o.id for o in question.options if o.correct))
