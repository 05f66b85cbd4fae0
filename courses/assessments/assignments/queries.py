"""Assignment reads: a course's assignments, a trainee's submissions and the grading queue.

The grading queue runs a fixed number of queries whatever the class size: one
count, one page of latest submissions with their trainees and assignments, one
for the page's grades and one for the page's cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from courses.assessments.assignments.models import (
    Assignment,
    CriterionMark,
    MarkingStatus,
    RubricCriterion,
    Submission,
    SubmissionStatus,
)
from courses.assessments.models import Assessment, AssessmentKind, Grade
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from lms.extensions import db
from lms.models import User
from lms.paging import paginate

STATUS_FILTERS = ("", "ungraded", "graded", "released")
SORTS = {
    "submitted": (Submission.submitted_at, Submission.id),
    "-submitted": (Submission.submitted_at.desc(), Submission.id.desc()),
    "name": (User.name, Submission.id),
    "late": (Submission.days_late.desc(), Submission.submitted_at, Submission.id),
}


def _with_rubric():
    return selectinload(Assignment.criteria).selectinload(RubricCriterion.levels)


def assignment_or_404(course: Course, assessment_id: int) -> Assignment:
    """Load the assignment behind ``assessment_id`` of ``course`` with its rubric, or 404."""
    assignment = db.session.scalar(
        sa.select(Assignment)
        .join(Assignment.assessment)
        .options(contains_eager(Assignment.assessment), _with_rubric())
        .where(
            Assessment.id == assessment_id,
            Assessment.course_id == course.id,
            Assessment.kind == AssessmentKind.ASSIGNMENT,
        )
    )
    if assignment is None:
        abort(404)
    return assignment


def course_assignments(course: Course, *, published_only: bool) -> list[Assignment]:
    """The course's assignments in gradebook order."""
    query = (
        sa.select(Assignment)
        .join(Assignment.assessment)
        .options(contains_eager(Assignment.assessment))
        .where(Assessment.course_id == course.id)
        .order_by(Assessment.position, Assessment.id)
    )
    if published_only:
        query = query.where(Assessment.published.is_(True))
    return list(db.session.scalars(query))


def _latest_only(query):
    """Keep the newest attempt of each trainee at each assignment."""
    newer = aliased(Submission)
    return query.where(
        ~sa.exists().where(
            newer.assignment_id == Submission.assignment_id,
            newer.user_id == Submission.user_id,
            newer.attempt > Submission.attempt,
        )
    )


def my_submissions(assignment: Assignment, user: User) -> list[Submission]:
    """Every attempt of ``user``, newest first, with files and marks."""
    return list(
        db.session.scalars(
            sa.select(Submission)
            .options(
                selectinload(Submission.files),
                selectinload(Submission.marks).joinedload(CriterionMark.level),
            )
            .where(Submission.assignment_id == assignment.id, Submission.user_id == user.id)
            .order_by(Submission.attempt.desc())
        )
    )


def submission_or_404(assignment: Assignment, submission_id: int) -> Submission:
    submission = db.session.scalar(
        sa.select(Submission)
        .options(
            joinedload(Submission.user),
            selectinload(Submission.files),
            selectinload(Submission.marks),
        )
        .where(Submission.id == submission_id, Submission.assignment_id == assignment.id)
    )
    if submission is None:
        abort(404)
    return submission


def course_cohorts(course: Course) -> list[Cohort]:
    return list(
        db.session.scalars(
            sa.select(Cohort).where(Cohort.course_id == course.id).order_by(Cohort.starts_on)
        )
    )


@dataclass
class QueueFilters:
    assignment_id: int | None = None
    status: str = ""
    late: bool = False
    cohort_id: int | None = None
    sort: str = "submitted"

    def __post_init__(self) -> None:
        if self.status not in STATUS_FILTERS:
            self.status = ""
        if self.sort not in SORTS:
            self.sort = "submitted"

    def args(self) -> dict:
        """Return the filters as query-string arguments (empty ones left out)."""
        values = {
            "assignment": self.assignment_id,
            "status": self.status,
            "late": "1" if self.late else "",
            "cohort": self.cohort_id,
            "sort": self.sort if self.sort != "submitted" else "",
        }
        return {k: v for k, v in values.items() if v}


