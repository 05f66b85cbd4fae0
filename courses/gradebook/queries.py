"""Gradebook reads: a page of the course grid, all of it in batches, one trainee's row.

Each read is a fixed number of queries whatever the class size, and computes
only the rows it returns: a page picks its trainees in SQL (filtered, ordered,
limited) before reading their grades; the CSV export walks the class in
batches (:func:`iter_rows`).

How the database rows become the inputs of the pure rules in
``courses.assessments.grading_rules``:

- Only **published** assessments count, in the course grade and as required work.
- Only **released** grades count. A draft grade is as if not graded yet, and it
  is never *missing*: the trainee handed something in and waits for the grade.
- Categories are the course's ``GradeCategory`` rows. A course without any
  category puts every assessment into one implicit category; once a course has
  categories, an assessment without a category does not count (the setup page
  and the gradebook flag it).
- A required assessment is passed by a released grade whose percentage reaches
  its pass percentage (any released score when it has none); a released
  *excused* grade takes it out of the required ones.
- Lessons: every lesson marked required must be done (``LessonProgress``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from courses.assessments.grading_rules import (
    Category,
    CompletionResult,
    CourseGrade,
    GradeItem,
    Override,
    Progress,
    completion,
    course_grade,
    reaches_percent,
)
from courses.assessments.models import Assessment, Grade, GradeCategory, GradeChange, GradeStatus
from courses.enrolment.queries import has_active_enrolment
from courses.gradebook.models import (
    CompletionChange,
    CourseCompletion,
    CourseGradeOverride,
    OverrideChange,
)
from courses.models import (
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
    Module,
)
from lms.db import utcnow
from lms.extensions import db
from lms.models import User
from lms.paging import ComputedPage

#: Key of the implicit category of a course that has no categories.
ALL_ITEMS = "all"


def counted_category_key(assessment: Assessment, has_categories: bool) -> str | None:
    """Return the rules' category key of an assessment, or None when it does not count."""
    if not assessment.published:
        return None
    if not has_categories:
        return ALL_ITEMS
    return None if assessment.category_id is None else str(assessment.category_id)


def percentage(points: Decimal | None, max_points: Decimal) -> Decimal | None:
    """Return ``points`` as a percentage of ``max_points``, rounded for display."""
    if points is None:
        return None
    return (Decimal(points) * 100 / Decimal(max_points)).quantize(Decimal("0.01"))


class GradeState(Protocol):
    """What :func:`passed` reads of a grade: a Grade, a gradebook cell or a past state."""

    @property
    def status(self) -> str | None: ...

    @property
    def points(self) -> Decimal | None: ...


def passed(grade: Grade | Cell | GradeState | None, assessment: Assessment) -> bool:
    """Return whether a released grade passes the assessment (exactly, before rounding)."""
    if grade is None or grade.status != GradeStatus.RELEASED or grade.points is None:
        return False
    if assessment.pass_percent is None:
        return True
    return reaches_percent(grade.points, assessment.max_points, assessment.pass_percent)


#: What the gradebook reads of a grade; rows have these as attributes (``cell.points``).
CELL_COLUMNS = (
    Grade.id,
    Grade.assessment_id,
    Grade.user_id,
    Grade.points,
    Grade.excused,
    Grade.status,
    Grade.version,
)
Cell = sa.Row


@dataclass
class TraineeRow:
    """One trainee in the gradebook: grades (draft and released), results and completion."""

    user: User
    cohort: Cohort
    grades: dict[int, Cell]
    override: CourseGradeOverride | None
    record: CourseCompletion | None
    result: CourseGrade
    lessons: Progress
    required: Progress
    completion: CompletionResult

    @property
    def completed(self) -> bool:
        """The recorded completion, which certification reads; kept once reached."""
        return self.record is not None and self.record.completed

    @property
    def kept(self) -> bool:
        """Completed, although the course has gained requirements since that are not done."""
        return self.completed and not self.completion.complete

    @property
    def category_percentages(self) -> dict[str, Decimal | None]:
        return {c.key: c.percentage for c in self.result.categories}

    @property
    def dropped(self) -> set[str]:
        return {i.key for c in self.result.categories for i in c.items if i.status == "dropped"}

    def released(self, assessment_id: int) -> Cell | None:
        grade = self.grades.get(assessment_id)
        if grade is not None and grade.status == GradeStatus.RELEASED:
            return grade
        return None


