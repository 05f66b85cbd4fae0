"""Reads across the kinds of assessment: a course's quizzes and assignments together."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from courses.assessments.assignments.models import Assignment
from courses.assessments.models import Assessment
from courses.assessments.quizzes.models import Quiz
from courses.models import Course
from lms.db import request_memo
from lms.extensions import db


def quizzes_and_assignments(
    course: Course, *, published_only: bool
) -> tuple[list[Quiz], list[Assignment]]:
    """The course's quizzes and its assignments in gradebook order, with their assessments.

    One query for both, asked once in a request that only reads: the course page
    shows each in its own section.
    """
    memo = request_memo("quizzes_and_assignments")
    key = (course.id, published_only)
    if memo is not None and key in memo:
        return memo[key]
    query = (
        sa.select(Assessment, Quiz, Assignment)
        .outerjoin(Quiz, Quiz.assessment_id == Assessment.id)
        .outerjoin(Assignment, Assignment.assessment_id == Assessment.id)
        .where(
            Assessment.course_id == course.id,
            sa.or_(Quiz.id.is_not(None), Assignment.id.is_not(None)),
        )
        .order_by(Assessment.position, Assessment.id)
    )
    if published_only:
        query = query.where(Assessment.published.is_(True))
    quizzes: list[Quiz] = []
    assignments: list[Assignment] = []
    for assessment, quiz, assignment in db.session.execute(query):
        item = quiz if quiz is not None else assignment
        set_committed_value(item, "assessment", assessment)  # loaded, as by contains_eager
        (quizzes if quiz is not None else assignments).append(item)
    found = (quizzes, assignments)
    if memo is not None:
        memo[key] = found
    return found
