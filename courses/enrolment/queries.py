"""Enrolment reads: rosters, waiting-list positions, progress and the dashboard.

Each function runs a fixed number of queries whatever the number of trainees,
cohorts or courses involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import aliased, contains_eager, joinedload, load_only

from courses.gradebook.models import CourseCompletion
from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Module,
)
from courses.permissions import can_manage_course, can_view_course
from lms.db import request_memo
from lms.extensions import db
from lms.models import User


def cohort_or_404(course: Course, cohort_id: int) -> Cohort:
    cohort = db.get_or_404(Cohort, cohort_id)
    if cohort.course_id != course.id:
        abort(404)
    return cohort


def _count(status: EnrolmentStatus):
    return sa.func.coalesce(sa.func.sum(sa.case((Enrolment.status == status, 1), else_=0)), 0)


@dataclass
class CohortSummary:
    cohort: Cohort
    active: int
    waitlisted: int
    withdrawn: int

    @property
    def full(self) -> bool:
        return self.cohort.capacity is not None and self.active >= self.cohort.capacity

    @property
    def free(self) -> int | None:
        if self.cohort.capacity is None:
            return None
        return max(self.cohort.capacity - self.active, 0)


def _summaries(course: Course):
    return (
        sa.select(
            Cohort,
            _count(EnrolmentStatus.ACTIVE),
            _count(EnrolmentStatus.WAITLISTED),
            _count(EnrolmentStatus.WITHDRAWN),
        )
        .outerjoin(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Cohort.course_id == course.id)
        .group_by(Cohort.id)
        .order_by(Cohort.starts_on, Cohort.id)
    )


def cohort_summaries(course: Course) -> list[CohortSummary]:
    """Cohorts of ``course`` with their counts of active, waitlisted and withdrawn enrolments."""
    rows = db.session.execute(_summaries(course)).all()
    return [CohortSummary(cohort, int(a), int(w), int(x)) for cohort, a, w, x in rows]


def summaries_with_enrolment(
    course: Course, user: User
) -> list[tuple[CohortSummary, Enrolment | None]]:
    """Each cohort's summary with ``user``'s enrolment in it, if any (one query)."""
    mine = aliased(Enrolment)
    rows = db.session.execute(
        _summaries(course)
        .add_columns(mine)
        .outerjoin(mine, sa.and_(mine.cohort_id == Cohort.id, mine.user_id == user.id))
        .group_by(mine.id)
    ).all()
    return [
        (CohortSummary(cohort, int(a), int(w), int(x)), enrolment)
        for cohort, a, w, x, enrolment in rows
    ]


@dataclass
class Roster:
    active: list[Enrolment] = field(default_factory=list)
    waitlisted: list[Enrolment] = field(default_factory=list)  # in promotion order
    withdrawn: list[Enrolment] = field(default_factory=list)


def roster(cohort: Cohort) -> Roster:
    """Everyone enrolled in ``cohort``, grouped by status; the waiting list in order."""
    result = Roster()
    enrolments = db.session.scalars(
        sa.select(Enrolment)
        .join(Enrolment.user)
        .options(contains_eager(Enrolment.user), joinedload(Enrolment.enrolled_by))
        .where(Enrolment.cohort_id == cohort.id)
        .order_by(Enrolment.queued_at, Enrolment.id)
    )
    for enrolment in enrolments:
        getattr(result, str(enrolment.status)).append(enrolment)
    result.active.sort(key=lambda e: (e.user.name.casefold(), e.id))
    result.withdrawn.sort(key=lambda e: (e.user.name.casefold(), e.id))
    return result


def waitlist_positions(user: User, cohort_ids) -> dict[int, int]:
    """Position (1 = next) of ``user`` on the waiting list of each of ``cohort_ids``."""
    ranked = (
        sa.select(
            Enrolment.cohort_id,
            Enrolment.user_id,
            sa.func.row_number()
            .over(
                partition_by=Enrolment.cohort_id,
                order_by=(Enrolment.queued_at, Enrolment.id),
            )
            .label("position"),
        )
        .where(
            Enrolment.status == EnrolmentStatus.WAITLISTED,
            Enrolment.cohort_id.in_(list(cohort_ids)),
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked.c.cohort_id, ranked.c.position).where(ranked.c.user_id == user.id)
    ).all()
    return dict(rows)


def has_active_enrolment(user: User, course: Course) -> bool:
    """Return whether ``user`` holds an active place in a cohort of ``course``."""
    if not user.is_authenticated:
        return False
    known = request_memo("active_members")
    if known is not None and (user.id, course.id) in known:
        return known[user.id, course.id]
    active = (
        db.session.scalar(
            sa.select(Enrolment.id)
            .join(Enrolment.cohort)
            .where(
                Cohort.course_id == course.id,
                Enrolment.user_id == user.id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
            )
            .limit(1)
        )
        is not None
    )
    if known is not None:
        known[user.id, course.id] = active
    return active


def can_study(user, course: Course) -> bool:
    """Course staff, and trainees with an active enrolment in a visible course."""
    if not user.is_authenticated:
        return False
    if can_manage_course(user, course):
        return True
    return (
        course.state != CourseState.DRAFT
        and can_view_course(user, course)
        and has_active_enrolment(user, course)
    )


def _lesson_outline(*, drafts: bool = False):
    """Lessons with what navigation needs, in course order; published ones unless ``drafts``."""
    query = (
        sa.select(Lesson, Module.course_id)
        .join(Lesson.module)
        .options(
            load_only(
                Lesson.id,
                Lesson.module_id,
                Lesson.position,
                Lesson.title_en,
                Lesson.title_bg,
                Lesson.required,
                Lesson.published,
            )
        )
        .order_by(Module.course_id, Module.position, Lesson.position)
    )
    return query if drafts else query.where(Lesson.published.is_(True))


def course_outline(course: Course, *, drafts: bool = False) -> list[Lesson]:
    """Lessons of ``course`` in study order (modules by position, then lessons).

    Draft lessons are left out unless ``drafts`` (the course's staff previewing).
    """
    query = _lesson_outline(drafts=drafts).where(Module.course_id == course.id)
    return list(db.session.scalars(query))


def done_lesson_ids(user: User, lesson_ids) -> set[int]:
    ids = list(lesson_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(LessonProgress.lesson_id).where(
                LessonProgress.user_id == user.id, LessonProgress.lesson_id.in_(ids)
            )
        )
    )


@dataclass
class CourseProgress:
    """A trainee's progress in one course: required lessons done out of all required."""

    enrolment: Enrolment
    done: int = 0
    total: int = 0
    next_lesson: Lesson | None = None
    finished: bool = False
    position: int | None = None  # on the waiting list
    # The recorded course completion (kept once reached), as certification reads it.
    completed: bool = False

    @property
    def cohort(self) -> Cohort:
        return self.enrolment.cohort

    @property
    def course(self) -> Course:
        return self.enrolment.cohort.course

    @property
    def percent(self) -> int:
        return percent(self.done, self.total)


def percent(done: int, total: int) -> int:
    if total <= 0:
        return 0
    return done * 100 // total


@dataclass
class Dashboard:
    current: list[CourseProgress]
    waiting: list[CourseProgress]


def dashboard(user: User) -> Dashboard:
    """The trainee's current courses with progress, and their waiting-list places."""
    enrolments = list(
        db.session.scalars(
            sa.select(Enrolment)
            .join(Enrolment.cohort)
            .join(Cohort.course)
            .options(contains_eager(Enrolment.cohort).contains_eager(Cohort.course))
            .where(
                Enrolment.user_id == user.id,
                Enrolment.status.in_([EnrolmentStatus.ACTIVE, EnrolmentStatus.WAITLISTED]),
                Course.state != CourseState.DRAFT,
            )
            .order_by(Cohort.starts_on, Course.code, Cohort.id)
        )
    )
    current = [CourseProgress(e) for e in enrolments if e.status == EnrolmentStatus.ACTIVE]
    waiting = [CourseProgress(e) for e in enrolments if e.status == EnrolmentStatus.WAITLISTED]

    if current:
        course_ids = {p.course.id for p in current}
        lessons_by_course: dict[int, list[Lesson]] = {}
        for lesson, course_id in db.session.execute(
            _lesson_outline().where(Module.course_id.in_(course_ids))
        ):
            lessons_by_course.setdefault(course_id, []).append(lesson)
        done = set(
            db.session.scalars(
                sa.select(LessonProgress.lesson_id)
                .join(Lesson, Lesson.id == LessonProgress.lesson_id)
                .join(Lesson.module)
                .where(LessonProgress.user_id == user.id, Module.course_id.in_(course_ids))
            )
        )
        completed = set(
            db.session.scalars(
                sa.select(CourseCompletion.course_id).where(
                    CourseCompletion.user_id == user.id,
                    CourseCompletion.course_id.in_(course_ids),
                    CourseCompletion.completed.is_(True),
                )
            )
        )
        for progress in current:
            progress.completed = progress.course.id in completed
            lessons = lessons_by_course.get(progress.course.id, [])
            required = [lesson for lesson in lessons if lesson.required]
            progress.total = len(required)
            progress.done = sum(1 for lesson in required if lesson.id in done)
            progress.next_lesson = next((ls for ls in lessons if ls.id not in done), None)
            progress.finished = bool(lessons) and progress.next_lesson is None
            if progress.next_lesson is None and lessons:
                progress.next_lesson = lessons[0]
    if waiting:
        positions = waitlist_positions(user, [p.cohort.id for p in waiting])
        for progress in waiting:
            progress.position = positions.get(progress.cohort.id)
    return Dashboard(current=current, waiting=waiting)


@dataclass
class TraineeProgress:
    enrolment: Enrolment
    done: int
    total: int

    @property
    def percent(self) -> int:
        return percent(self.done, self.total)


def cohort_progress(cohort: Cohort) -> list[TraineeProgress]:
    """Active trainees of ``cohort`` with their required lessons done, by name."""
    enrolments = list(
        db.session.scalars(
            sa.select(Enrolment)
            .join(Enrolment.user)
            .options(contains_eager(Enrolment.user))
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .order_by(User.name, Enrolment.id)
        )
    )
    required = (
        sa.select(Lesson.id)
        .join(Lesson.module)
        .where(
            Module.course_id == cohort.course_id,
            Lesson.required.is_(True),
            Lesson.published.is_(True),
        )
    )
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(required.subquery())
    ).scalar_one()
    members = sa.select(Enrolment.user_id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE
    )
    done = dict(
        db.session.execute(
            sa.select(LessonProgress.user_id, sa.func.count(LessonProgress.id))
            .where(LessonProgress.lesson_id.in_(required), LessonProgress.user_id.in_(members))
            .group_by(LessonProgress.user_id)
        ).all()
    )
    return [TraineeProgress(e, int(done.get(e.user_id, 0)), int(total)) for e in enrolments]


