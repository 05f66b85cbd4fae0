"""The reports, each read with a fixed number of aggregate queries whatever the centre's size.

Every figure is computed by the database (GROUP BY, CASE, correlated EXISTS), each
grouped query written through ``_grouped``; Python only pivots or sums the few grouped
rows and suppresses small groups (see tables.py).
A report never lists a person: its rows are months, courses, assessments,
competencies and schemes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from certificates.models import (
    LIVE_STATUSES,
    Certificate,
    CertificateStatus,
    RequirementKind,
    Scheme,
    SchemeRequirement,
)
from certificates.verify.counts import VerificationCount
from courses.assessments.assignments.models import (
    Assignment,
    CriterionMark,
    RubricCriterion,
    Submission,
)
from courses.assessments.models import Assessment, Grade
from courses.competencies.models import (
    AlignmentKind,
    AssessmentCompetency,
    Competency,
    CompetencyAlignment,
    Evidence,
    Framework,
    OutcomeCompetency,
    ProficiencyLevel,
)
from courses.gradebook.models import CourseCompletion
from courses.models import (
    Cohort,
    Course,
    Enrolment,
    LearningOutcome,
    Lesson,
    LessonProgress,
    Module,
    Programme,
)
from lms.db import utcnow
from lms.extensions import db
from lms.i18n import current_language
from lms.models import User
from reports.filters import Filters
from reports.tables import Column, Table, build_table

ENROLMENT_STATUSES = ("active", "waitlisted", "withdrawn")
CERTIFICATE_STATUSES = ("active", "suspended", "revoked", "expired", "superseded")
#: How far ahead the renewals table looks.
RENEWAL_HORIZON = timedelta(days=365)


@dataclass(frozen=True)
class Chart:
    """A chart drawn from one table: a category column and one or more value columns."""

    title: str
    desc: str
    table: str
    category: str
    series: tuple[str, ...]


@dataclass
class Report:
    key: str
    title: str
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:  # what the audit log names
        return self.key

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def pick(english: str, bulgarian: str | None) -> str:
    """Return the text in the reader's language, English when there is no translation."""
    if current_language() == "bg" and bulgarian and bulgarian.strip():
        return bulgarian
    return english


def month_of(column):
    """Return a SQL expression for the month (``YYYY-MM``, UTC) of a timestamp column."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def days_between(start, end):
    """Return a SQL expression for the days from ``start`` to ``end``."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", end - start) / 86400
    return sa.func.julianday(end) - sa.func.julianday(start)