def _queue_select(course: Course, filters: QueueFilters, *columns):
    query = (
        sa.select(*(columns or (Submission,)))
        .select_from(Submission)
        .join(Submission.assignment)
        .join(Assignment.assessment)
        .join(Submission.user)
        .where(Assessment.course_id == course.id)
    )
    query = _latest_only(query)
    if filters.assignment_id:
        query = query.where(Assessment.id == filters.assignment_id)
    if filters.status == "ungraded":
        query = query.where(Submission.status == SubmissionStatus.SUBMITTED)
    elif filters.status == "graded":
        query = query.where(
            Submission.status == SubmissionStatus.GRADED,
            Submission.marking_status == MarkingStatus.DRAFT,
        )
    elif filters.status == "released":
        query = query.where(Submission.marking_status == MarkingStatus.RELEASED)
    if filters.late:
        query = query.where(Submission.days_late > 0)
    if filters.cohort_id:
        query = query.where(
            sa.exists().where(
                Enrolment.user_id == Submission.user_id,
                Enrolment.cohort_id == filters.cohort_id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
        )
    return query.order_by(*SORTS[filters.sort])


@dataclass
class QueuePage:
    pagination: object
    grades: dict[tuple[int, int], Grade] = field(default_factory=dict)
    cohorts: dict[int, list[str]] = field(default_factory=dict)

    def grade_of(self, submission: Submission) -> Grade | None:
        return self.grades.get((submission.assignment.assessment_id, submission.user_id))


def grading_queue(
    course: Course, filters: QueueFilters, *, page: int = 1, per_page: int = 20
) -> QueuePage:
    """One page of the latest submissions to mark, with grades and cohort names: 4 queries."""
    query = _queue_select(course, filters).options(
        contains_eager(Submission.user),
        contains_eager(Submission.assignment).contains_eager(Assignment.assessment),
    )
    pagination = paginate(query, page=page, per_page=per_page)
    items = list(pagination.items)
    result = QueuePage(pagination)
    if not items:
        return result
    user_ids = {s.user_id for s in items}
    assessment_ids = {s.assignment.assessment_id for s in items}
    for grade in db.session.scalars(
        sa.select(Grade).where(Grade.user_id.in_(user_ids), Grade.assessment_id.in_(assessment_ids))
    ):
        result.grades[(grade.assessment_id, grade.user_id)] = grade
    rows = db.session.execute(
        sa.select(Enrolment.user_id, Cohort)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(
            Cohort.course_id == course.id,
            Enrolment.user_id.in_(user_ids),
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
        .order_by(Cohort.starts_on, Cohort.id)
    )
    for user_id, cohort in rows:
        result.cohorts.setdefault(user_id, []).append(cohort.tr("name"))
    return result


@dataclass
class Neighbours:
    previous: int | None
    next: int | None
    position: int | None
    total: int


def neighbours(course: Course, filters: QueueFilters, submission: Submission) -> Neighbours:
    """Where ``submission`` stands in the filtered queue, and the ones before and after it."""
    ids = list(db.session.scalars(_queue_select(course, filters, Submission.id)))
    try:
        index = ids.index(submission.id)
    except ValueError:
        # Not in this view (e.g. just graded under "ungraded"): the first one left is next.
        return Neighbours(None, ids[0] if ids else None, None, len(ids))
    return Neighbours(
        ids[index - 1] if index > 0 else None,
        ids[index + 1] if index + 1 < len(ids) else None,
        index + 1,
        len(ids),
    )


def counts(assignment: Assignment) -> dict[str, int]:
    """Latest submissions of an assignment by marking state."""
    query = _latest_only(
        sa.select(Submission.status, Submission.marking_status, sa.func.count()).where(
            Submission.assignment_id == assignment.id
        )
    ).group_by(Submission.status, Submission.marking_status)
    result = {"submitted": 0, "graded": 0, "released": 0}
    for status, marking, number in db.session.execute(query):
        if status == SubmissionStatus.SUBMITTED:
            result["submitted"] += number
        elif marking == MarkingStatus.RELEASED:
            result["released"] += number
        else:
            result["graded"] += number
    return result