@dataclass
class PanelCohort:
    """One cohort as the course page shows it to the current user."""

    summary: CohortSummary
    enrolment: Enrolment | None = None
    position: int | None = None
    refusal: str | None = None

    @property
    def cohort(self) -> Cohort:
        return self.summary.cohort


@dataclass
class CoursePanel:
    cohorts: list[PanelCohort]
    is_staff: bool
    can_study: bool
    first_lesson_id: int | None


def course_panel(course: Course, user) -> CoursePanel:
    """What the course page shows about cohorts and the current user's enrolments.

    The first lesson comes from ``course.modules``: the course page loads them.
    """
    from courses.enrolment.operations import self_enrolment_refusal
    from courses.queries import local_today

    mine: dict[int, Enrolment] = {}
    positions: dict[int, int] = {}
    if user.is_authenticated:
        rows = summaries_with_enrolment(course, user)
        summaries = [summary for summary, _enrolment in rows]
        mine = {summary.cohort.id: enrolment for summary, enrolment in rows if enrolment}
        known = request_memo("active_members")
        if known is not None:
            known[user.id, course.id] = any(
                e.status == EnrolmentStatus.ACTIVE for e in mine.values()
            )
        waiting = [c for c, e in mine.items() if e.status == EnrolmentStatus.WAITLISTED]
        if waiting:
            positions = waitlist_positions(user, waiting)
    else:
        summaries = cohort_summaries(course)
    is_staff = can_manage_course(user, course)
    studying = is_staff or (
        course.state != CourseState.DRAFT
        and any(e.status == EnrolmentStatus.ACTIVE for e in mine.values())
    )
    first_lesson_id = None
    if studying:
        first_lesson_id = next(
            (
                lesson.id
                for module in course.modules
                for lesson in module.lessons
                if is_staff or lesson.published
            ),
            None,
        )
    today = local_today()
    cohorts = [
        PanelCohort(
            summary=summary,
            enrolment=mine.get(summary.cohort.id),
            position=positions.get(summary.cohort.id),
            refusal=self_enrolment_refusal(summary.cohort, today),
        )
        for summary in summaries
    ]
    return CoursePanel(
        cohorts=cohorts, is_staff=is_staff, can_study=studying, first_lesson_id=first_lesson_id
    )