def _count(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _grouped(source, keys, figures, where=(), by=()) -> sa.Select:
    """Return ``SELECT keys, figures FROM source WHERE where GROUP BY keys, by``.

    The shape of every report table: ``keys`` name a row, ``by`` adds columns that group
    it without being shown (an id, a sort position), ``figures`` are its aggregates.
    Grouping by ids in a subquery and joining the names to its few rows after is
    cheaper than grouping every row by the names.
    """
    return sa.select(*keys, *figures).select_from(source).where(*where).group_by(*keys, *by)


def _pivot(rows, keys: int, statuses: tuple[str, ...]) -> dict[tuple, dict[str, int]]:
    """Turn ``(key..., status, count)`` rows into ``{key: {status: count}}`` in row order."""
    result: dict[tuple, dict[str, int]] = {}
    for row in rows:
        key, status, number = tuple(row[:keys]), row[keys], row[keys + 1]
        result.setdefault(key, dict.fromkeys(statuses, 0))[status] = int(number)
    return result


# --- Enrolments --------------------------------------------------------------------------


def enrolments(f: Filters) -> Report:
    """Enrolments by month and by cohort: enrolled, waiting list and withdrawn (2 queries)."""
    scope = [*f.in_range(Enrolment.queued_at), *f.cohort_scope(Cohort.id, Cohort.course_id)]
    enrolled = sa.join(Enrolment, Cohort, Cohort.id == Enrolment.cohort_id)
    month = month_of(Enrolment.queued_at)
    by_month = db.session.execute(
        _grouped(enrolled, [month, Enrolment.status], [sa.func.count()], scope).order_by(month)
    ).all()
    per_cohort = _grouped(
        enrolled,
        [Enrolment.cohort_id.label("cohort_id"), Enrolment.status.label("status")],
        [sa.func.count().label("n")],
        scope,
    ).subquery("per_cohort")
    by_cohort = db.session.execute(
        sa.select(
            Course.code,
            Cohort.name,
            Cohort.name_bg,
            Cohort.starts_on,
            per_cohort.c.status,
            per_cohort.c.n,
        )
        .select_from(per_cohort)
        .join(Cohort, Cohort.id == per_cohort.c.cohort_id)
        .join(Course, Course.id == Cohort.course_id)
        .order_by(Course.code, Cohort.starts_on, Cohort.name)
    ).all()
    counts = [
        Column("active", _("Enrolled"), "count"),
        Column("waitlisted", _("Waiting list"), "count"),
        Column("withdrawn", _("Withdrawn"), "count"),
        Column("total", _("Total"), "count"),
    ]

    def values(by_status: dict[str, int]) -> list[int]:
        return [*(by_status[s] for s in ENROLMENT_STATUSES), sum(by_status.values())]

    months = _pivot(by_month, 1, ENROLMENT_STATUSES)
    cohorts = _pivot(by_cohort, 4, ENROLMENT_STATUSES)
    return Report(
        key="enrolments",
        title=_("Enrolments"),
        tables=[
            build_table(
                "by_month",
                _("Enrolments by month"),
                [Column("month", _("Month")), *counts],
                ([m, *values(s)] for (m,), s in months.items()),
            ),
            build_table(
                "by_cohort",
                _("Enrolments by cohort"),
                [
                    Column("course", _("Course")),
                    Column("cohort", _("Cohort")),
                    Column("starts", _("Starts")),
                    *counts,
                ],
                ([c, pick(n, nb), d, *values(s)] for (c, n, nb, d), s in cohorts.items()),
            ),
        ],
        charts=[
            Chart(
                _("Enrolments by month"),
                _("Enrolled, waiting-list and withdrawn enrolments by the month they were made."),
                "by_month",
                "month",
                ("active", "waitlisted", "withdrawn"),
            )
        ],
        notes=[_("Enrolments are counted in the month they were made (or joined the queue).")],
    )


# --- Progress ------------------------------------------------------------------------------


def _learners(f: Filters):
    """Return a CTE of active (user, course) pairs enrolled within the filters."""
    first = sa.func.min(sa.func.coalesce(Enrolment.enrolled_at, Enrolment.queued_at))
    return _grouped(
        sa.join(Enrolment, Cohort, Cohort.id == Enrolment.cohort_id),
        [Enrolment.user_id.label("user_id"), Cohort.course_id.label("course_id")],
        [first.label("enrolled_at")],
        [
            Enrolment.status == "active",
            *f.in_range(Enrolment.queued_at),
            *f.cohort_scope(Cohort.id, Cohort.course_id),
        ],
    ).cte("learners")


def progress(f: Filters) -> Report:
    """Completion funnel per course, and lesson by lesson for one course (1 or 2 queries)."""
    learners = _learners(f)
    lessons = sa.join(Lesson, Module, Module.id == Lesson.module_id)
    totals = _grouped(
        lessons,
        [Module.course_id.label("course_id")],
        [sa.func.count(Lesson.id).label("total")],
        [Lesson.required],
    ).subquery("totals")
    # Counted for every trainee of the courses, then joined to the learners once: joining
    # the learners inside made the database pair every progress row with them.
    done = _grouped(
        sa.join(LessonProgress, lessons, Lesson.id == LessonProgress.lesson_id),
        [LessonProgress.user_id.label("user_id"), Module.course_id.label("course_id")],
        [sa.func.count().label("done")],
        [Lesson.required, *f.course_scope(Module.course_id)],
    ).cte("done")
    n_done = sa.func.coalesce(done.c.done, 0)
    total = sa.func.coalesce(totals.c.total, 0)
    completed = CourseCompletion.completed.is_(True)
    days = days_between(learners.c.enrolled_at, CourseCompletion.completed_at)
    per_course = _grouped(
        learners.outerjoin(totals, totals.c.course_id == learners.c.course_id)
        .outerjoin(
            done,
            sa.and_(done.c.user_id == learners.c.user_id, done.c.course_id == learners.c.course_id),
        )
        .outerjoin(
            CourseCompletion,
            sa.and_(
                CourseCompletion.user_id == learners.c.user_id,
                CourseCompletion.course_id == learners.c.course_id,
            ),
        ),
        [learners.c.course_id.label("course_id")],
        [
            sa.func.count().label("enrolled"),
            _count(n_done >= 1).label("started"),
            _count(sa.and_(total > 0, n_done * 2 >= total)).label("half"),
            _count(sa.and_(total > 0, n_done >= total)).label("lessons"),
            _count(completed).label("completed"),
            sa.func.avg(sa.case((completed, days))).label("days"),
        ],
    ).subquery("per_course")
    rows = db.session.execute(
        sa.select(Course.code, Course.title_en, Course.title_bg, *list(per_course.c)[1:])
        .join(Course, Course.id == per_course.c.course_id)
        .order_by(Course.code)
    ).all()
    funnel = build_table(
        "funnel",
        _("Progress by course"),
        [
            Column("course", _("Course")),
            Column("title", _("Title")),
            Column("enrolled", _("Enrolled"), "count"),
            Column("started", _("Started"), "count"),
            Column("half", _("Half the lessons"), "count"),
            Column("lessons", _("All lessons"), "count"),
            Column("completed", _("Completed"), "count"),
            Column("days", _("Days to complete (mean)"), "number", ("completed",)),
        ],
        ([c, pick(en, bg), *numbers] for c, en, bg, *numbers in rows),
    )
    tables = [funnel]
    charts = [
        Chart(
            _("Progress by course"),
            _(
                "For each course: trainees enrolled, started, halfway, through all lessons, "
                "and completed."
            ),
            "funnel",
            "course",
            ("enrolled", "started", "half", "lessons", "completed"),
        )
    ]
    notes = [_("Counts active enrolments; lessons are the required ones.")]
    if f.course_id is not None:
        reached = _grouped(
            sa.join(LessonProgress, learners, learners.c.user_id == LessonProgress.user_id),
            [LessonProgress.lesson_id.label("lesson_id")],
            [sa.func.count().label("n")],
            [learners.c.course_id == f.course_id],
        ).subquery("reached")
        lesson_rows = db.session.execute(
            sa.select(
                Module.position,
                Lesson.position,
                Lesson.title_en,
                Lesson.title_bg,
                sa.func.coalesce(reached.c.n, 0),
            )
            .join(Lesson, Lesson.module_id == Module.id)
            .outerjoin(reached, reached.c.lesson_id == Lesson.id)
            .where(Module.course_id == f.course_id, Lesson.required)
            .order_by(Module.position, Lesson.position)
        ).all()
        tables.append(
            build_table(
                "lessons",
                _("Lesson by lesson"),
                [
                    Column("lesson", _("Lesson")),
                    Column("title", _("Title")),
                    Column("done", _("Trainees who completed it"), "count"),
                ],
                ([f"{m}.{p}", pick(en, bg), n] for m, p, en, bg, n in lesson_rows),
            )
        )
        charts.append(
            Chart(
                _("Lesson by lesson"),
                _(
                    "Trainees of the course who completed each required lesson, in course "
                    "order: where the bars drop is where trainees get stuck."
                ),
                "lessons",
                "lesson",
                ("done",),
            )
        )
    else:
        notes.append(_("Choose a course to see where its trainees get stuck, lesson by lesson."))
    return Report("progress", _("Progress"), tables, charts, notes)


# --- Results -------------------------------------------------------------------------------

BANDS = tuple(range(0, 100, 10))


def results(f: Filters) -> Report:
    """Pass rates, averages and grade bands per assessment; rubric criteria (3 queries)."""
    scope = [
        Grade.status == "released",
        Grade.points.is_not(None),
        *f.in_range(Grade.graded_at),
        *f.course_scope(Assessment.course_id),
    ]
    if f.narrows_people:
        scope.append(Grade.user_id.in_(f.learners()))
    passed = sa.and_(
        Assessment.pass_percent.is_not(None),
        Grade.points * 100 >= Assessment.pass_percent * Assessment.max_points,
    )
    percent = Grade.points * 100 / Assessment.max_points
    grades = sa.join(Grade, Assessment, Assessment.id == Grade.assessment_id)
    graded = _grouped(
        grades,
        [Grade.assessment_id.label("assessment_id")],
        [
            sa.func.count().label("graded"),
            _count(passed).label("passed"),
            sa.func.avg(percent).label("mean"),
        ],
        scope,
    ).subquery("graded")
    rows = db.session.execute(
        sa.select(
            Course.code,
            Assessment.title_en,
            Assessment.title_bg,
            Assessment.pass_percent,
            graded.c.graded,
            graded.c.passed,
            graded.c.mean,
        )
        .join(Assessment, Assessment.id == graded.c.assessment_id)
        .join(Course, Course.id == Assessment.course_id)
        .order_by(Course.code, Assessment.position, Assessment.id)
    ).all()
    band = sa.case(
        *((Grade.points * 100 >= low * Assessment.max_points, low) for low in reversed(BANDS[1:])),
        else_=0,
    )
    bands: dict[int, int] = dict(
        db.session.execute(_grouped(grades, [band], [sa.func.count()], scope)).all()
    )
    mark_scope = [
        Submission.marking_status == "released",
        *f.in_range(Submission.graded_at),
        *f.course_scope(Assessment.course_id),
    ]
    if f.narrows_people:
        mark_scope.append(Submission.user_id.in_(f.learners()))
    marked = _grouped(
        sa.join(CriterionMark, Submission, Submission.id == CriterionMark.submission_id)
        .join(RubricCriterion, RubricCriterion.id == CriterionMark.criterion_id)
        .join(Assignment, Assignment.id == RubricCriterion.assignment_id)
        .join(Assessment, Assessment.id == Assignment.assessment_id),
        [CriterionMark.criterion_id.label("criterion_id")],
        [
            sa.func.count(sa.distinct(Submission.user_id)).label("trainees"),
            sa.func.avg(CriterionMark.points).label("mean"),
        ],
        mark_scope,
    ).subquery("marked")
    criteria = db.session.execute(
        sa.select(
            Course.code,
            RubricCriterion.title_en,
            RubricCriterion.title_bg,
            marked.c.trainees,
            marked.c.mean,
        )
        .join(RubricCriterion, RubricCriterion.id == marked.c.criterion_id)
        .join(Assignment, Assignment.id == RubricCriterion.assignment_id)
        .join(Assessment, Assessment.id == Assignment.assessment_id)
        .join(Course, Course.id == Assessment.course_id)
        .order_by(Course.code, RubricCriterion.position, RubricCriterion.id)
    ).all()
    return Report(
        "results",
        _("Results"),
        [
            build_table(
                "assessments",
                _("Results by assessment"),
                [
                    Column("course", _("Course")),
                    Column("assessment", _("Assessment")),
                    Column("graded", _("Graded"), "count"),
                    Column("passed", _("Passed"), "count"),
                    Column("pass_rate", _("Pass rate (%)"), "percent", ("graded", "passed")),
                    Column("mean", _("Mean (%)"), "number", ("graded",)),
                ],
                (
                    [
                        code,
                        pick(en, bg),
                        graded,
                        passes if pass_percent is not None else None,
                        passes * 100 / graded if pass_percent is not None else None,
                        mean,
                    ]
                    for code, en, bg, pass_percent, graded, passes, mean in rows
                ),
            ),
            build_table(
                "bands",
                _("Grade distribution"),
                [Column("band", _("Percentage")), Column("grades", _("Grades"), "count")],
                (
                    [f"{low}-{low + 9}" if low < 90 else "90-100", bands.get(low, 0)]
                    for low in BANDS
                ),
            ),
            build_table(
                "criteria",
                _("Rubric criteria"),
                [
                    Column("course", _("Course")),
                    Column("criterion", _("Criterion")),
                    Column("trainees", _("Trainees marked"), "count"),
                    Column("mean", _("Mean points"), "number", ("trainees",)),
                ],
                ([code, pick(en, bg), n, mean] for code, en, bg, n, mean in criteria),
            ),
        ],
        [
            Chart(
                _("Grade distribution"),
                _("Released assessment grades in bands of ten percentage points."),
                "bands",
                "band",
                ("grades",),
            ),
            Chart(
                _("Pass rate by assessment"),
                _("The percentage of graded trainees who passed each assessment with a pass mark."),
                "assessments",
                "assessment",
                ("pass_rate",),
            ),
        ],
        [
            _(
                "Released grades given within the dates; an assessment without a pass mark has no "
                "pass rate."
            )
        ],
    )


# --- Competencies --------------------------------------------------------------------------


def levels_at(moment: datetime, f: Filters):
    """Return a subquery of each trainee's level rank per competency at ``moment``.

    The level is the highest among evidence rows recorded before ``moment`` that no
    row recorded before ``moment`` superseded (courses.competencies.rules).
    """
    row = aliased(Evidence)
    newer = aliased(Evidence)
    scope = [
        row.created_at < moment,
        ~sa.exists().where(newer.supersedes_id == row.id, newer.created_at < moment),
    ]
    if f.narrows_people:
        scope.append(row.user_id.in_(f.learners()))
    return _grouped(
        sa.join(row, ProficiencyLevel, ProficiencyLevel.id == row.level_id),
        [row.user_id.label("user_id"), row.competency_id.label("competency_id")],
        [sa.func.max(ProficiencyLevel.rank).label("rank")],
        scope,
    ).subquery()


def competencies(f: Filters) -> Report:
    """Levels per competency, gains over the dates, and catalogue coverage (2 queries)."""
    end = f.end or utcnow()
    at_end = levels_at(end, f)
    at_start = levels_at(f.start, f) if f.start is not None else None
    source: sa.FromClause = at_end
    start_rank: sa.ColumnElement[int] = sa.literal(0)
    if at_start is not None:
        source = at_end.outerjoin(
            at_start,
            sa.and_(
                at_start.c.user_id == at_end.c.user_id,
                at_start.c.competency_id == at_end.c.competency_id,
            ),
        )
        start_rank = sa.func.coalesce(at_start.c.rank, 0)
    reached = _grouped(
        source,
        [at_end.c.competency_id.label("competency_id"), at_end.c.rank.label("rank")],
        [
            sa.func.count().label("trainees"),
            _count(at_end.c.rank > start_rank).label("gained"),
            sa.func.sum(at_end.c.rank - start_rank).label("gain"),
        ],
    ).subquery("reached")
    level = aliased(ProficiencyLevel)
    proficient = aliased(ProficiencyLevel)
    rows = db.session.execute(
        sa.select(
            Competency.id,
            Framework.code.label("framework"),
            Competency.code,
            Competency.title_en,
            Competency.title_bg,
            reached.c.rank,
            level.id.label("level_id"),
            level.name_en.label("level_en"),
            level.name_bg.label("level_bg"),
            reached.c.trainees,
            reached.c.gained,
            reached.c.gain,
            sa.and_(proficient.rank.is_not(None), reached.c.rank >= proficient.rank).label(
                "proficient"
            ),
        )
        .select_from(reached)
        .join(Competency, Competency.id == reached.c.competency_id)
        .join(Framework, Framework.id == Competency.framework_id)
        .outerjoin(level, sa.and_(level.framework_id == Framework.id, level.rank == reached.c.rank))
        .outerjoin(
            proficient, sa.and_(proficient.framework_id == Framework.id, proficient.proficient)
        )
        .order_by(Framework.code, Competency.code, reached.c.rank)
    ).all()
    # A row per competency and level reached: the distribution as it is, the gains summed.
    distribution = [
        (r.framework, r.code, r.rank, r.level_en, r.level_bg, r.trainees)
        for r in rows
        if r.level_id is not None
    ]
    sums: dict[int, list] = {}
    for r in rows:
        total = sums.setdefault(r.id, [r.framework, r.code, r.title_en, r.title_bg, 0, 0, 0, 0])
        total[4] += r.trainees
        total[5] += r.gained
        total[6] += r.trainees if r.proficient else 0
        total[7] += r.gain
    gains = [[*names, n, gained, held, gain / n] for *names, n, gained, held, gain in sums.values()]

    def aligned(kind: str):
        return sa.exists().where(
            CompetencyAlignment.competency_id == Competency.id, CompetencyAlignment.kind == kind
        )

    taught = sa.or_(
        sa.exists()
        .where(AssessmentCompetency.competency_id == Competency.id)
        .where(AssessmentCompetency.assessment_id == Assessment.id)
        .where(Assessment.course_id == Course.id, Course.state == "published"),
        sa.exists()
        .where(OutcomeCompetency.competency_id == Competency.id)
        .where(OutcomeCompetency.outcome_id == LearningOutcome.id)
        .where(LearningOutcome.course_id == Course.id, Course.state == "published"),
    )
    coverage = db.session.execute(
        _grouped(
            sa.join(Framework, Competency, Competency.framework_id == Framework.id),
            [Framework.code, Framework.name_en, Framework.name_bg],
            [
                sa.func.count(Competency.id),
                _count(aligned(AlignmentKind.ESCO)),
                _count(aligned(AlignmentKind.ECF)),
                _count(taught),
            ],
            by=[Framework.id],
        ).order_by(Framework.code)
    ).all()
    return Report(
        "competencies",
        _("Competencies"),
        [
            build_table(
                "levels",
                _("Trainees by competency level"),
                [
                    Column("framework", _("Framework")),
                    Column("competency", _("Competency")),
                    Column("rank", _("Level")),
                    Column("level", _("Level name")),
                    Column("trainees", _("Trainees"), "count"),
                ],
                ([fw, code, rank, pick(en, bg), n] for fw, code, rank, en, bg, n in distribution),
            ),
            build_table(
                "gains",
                _("Gains between the dates"),
                [
                    Column("framework", _("Framework")),
                    Column("competency", _("Competency")),
                    Column("title", _("Title")),
                    Column("assessed", _("Trainees with a level"), "count"),
                    Column("gained", _("Rose a level or more"), "count"),
                    Column("proficient", _("Proficient"), "count"),
                    Column("mean_gain", _("Mean gain (levels)"), "number", ("assessed",)),
                ],
                ([fw, code, pick(en, bg), *numbers] for fw, code, en, bg, *numbers in gains),
            ),
            build_table(
                "coverage",
                _("Catalogue coverage"),
                [
                    Column("framework", _("Framework")),
                    Column("name", _("Name")),
                    Column("competencies", _("Competencies")),
                    Column("esco", _("Aligned to ESCO")),
                    Column("ecf", _("Aligned to e-CF")),
                    Column("taught", _("Taught by a published course")),
                ],
                ([code, pick(en, bg), *numbers] for code, en, bg, *numbers in coverage),
            ),
        ],
        [
            Chart(
                _("Gains between the dates"),
                _(
                    "For each competency: trainees with a level at the end of the dates, those "
                    "whose level rose since the start, and those proficient."
                ),
                "gains",
                "competency",
                ("assessed", "gained", "proficient"),
            )
        ],
        [
            _(
                "Levels are taken at the end of the dates; gains compare them with the start (no "
                "start date: with no level)."
            )
        ],
    )


# --- Certification -------------------------------------------------------------------------


def _certificate_status(now: datetime):
    """Return the status a certificate has now: an active one past its end date has expired."""
    return sa.case(
        (
            sa.and_(
                Certificate.status == "active",
                Certificate.valid_until.is_not(None),
                Certificate.valid_until <= now,
            ),
            "expired",
        ),
        else_=Certificate.status,
    )


def _met_requirements(now: datetime, scheme_scope: list):
    """Return a select of ``(scheme_id, requirement_id, user_id)`` for every requirement met.

    The rules of ``certificates.eligibility``, as SQL: a course completed, with at least
    the minimum grade when there is one; an exam's released, not excused result at or
    above the minimum percentage (the scheme's, else the assessment's pass mark, else 0)
    once rounded to two places, ties to even; a competency's current level (the highest
    of the evidence recorded by ``now`` that nothing superseded) at or above the minimum.
    """
    req = SchemeRequirement
    requirements = (
        sa.select(req)
        .join(Scheme, Scheme.id == req.scheme_id)
        .where(Scheme.active, *scheme_scope)
        .cte("requirements")
    )
    r = requirements.c
    course = sa.select(r.scheme_id, r.id, CourseCompletion.user_id).join(
        CourseCompletion,
        sa.and_(
            CourseCompletion.course_id == r.course_id,
            CourseCompletion.completed.is_(True),
            sa.or_(r.min_grade.is_(None), CourseCompletion.grade >= r.min_grade),
        ),
    )
    minimum = sa.func.coalesce(r.min_grade, Assessment.pass_percent, 0)
    tie = (minimum - sa.literal(Decimal("0.005"))) * Assessment.max_points
    exam = (
        sa.select(r.scheme_id, r.id, Grade.user_id)
        .join(Grade, Grade.assessment_id == r.assessment_id)
        .join(Assessment, Assessment.id == Grade.assessment_id)
        .where(
            r.kind == RequirementKind.EXAM,
            Grade.status == "released",
            Grade.points.is_not(None),
            Grade.excused.is_(False),
            sa.or_(
                Grade.points * 100 > tie,
                sa.and_(Grade.points * 100 == tie, sa.cast(minimum * 100, sa.Integer) % 2 == 0),
            ),
        )
    )
    later = aliased(Evidence)
    levels = _grouped(
        sa.join(Evidence, ProficiencyLevel, ProficiencyLevel.id == Evidence.level_id),
        [Evidence.user_id.label("user_id"), Evidence.competency_id.label("competency_id")],
        [sa.func.max(ProficiencyLevel.rank).label("rank")],
        [
            Evidence.competency_id.in_(sa.select(r.competency_id)),
            Evidence.created_at <= now,
            ~sa.exists().where(later.supersedes_id == Evidence.id),
        ],
    ).subquery("levels")
    competency = sa.select(r.scheme_id, r.id, levels.c.user_id).join(
        levels,
        sa.and_(
            levels.c.competency_id == r.competency_id,
            levels.c.rank >= sa.func.coalesce(sa.func.nullif(r.min_level, 0), 1),
        ),
    )
    return requirements, sa.union_all(
        course.where(r.kind == RequirementKind.COURSE),
        exam,
        competency.where(r.kind == RequirementKind.COMPETENCY),
    )


def eligible_by_scheme(f: Filters, now: datetime | None = None) -> dict[str, int]:
    """Return, per active scheme, the trainees eligible for it now who do not hold it yet (1 query).

    The certifier's queue's rule (``certificates.eligibility``) counted in the database:
    an active trainee is eligible when they meet every requirement of the scheme (and it
    has one), hold no live certificate of it, and are not blocked by a certificate of it
    revoked as issued in error and not cleared. The programme filter picks the schemes,
    course and cohort the trainees; the dates do not apply (eligibility is as of now).
    """
    now = now or utcnow()
    scope = [] if f.programme_id is None else [Scheme.programme_id == f.programme_id]
    requirements, met = _met_requirements(now, scope)
    met = met.subquery("met")
    needed = _grouped(
        requirements, [requirements.c.scheme_id], [sa.func.count().label("n")]
    ).subquery("needed")
    eligible = (
        _grouped(
            met.join(needed, needed.c.scheme_id == met.c.scheme_id),
            [met.c.scheme_id, met.c.user_id],
            [],
            by=[needed.c.n],
        )
        .having(sa.func.count() == needed.c.n)
        .subquery("eligible")
    )
    mine = sa.and_(
        Certificate.scheme_id == eligible.c.scheme_id, Certificate.user_id == eligible.c.user_id
    )
    held = sa.exists().where(mine, Certificate.status.in_(LIVE_STATUSES))
    blocked = sa.exists().where(
        mine,
        Certificate.status == CertificateStatus.REVOKED,
        Certificate.revoked_in_error.is_(True),
        Certificate.reissue_cleared_at.is_(None),
    )
    candidates = [User.active, ~held, ~blocked]
    if f.course_id is not None or f.cohort_id is not None:
        candidates.append(eligible.c.user_id.in_(f.learners()))
    query = _grouped(
        eligible.join(Scheme, Scheme.id == eligible.c.scheme_id).join(
            User, User.id == eligible.c.user_id
        ),
        [Scheme.code],
        [sa.func.count()],
        candidates,
    )
    return {code: int(number) for code, number in db.session.execute(query)}


def verifications(f: Filters) -> list[tuple[str, str, int]]:
    """Return ``(scheme code, month, verifications)`` within the filters (1 query).

    A month counts when the dates include any of its days; the programme picks the
    schemes; course and cohort do not apply, since no one is recorded with a check.
    """
    scope = []
    if f.date_from is not None:
        scope.append(VerificationCount.month >= f.date_from.replace(day=1))
    if f.date_to is not None:
        scope.append(VerificationCount.month <= f.date_to)
    if f.programme_id is not None:
        scope.append(Scheme.programme_id == f.programme_id)
    rows = db.session.execute(
        _grouped(
            sa.join(VerificationCount, Scheme, Scheme.id == VerificationCount.scheme_id),
            [Scheme.code, VerificationCount.month],
            [sa.func.sum(VerificationCount.count)],
            scope,
        ).order_by(VerificationCount.month, Scheme.code)
    ).all()
    return [(code, f"{month:%Y-%m}", int(number)) for code, month, number in rows]


def _verifications_table(rows: list[tuple[str, str, int]]) -> Table:
    """Return the verifications as a table of months, one column per scheme."""
    codes = sorted({code for code, _month, _n in rows})
    by_month: dict[str, dict[str, int]] = {}
    for code, month, number in rows:
        by_month.setdefault(month, {})[code] = number
    return build_table(
        "verifications",
        _("Verifications by month"),
        [
            Column("month", _("Month")),
            *(Column(f"scheme{i}", code, "count") for i, code in enumerate(codes)),
        ],
        ([month, *(counts.get(code, 0) for code in codes)] for month, counts in by_month.items()),
    )


def certification(f: Filters) -> Report:
    """Eligible, then certificates by scheme and month with their status now; renewals and
    verifications by month (4 queries whatever the numbers of schemes and trainees).
    """
    now = utcnow()
    scope = [*f.in_range(Certificate.issued_at)]
    if f.programme_id is not None:
        scope.append(Scheme.programme_id == f.programme_id)
    if f.course_id is not None or f.cohort_id is not None:
        scope.append(Certificate.user_id.in_(f.learners()))
    certificates = sa.join(Certificate, Scheme, Scheme.id == Certificate.scheme_id)
    month = month_of(Certificate.issued_at)
    issued = db.session.execute(
        _grouped(
            certificates, [Scheme.code, month, _certificate_status(now)], [sa.func.count()], scope
        ).order_by(Scheme.code, month)
    ).all()
    due_month = month_of(Certificate.valid_until)
    ending = [
        Certificate.status.in_(("active", "suspended")),
        Certificate.valid_until > now,
        Certificate.valid_until <= now + RENEWAL_HORIZON,
    ]
    due = db.session.execute(
        _grouped(
            certificates, [Scheme.code, due_month], [sa.func.count()], [*ending, *scope]
        ).order_by(due_month, Scheme.code)
    ).all()
    eligible = eligible_by_scheme(f, now)
    checks = _verifications_table(verifications(f))
    pivot = _pivot(issued, 2, CERTIFICATE_STATUSES)
    schemes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CERTIFICATE_STATUSES, 0))
    for (code, _month), counts in pivot.items():
        for key, value in counts.items():
            schemes[code][key] += value
    for code in eligible:  # a scheme with trainees eligible has a row, even unissued
        schemes.setdefault(code, dict.fromkeys(CERTIFICATE_STATUSES, 0))
    statuses = [
        Column("active", _("Active"), "count"),
        Column("suspended", _("Suspended"), "count"),
        Column("revoked", _("Revoked"), "count"),
        Column("expired", _("Expired"), "count"),
        Column("superseded", _("Renewed (superseded)"), "count"),
    ]
    charts = [
        Chart(
            _("Certificates by scheme"),
            _(
                "Trainees eligible now, and certificates issued per scheme within the dates "
                "with their status now."
            ),
            "by_scheme",
            "scheme",
            ("eligible", "issued", "active", "revoked", "expired"),
        )
    ]
    if len(checks.columns) > 1:
        charts.append(
            Chart(
                _("Verifications by month"),
                _("How many times certificates of each scheme were verified, month by month."),
                "verifications",
                "month",
                tuple(column.key for column in checks.columns[1:]),
            )
        )
    return Report(
        "certification",
        _("Certification"),
        [
            build_table(
                "by_scheme",
                _("Certificates by scheme"),
                [
                    Column("scheme", _("Scheme")),
                    Column("eligible", _("Eligible now"), "count"),
                    Column("issued", _("Issued"), "count"),
                    *statuses,
                ],
                (
                    [
                        code,
                        eligible.get(code, 0),
                        sum(c.values()),
                        *(c[s] for s in CERTIFICATE_STATUSES),
                    ]
                    for code, c in sorted(schemes.items())
                ),
            ),
            build_table(
                "by_month",
                _("Certificates by scheme and month of issue"),
                [
                    Column("scheme", _("Scheme")),
                    Column("month", _("Month")),
                    Column("issued", _("Issued"), "count"),
                    *statuses,
                ],
                (
                    [code, m, sum(c.values()), *(c[s] for s in CERTIFICATE_STATUSES)]
                    for (code, m), c in pivot.items()
                ),
            ),
            build_table(
                "renewals",
                _("Renewals due in the next twelve months"),
                [
                    Column("scheme", _("Scheme")),
                    Column("month", _("Month")),
                    Column("due", _("Certificates ending"), "count"),
                ],
                ([code, m, n] for code, m, n in due),
            ),
            checks,
        ],
        charts,
        [
            _("Statuses are as of today; certificates are counted in the month they were issued."),
            _(
                "Eligible now: trainees who meet every requirement of an active scheme today and "
                "hold no live certificate of it, whatever the dates."
            ),
            _(
                "Verifications count the checks of the centre's certificates by scheme and "
                "month, never who made them; a month is shown when the dates include any of "
                "its days, and the course and cohort filters do not apply to them."
            ),
        ],
    )


