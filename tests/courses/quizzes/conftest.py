"""Factories for quizzes: bank questions of each kind, quizzes, and a ready course."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import Question, Quiz
from courses.assessments.scoring import QuestionKind
from courses.models import Cohort, Course
from lms.models import Role, User


def question_data(kind: str, **overrides) -> ops.QuestionData:
    """Return a valid question of ``kind`` about smart cities; ``overrides`` replace fields."""
    kind = QuestionKind(kind)
    base = {
        QuestionKind.SINGLE: {
            "text_en": "Which layer carries sensor readings to the platform?",
            "options": [
                ops.OptionData("Connectivity", correct=True),
                ops.OptionData("Governance"),
                ops.OptionData("Procurement"),
            ],
        },
        QuestionKind.MULTIPLE: {
            "text_en": "Which are open-data formats?",
            "options": [
                ops.OptionData("CSV", correct=True),
                ops.OptionData("GeoJSON", correct=True),
                ops.OptionData("Scanned PDF"),
                ops.OptionData("Fax"),
            ],
        },
        QuestionKind.TRUE_FALSE: {
            "text_en": "A smart city is defined by its technology alone.",
            "truth": False,
        },
        QuestionKind.NUMERIC: {
            "text_en": "A 12 kWh battery at 80% charge holds how many kWh?",
            "value": Decimal("9.6"),
            "tolerance": Decimal("0.1"),
        },
        QuestionKind.SHORT: {
            "text_en": "Name the EU mission for climate-neutral cities (one word).",
            "accepted": ["NetZeroCities", "Net Zero Cities"],
        },
    }[kind]
    base.update(overrides)
    return ops.QuestionData(kind=kind, **base)


_authors = itertools.count(1)


def _author(course: Course) -> User:
    """Who sets up the course's quizzes: its first instructor, or else a new admin."""
    if course.instructors:
        return course.instructors[0]
    from lms.auth.operations import create_user

    n = next(_authors)
    return create_user(
        email=f"quiz.author{n}@example.org",
        name=f"Quiz Author {n}",
        password=None,
        roles=[Role.ADMIN],
    )


@pytest.fixture
def make_question(db):
    """Add a question to ``course``'s bank: ``make_question(course, "numeric", points=2)``."""

    def make(course: Course, kind: str = "single", *, actor=None, **overrides) -> Question:
        if "points" in overrides:
            overrides["points"] = Decimal(str(overrides["points"]))
        actor = actor or _author(course)
        question = ops.create_question(course, question_data(kind, **overrides), actor=actor)
        db.session.commit()
        return question

    return make


@pytest.fixture
def make_quiz(db):
    """Create a quiz: ``make_quiz(course, questions=[q1, q2], attempt_limit=2, published=True)``."""

    def make(
        course: Course, *, questions=(), published: bool = True, actor=None, **settings
    ) -> Quiz:
        settings.setdefault("title_en", "Smart-city basics check")
        actor = actor or _author(course)
        quiz = ops.create_quiz(course, ops.QuizSettings(**settings), actor=actor)
        ops.set_questions(quiz, [q.id for q in questions], actor=actor)
        if published:
            ops.set_published(quiz, True, actor=actor)
        db.session.commit()
        return quiz

    return make


@dataclass
class World:
    course: Course
    cohort: Cohort
    instructor: User
    trainee: User
    questions: dict[str, Question]
    quiz: Quiz


@pytest.fixture
def world(db, make_user, make_course, make_cohort, make_enrolment, make_question, make_quiz):
    """A published course taught by an instructor, an enrolled trainee and a quiz of each kind."""
    instructor = make_user(roles=[Role.INSTRUCTOR], name="Anna Instructor")
    trainee = make_user(roles=[Role.TRAINEE], name="Maria Trainee")
    course = make_course(code="QZ-1", instructors=[instructor])
    cohort = make_cohort(course)
    make_enrolment(cohort, trainee)
    questions = {kind.value: make_question(course, kind) for kind in QuestionKind}
    quiz = make_quiz(course, questions=list(questions.values()), attempt_limit=3)
    return World(course, cohort, instructor, trainee, questions, quiz)


def correct_responses(world: World) -> dict[int, object]:
    """Return a full-marks response for each question of the world's quiz, by question id."""
    q = world.questions
    return {
        q["single"].id: str(next(o.id for o in q["single"].options if o.correct)),
        q["multiple"].id: [str(o.id) for o in q["multiple"].options if o.correct],
        q["true_false"].id: "false",
        q["numeric"].id: "9,65",
        q["short"].id: "  net  ZERO cities ",
    }