@dataclass
class Gradebook:
    course: Course
    categories: list[GradeCategory]
    assessments: list[Assessment]
    rows: list[TraineeRow]
    now: datetime
    cohort: Cohort | None = None
    uncounted: list[Assessment] = field(default_factory=list)
    lesson_total: int = 0

    @property
    def has_categories(self) -> bool:
        return bool(self.categories)

    def row_for(self, user_id: int) -> TraineeRow | None:
        return next((row for row in self.rows if row.user.id == user_id), None)

    def category_key(self, assessment: Assessment) -> str | None:
        return counted_category_key(assessment, self.has_categories)


def members(course: Course, *, cohort: Cohort | None = None, user_ids: Iterable[int] | None = None):
    """A select of the user ids holding an active place in ``course`` (optionally filtered)."""
    query = (
        sa.select(Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    if cohort is not None:
        query = query.where(Enrolment.cohort_id == cohort.id)
    if user_ids is not None:
        query = query.where(Enrolment.user_id.in_(list(user_ids)))
    return query


def categories_of(course: Course) -> list[GradeCategory]:
    return list(
        db.session.scalars(
            sa.select(GradeCategory)
            .where(GradeCategory.course_id == course.id)
            .order_by(GradeCategory.position, GradeCategory.id)
        )
    )


def assessments_of(course: Course) -> list[Assessment]:
    return list(
        db.session.scalars(
            sa.select(Assessment)
            .where(Assessment.course_id == course.id)
            .order_by(Assessment.position, Assessment.due_at, Assessment.id)
        )
    )


def compute_gradebook(
    course: Course,
    *,
    cohort: Cohort | None = None,
    user_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> Gradebook:
    """Load and compute the gradebook of ``course``: 8 queries whatever the class size.

    Every listed trainee is computed: use it for one trainee or for work on the
    whole class (recomputing completion); pages use :func:`load_page`.
    """
    user_ids = None if user_ids is None else list(user_ids)
    book = load_frame(course, cohort=cohort, now=now)
    enrolment_query = _with_people(
        sa.select(Enrolment)
        .join(Enrolment.user)
        .join(Enrolment.cohort)
        .where(Cohort.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .order_by(User.name, User.id, Cohort.starts_on, Cohort.id)
    )
    if cohort is not None:
        enrolment_query = enrolment_query.where(Enrolment.cohort_id == cohort.id)
    if user_ids is not None:
        enrolment_query = enrolment_query.where(Enrolment.user_id.in_(user_ids))
    enrolments = list(db.session.scalars(enrolment_query))
    member_ids = members(course, cohort=cohort, user_ids=user_ids)
    book.rows = _rows(book, enrolments, member_ids)
    return book


def _with_people(query: sa.Select) -> sa.Select:
    """Fill each enrolment's user and cohort from the query's own joins."""
    return query.options(
        contains_eager(Enrolment.user).lazyload(User.role_rows),
        contains_eager(Enrolment.cohort),
    )


def load_frame(
    course: Course, *, cohort: Cohort | None = None, now: datetime | None = None
) -> Gradebook:
    """A gradebook without rows: categories, assessments and required lessons (3 queries).

    Fill it with :func:`iter_rows` (or see :func:`load_page`).
    """
    book = Gradebook(course, categories_of(course), assessments_of(course), [], now or utcnow())
    book.cohort = cohort
    book.uncounted = [a for a in book.assessments if a.published and book.category_key(a) is None]
    book.lesson_total = int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(_required_lessons(course).subquery())
        )
        or 0
    )
    return book


def _required_lessons(course: Course) -> sa.Select:
    return (
        sa.select(Lesson.id)
        .join(Module, Module.id == Lesson.module_id)
        .where(
            Module.course_id == course.id,
            Lesson.required.is_(True),
            Lesson.published.is_(True),
        )
    )


def _rows(
    book: Gradebook, enrolments: list[Enrolment], member_ids: sa.Select | list[int]
) -> list[TraineeRow]:
    """Compute the rows of ``enrolments`` (4 queries for the grades they need).

    ``member_ids`` are the user ids whose grades to read: a select for a whole
    class, the list of the enrolments' users for a page.
    """
    course, assessments, now = book.course, book.assessments, book.now
    # Plain rows, not ORM objects: a class of 1,000 has 30,000 of them.
    grades: dict[int, dict[int, Cell]] = {}
    for grade in db.session.execute(
        sa.select(*CELL_COLUMNS)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .where(Assessment.course_id == course.id, Grade.user_id.in_(member_ids))
    ):
        grades.setdefault(grade.user_id, {})[grade.assessment_id] = grade
    overrides = {
        o.user_id: o
        for o in db.session.scalars(
            sa.select(CourseGradeOverride).where(
                CourseGradeOverride.course_id == course.id,
                CourseGradeOverride.user_id.in_(member_ids),
            )
        )
    }
    records = {
        r.user_id: r
        for r in db.session.scalars(
            sa.select(CourseCompletion).where(
                CourseCompletion.course_id == course.id,
                CourseCompletion.user_id.in_(member_ids),
            )
        )
    }
    lessons_done = dict(
        db.session.execute(
            sa.select(LessonProgress.user_id, sa.func.count(LessonProgress.id))
            .where(
                LessonProgress.lesson_id.in_(_required_lessons(course)),
                LessonProgress.user_id.in_(member_ids),
            )
            .group_by(LessonProgress.user_id)
        ).all()
    )

    rule_categories = [Category(str(c.id), c.weight, c.drop_lowest) for c in book.categories] or [
        Category(ALL_ITEMS, Decimal(1))
    ]
    keys = {a.id: book.category_key(a) for a in assessments}
    # What each cell needs of its assessment, read once rather than once per cell.
    counted = [(a.id, key, a.max_points, a.due_at) for a in assessments if (key := keys[a.id])]
    required = [a for a in assessments if a.published and a.required]
    # Items are frozen values and many trainees share one (same points, or not graded):
    # building each once saves most of the validation work in a large class.
    item_cache: dict[tuple, GradeItem] = {}

    def item(
        assessment_id: int, key: str, max_points: Decimal, due_at: datetime | None, grade
    ) -> GradeItem:
        released = grade is not None and grade.status == GradeStatus.RELEASED
        excused = released and grade.excused
        score = grade.points if released and not excused else None
        # A draft is work waiting for its grade, never missing work.
        if grade is not None and not released:
            due_at = None
        cache_key = (assessment_id, score, due_at is None, excused)
        cached = item_cache.get(cache_key)
        if cached is None:
            cached = item_cache[cache_key] = GradeItem(
                key=str(assessment_id),
                category=key,
                max_points=max_points,
                score=score,
                due_at=due_at,
                excused=excused,
            )
        return cached

    rows = []
    seen: set[int] = set()
    for enrolment in enrolments:
        user = enrolment.user
        if user.id in seen:  # enrolled in two cohorts of the course: show the first
            continue
        seen.add(user.id)
        mine = grades.get(user.id, {})
        items = [item(*column, mine.get(column[0])) for column in counted]
        override_row = overrides.get(user.id)
        override = (
            Override(override_row.value, override_row.reason)
            if override_row is not None and override_row.value is not None
            else None
        )
        result = course_grade(rule_categories, items, now, override)
        excused = sum(
            1
            for a in required
            if (g := mine.get(a.id)) is not None and g.status == GradeStatus.RELEASED and g.excused
        )
        required_progress = Progress(
            sum(1 for a in required if passed(mine.get(a.id), a)),
            len(required) - excused,
        )
        lesson_progress = Progress(int(lessons_done.get(user.id, 0)), book.lesson_total)
        rows.append(
            TraineeRow(
                user=user,
                cohort=enrolment.cohort,
                grades=mine,
                override=override_row,
                record=records.get(user.id),
                result=result,
                lessons=lesson_progress,
                required=required_progress,
                completion=completion(
                    lesson_progress, required_progress, result.grade, course.pass_mark
                ),
            )
        )
    return rows


# --- pages: only the rows shown are computed -------------------------------------------------


class CompletionFilter(enum.StrEnum):
    """Trainees by their recorded completion (``CourseCompletion``, what certification reads)."""

    ALL = "all"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"


#: Page sizes the gradebook offers; the first is the default, the last the most.
PER_PAGE_CHOICES = (50, 100, 200, 500)
#: Words of a search beyond this many are ignored.
MAX_SEARCH_WORDS = 10


@dataclass(frozen=True)
class Roster:
    """Which trainees a gradebook lists: a cohort, a search by name or e-mail, completion."""

    cohort: Cohort | None = None
    search: str = ""
    completion: CompletionFilter = CompletionFilter.ALL


def _listed(course: Course, roster: Roster) -> sa.Subquery:
    """The enrolment listed for each trainee of ``roster`` (their first cohort), with names.

    Columns ``enrolment_id``, ``name``, ``user_id``; rows with ``nth`` 1 are the listed ones.
    """
    query = (
        sa.select(
            Enrolment.id.label("enrolment_id"),
            User.name.label("name"),
            User.id.label("user_id"),
            sa.func.row_number()
            .over(partition_by=Enrolment.user_id, order_by=(Cohort.starts_on, Cohort.id))
            .label("nth"),
        )
        .join(User, User.id == Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    if roster.cohort is not None:
        query = query.where(Enrolment.cohort_id == roster.cohort.id)
    for word in roster.search.lower().split()[:MAX_SEARCH_WORDS]:
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(word, autoescape=True),
                sa.func.lower(User.name_latin).contains(word, autoescape=True),
                sa.func.lower(User.email).contains(word, autoescape=True),
            )
        )
    if roster.completion is not CompletionFilter.ALL:
        completed = (
            sa.select(CourseCompletion.id)
            .where(
                CourseCompletion.course_id == course.id,
                CourseCompletion.user_id == Enrolment.user_id,
                CourseCompletion.completed.is_(True),
            )
            .exists()
        )
        query = query.where(
            completed if roster.completion is CompletionFilter.COMPLETE else ~completed
        )
    return query.subquery()


def _listed_enrolments(listed: sa.Subquery) -> sa.Select:
    """Enrolments of the listed trainees with their user and cohort, by name."""
    return _with_people(
        sa.select(Enrolment)
        .join(listed, listed.c.enrolment_id == Enrolment.id)
        .join(Enrolment.user)
        .join(Enrolment.cohort)
        .where(listed.c.nth == 1)
        .order_by(listed.c.name, listed.c.user_id)
    )


@dataclass
class GradebookPage(ComputedPage):
    """One page of trainees, computed, and what a pager needs (``iter_pages`` and friends).

    Not ``db.paginate``: a page number past the end must give the last page, which
    needs the count before the rows are chosen.
    """

    book: Gradebook
    roster: Roster


def load_page(
    course: Course,
    roster: Roster,
    *,
    page: int = 1,
    per_page: int = PER_PAGE_CHOICES[0],
    clamp_page: bool = True,
    now: datetime | None = None,
) -> GradebookPage:
    """Load one page of the gradebook, computing only its rows: 9 queries at any class size.

    The page of enrolments is chosen in SQL (filtered, ordered, limited), then
    grades are read for those trainees only. A page past the last one gives the
    last page (``clamp_page``), or else an empty one (the API's way).
    """
    listed = _listed(course, roster)
    total = db.session.scalar(sa.select(sa.func.count()).where(listed.c.nth == 1)) or 0
    pager = GradebookPage(
        page=1,
        per_page=per_page,
        total=total,
        book=load_frame(course, cohort=roster.cohort, now=now),
        roster=roster,
    )
    pager.page = max(1, min(page, pager.pages) if clamp_page else page)
    offset = (pager.page - 1) * per_page
    if offset < total:
        enrolments = list(
            db.session.scalars(_listed_enrolments(listed).limit(per_page).offset(offset))
        )
        pager.book.rows = _rows(pager.book, enrolments, [e.user_id for e in enrolments])
    return pager


def iter_rows(book: Gradebook, roster: Roster, *, batch: int = 500) -> Iterator[TraineeRow]:
    """Yield every listed trainee's row in name order, computing ``batch`` rows at a time.

    ``book`` is from :func:`load_frame`; memory stays bounded by the batch.
    """
    listed = _listed(book.course, roster)
    ids = list(
        db.session.scalars(
            sa.select(listed.c.enrolment_id)
            .where(listed.c.nth == 1)
            .order_by(listed.c.name, listed.c.user_id)
        )
    )
    for start in range(0, len(ids), batch):
        enrolments = list(
            db.session.scalars(
                _with_people(
                    sa.select(Enrolment)
                    .join(Enrolment.user)
                    .join(Enrolment.cohort)
                    .where(Enrolment.id.in_(ids[start : start + batch]))
                    .order_by(User.name, User.id)
                )
            )
        )
        yield from _rows(book, enrolments, [e.user_id for e in enrolments])


# --- history ---------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    """One line of a trainee's grade history: a grade, override or completion change."""

    kind: str  # "grade", "override" or "completion"
    at: datetime
    what: str
    old: object
    new: object
    old_status: str | None
    new_status: str | None
    who: User | None
    reason: str


def history(course: Course, user: User) -> list[HistoryEntry]:
    """Every grade, override and completion change of ``user`` in ``course``, newest first."""
    entries: list[HistoryEntry] = []
    changes = db.session.execute(
        sa.select(GradeChange, Assessment)
        .join(Grade, Grade.id == GradeChange.grade_id)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .outerjoin(GradeChange.changed_by)
        .options(contains_eager(GradeChange.changed_by))
        .where(Assessment.course_id == course.id, Grade.user_id == user.id)
    ).all()
    for change, assessment in changes:
        entries.append(
            HistoryEntry(
                "grade",
                change.changed_at,
                assessment.tr("title"),
                change.old_points,
                change.new_points,
                change.old_status,
                change.new_status,
                change.changed_by,
                change.reason,
            )
        )
    overrides = db.session.scalars(
        sa.select(OverrideChange)
        .join(CourseGradeOverride, CourseGradeOverride.id == OverrideChange.override_id)
        .outerjoin(OverrideChange.changed_by)
        .options(contains_eager(OverrideChange.changed_by))
        .where(CourseGradeOverride.course_id == course.id, CourseGradeOverride.user_id == user.id)
    )
    entries.extend(
        HistoryEntry(
            "override",
            change.changed_at,
            "",
            change.old_value,
            change.new_value,
            None,
            None,
            change.changed_by,
            change.reason,
        )
        for change in overrides
    )
    completions = db.session.scalars(
        sa.select(CompletionChange)
        .join(CourseCompletion, CourseCompletion.id == CompletionChange.completion_id)
        .where(CourseCompletion.course_id == course.id, CourseCompletion.user_id == user.id)
    )
    entries.extend(
        HistoryEntry(
            "completion",
            change.changed_at,
            "",
            None,
            change.grade,
            None,
            "completed" if change.completed else "not_completed",
            None,
            change.reason,
        )
        for change in completions
    )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def is_member(course: Course, user: User) -> bool:
    """Return whether ``user`` holds an active place in a cohort of ``course``."""
    return has_active_enrolment(user, course)


def ever_enrolled(course: Course, user_id: int) -> bool:
    """Return whether ``user_id`` has or had an enrolment (any status) in ``course``."""
    return (
        db.session.scalar(
            sa.select(Enrolment.id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Cohort.course_id == course.id, Enrolment.user_id == user_id)
            .limit(1)
        )
        is not None
    )