# --- Overview ------------------------------------------------------------------------------


def overview(f: Filters) -> Report:
    """Headline figures for the period: participants, completions, certificates (1 query)."""
    participants = (
        sa.select(sa.func.count(sa.distinct(Enrolment.user_id)))
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(
            Enrolment.status == "active",
            *f.in_range(Enrolment.queued_at),
            *f.cohort_scope(Cohort.id, Cohort.course_id),
        )
        .scalar_subquery()
    )
    completion_scope = [
        CourseCompletion.completed.is_(True),
        *f.in_range(CourseCompletion.completed_at),
        *f.course_scope(CourseCompletion.course_id),
    ]
    if f.narrows_people:
        completion_scope.append(CourseCompletion.user_id.in_(f.learners()))
    completions = (
        sa.select(sa.func.count()).select_from(CourseCompletion).where(*completion_scope)
    ).scalar_subquery()
    completers = (
        sa.select(sa.func.count(sa.distinct(CourseCompletion.user_id))).where(*completion_scope)
    ).scalar_subquery()
    cert_scope = [*f.in_range(Certificate.issued_at)]
    if f.programme_id is not None:
        cert_scope.append(
            Certificate.scheme_id.in_(
                sa.select(Scheme.id).where(Scheme.programme_id == f.programme_id)
            )
        )
    if f.course_id is not None or f.cohort_id is not None:
        cert_scope.append(Certificate.user_id.in_(f.learners()))
    certified = (
        sa.select(sa.func.count()).select_from(Certificate).where(*cert_scope)
    ).scalar_subquery()
    holders = (
        sa.select(sa.func.count(sa.distinct(Certificate.user_id))).where(*cert_scope)
    ).scalar_subquery()
    numbers = db.session.execute(
        sa.select(participants, completers, completions, holders, certified)
    ).one()
    table = build_table(
        "headline",
        _("At a glance"),
        [Column("figure", _("Figure")), Column("value", _("Value"), "count")],
        zip(
            [
                _("Participants (trainees enrolled)"),
                _("Trainees who completed a course"),
                _("Course completions"),
                _("Certificate holders"),
                _("Certificates issued"),
            ],
            numbers,
            strict=True,
        ),
    )
    return Report("overview", _("At a glance"), [table])


REPORTS: dict[str, Callable[[Filters], Report]] = {
    "enrolments": enrolments,
    "progress": progress,
    "results": results,
    "competencies": competencies,
    "certification": certification,
}


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """Return the programmes, courses and cohorts a filter can pick (3 queries)."""
    programmes = db.session.execute(
        sa.select(Programme.id, Programme.code, Programme.title_en, Programme.title_bg).order_by(
            Programme.code
        )
    ).all()
    courses = db.session.execute(
        sa.select(Course.id, Course.code, Course.title_en, Course.title_bg).order_by(Course.code)
    ).all()
    cohorts = db.session.execute(
        sa.select(Cohort.id, Course.code, Cohort.name, Cohort.name_bg)
        .join(Course, Course.id == Cohort.course_id)
        .order_by(Course.code, Cohort.starts_on, Cohort.name)
    ).all()
    return {
        "programme": [(i, f"{code} — {pick(en, bg)}") for i, code, en, bg in programmes],
        "course": [(i, f"{code} — {pick(en, bg)}") for i, code, en, bg in courses],
        "cohort": [(i, f"{code} — {pick(name, bg)}") for i, code, name, bg in cohorts],
    }
