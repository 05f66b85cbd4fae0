"""Reads for competency records: frameworks, mappings, a trainee's profile and transcript.

Each function runs a fixed number of queries whatever the number of
competencies, evidence rows or courses.

How the current level is decided (shown to trainees on the profile page):
``rules.current_level`` over the trainee's evidence for the competency, where a
row counts when nothing supersedes it (no correction or withdrawal), it has a
level, and, for evidence from an assessment, the grade it came from is still a
released pass. The highest such level is the current level.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from courses.assessments.models import Assessment, Grade
from courses.competencies import rules
from courses.competencies.chart import Chart, bar_chart
from courses.competencies.models import (
    AssessmentCompetency,
    Competency,
    Evidence,
    EvidenceSource,
    Framework,
    OutcomeCompetency,
    ProficiencyLevel,
)
from courses.competencies.operations import is_passing
from courses.gradebook.models import CourseCompletion
from courses.models import (
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    LearningOutcome,
    course_instructors,
)
from courses.transcript_pdf import CompetencyRow, CourseRow, TranscriptSnapshot
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User

# --- frameworks ------------------------------------------------------------


def frameworks() -> list[tuple[Framework, int]]:
    """Return every framework with its number of competencies."""
    count = (
        sa.select(sa.func.count(Competency.id))
        .where(Competency.framework_id == Framework.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Framework, count).options(selectinload(Framework.levels)).order_by(Framework.code)
    )
    return [(framework, n) for framework, n in rows]


def framework_or_none(framework_id: int) -> Framework | None:
    return db.session.scalar(
        sa.select(Framework)
        .where(Framework.id == framework_id)
        .options(
            selectinload(Framework.levels),
            selectinload(Framework.competencies).selectinload(Competency.alignments),
        )
    )


def tree(competencies: list[Competency]) -> list[tuple[Competency, int]]:
    """Order competencies parents first, each followed by its parts: ``(competency, depth)``."""
    ids = {c.id for c in competencies}
    children: dict[int | None, list[Competency]] = {}
    for competency in competencies:
        parent = competency.parent_id if competency.parent_id in ids else None
        children.setdefault(parent, []).append(competency)
    ordered: list[tuple[Competency, int]] = []
    pending = [(c, 0) for c in reversed(children.get(None, []))]
    seen: set[int] = set()
    while pending:
        competency, depth = pending.pop()
        if competency.id in seen:
            continue
        seen.add(competency.id)
        ordered.append((competency, depth))
        pending.extend((c, depth + 1) for c in reversed(children.get(competency.id, [])))
    return ordered


def competency_choices() -> list[Competency]:
    """Every competency with its framework and levels loaded, for mapping and evidence forms."""
    return list(
        db.session.scalars(
            sa.select(Competency)
            .join(Competency.framework)
            .options(
                joinedload(Competency.framework).selectinload(Framework.levels),
            )
            .order_by(Framework.code, Competency.code)
        ).unique()
    )


def level_choices() -> list[ProficiencyLevel]:
    return list(
        db.session.scalars(
            sa.select(ProficiencyLevel)
            .join(ProficiencyLevel.framework)
            .options(joinedload(ProficiencyLevel.framework))
            .order_by(Framework.code, ProficiencyLevel.rank)
        )
    )


# --- course mappings -------------------------------------------------------


@dataclass
class CourseMappings:
    assessments: list[Assessment]
    outcomes: list[LearningOutcome]
    by_assessment: dict[int, list[AssessmentCompetency]]
    by_outcome: dict[int, list[OutcomeCompetency]]
    trainees: list[User]


def course_mappings(course: Course) -> CourseMappings:
    assessments = list(
        db.session.scalars(
            sa.select(Assessment)
            .where(Assessment.course_id == course.id)
            .order_by(Assessment.position, Assessment.id)
        )
    )
    outcomes = list(
        db.session.scalars(
            sa.select(LearningOutcome)
            .where(LearningOutcome.course_id == course.id)
            .order_by(LearningOutcome.position)
        )
    )
    loads = (
        joinedload(AssessmentCompetency.competency).joinedload(Competency.framework),
        joinedload(AssessmentCompetency.level),
    )
    by_assessment: dict[int, list[AssessmentCompetency]] = {}
    for mapping in db.session.scalars(
        sa.select(AssessmentCompetency)
        .join(Assessment)
        .where(Assessment.course_id == course.id)
        .options(*loads)
        .order_by(AssessmentCompetency.id)
    ):
        by_assessment.setdefault(mapping.assessment_id, []).append(mapping)
    by_outcome: dict[int, list[OutcomeCompetency]] = {}
    for outcome_mapping in db.session.scalars(
        sa.select(OutcomeCompetency)
        .join(LearningOutcome)
        .where(LearningOutcome.course_id == course.id)
        .options(
            joinedload(OutcomeCompetency.competency).joinedload(Competency.framework),
            joinedload(OutcomeCompetency.level),
        )
        .order_by(OutcomeCompetency.id)
    ):
        by_outcome.setdefault(outcome_mapping.outcome_id, []).append(outcome_mapping)
    return CourseMappings(assessments, outcomes, by_assessment, by_outcome, trainees(course))


def trainees(course: Course) -> list[User]:
    """Return the trainees with an active place in a cohort of the course, by name."""
    enrolled = (
        sa.select(Enrolment.user_id)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.course_id == course.id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    return list(
        db.session.scalars(
            sa.select(User).where(User.id.in_(enrolled)).order_by(User.name, User.id)
        )
    )


# --- who may see a record --------------------------------------------------


def teaches_trainee(viewer: User, trainee: User) -> bool:
    """Return whether ``viewer`` teaches a course in which ``trainee`` holds an active place."""
    return (
        db.session.scalar(
            sa.select(Enrolment.id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .join(course_instructors, course_instructors.c.course_id == Cohort.course_id)
            .where(
                Enrolment.user_id == trainee.id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
                course_instructors.c.user_id == viewer.id,
            )
            .limit(1)
        )
        is not None
    )


def can_view_record(viewer, trainee: User) -> bool:
    """The trainee, admins, certifiers, and instructors of a course the trainee is enrolled in."""
    if not viewer.is_authenticated:
        return False
    if viewer.id == trainee.id or viewer.has_role(Role.ADMIN, Role.CERTIFIER):
        return True
    return viewer.has_role(Role.INSTRUCTOR) and teaches_trainee(viewer, trainee)


# --- the profile -----------------------------------------------------------


class EvidenceState:
    COUNTS = "counts"
    SUPERSEDED = "superseded"
    WITHDRAWAL = "withdrawal"
    GRADE_REVOKED = "grade_revoked"


@dataclass
class EvidenceLine:
    row: Evidence
    state: str
    deciding: bool = False


@dataclass
class ProfileRow:
    competency: Competency
    depth: int
    level: ProficiencyLevel | None
    proficient: bool
    evidence: list[EvidenceLine] = field(default_factory=list)


@dataclass
class FrameworkProfile:
    framework: Framework
    proficient_level: ProficiencyLevel | None
    rows: list[ProfileRow]
    chart: Chart

    @property
    def proficient_count(self) -> int:
        return sum(row.proficient for row in self.rows)

    @property
    def assessed_rows(self) -> list[ProfileRow]:
        return [row for row in self.rows if row.level is not None or row.evidence]


@dataclass
class Profile:
    trainee: User
    frameworks: list[FrameworkProfile]
    as_of: dt.datetime


def _scale(framework: Framework) -> rules.ProficiencyScale | None:
    if not framework.levels or framework.proficient_level is None:
        return None
    levels = tuple(
        rules.Level(str(level.id), level.rank, level.name_en) for level in framework.levels
    )
    return rules.ProficiencyScale(levels, str(framework.proficient_level.id))


def _enrolled_course_ids(user: User):
    return (
        sa.select(Cohort.course_id)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.user_id == user.id, Enrolment.status == EnrolmentStatus.ACTIVE)
    )


def _state(row: Evidence, superseded: set[int]) -> str:
    if row.level_id is None:
        return EvidenceState.WITHDRAWAL
    if row.id in superseded:
        return EvidenceState.SUPERSEDED
    if row.source == EvidenceSource.ASSESSMENT and (row.grade is None or not is_passing(row.grade)):
        return EvidenceState.GRADE_REVOKED
    return EvidenceState.COUNTS


def profile(trainee: User, now: dt.datetime | None = None) -> Profile:
    """Return the trainee's current level per competency with the evidence behind it."""
    now = now or utcnow()
    evidence = list(
        db.session.scalars(
            sa.select(Evidence)
            .where(Evidence.user_id == trainee.id)
            .options(
                joinedload(Evidence.recorded_by),
                joinedload(Evidence.course).selectinload(Course.instructors),
                joinedload(Evidence.competency),
                selectinload(Evidence.grade).joinedload(Grade.assessment),
            )
            .order_by(Evidence.created_at.desc(), Evidence.id.desc())
        )
    )
    framework_ids = {row.competency.framework_id for row in evidence}
    enrolled = _enrolled_course_ids(trainee)
    mapped = sa.union(
        sa.select(Competency.framework_id)
        .join(AssessmentCompetency, AssessmentCompetency.competency_id == Competency.id)
        .join(Assessment, Assessment.id == AssessmentCompetency.assessment_id)
        .where(Assessment.course_id.in_(enrolled)),
        sa.select(Competency.framework_id)
        .join(OutcomeCompetency, OutcomeCompetency.competency_id == Competency.id)
        .join(LearningOutcome, LearningOutcome.id == OutcomeCompetency.outcome_id)
        .where(LearningOutcome.course_id.in_(enrolled)),
    )
    framework_ids.update(db.session.scalars(mapped))
    loaded = list(
        db.session.scalars(
            sa.select(Framework)
            .where(Framework.id.in_(framework_ids))
            .options(selectinload(Framework.levels), selectinload(Framework.competencies))
            .order_by(Framework.code)
        )
    )

    superseded = {row.supersedes_id for row in evidence if row.supersedes_id is not None}
    lines: dict[int, list[EvidenceLine]] = {}
    counted: dict[int, list[rules.Evidence]] = {}
    levels_by_id: dict[int, ProficiencyLevel] = {}
    level: ProficiencyLevel | None
    for framework in loaded:
        for level in framework.levels:
            levels_by_id[level.id] = level
    for row in evidence:
        state = _state(row, superseded)
        lines.setdefault(row.competency_id, []).append(EvidenceLine(row, state))
        level = levels_by_id.get(row.level_id) if row.level_id is not None else None
        if level is None:
            continue
        counted.setdefault(row.competency_id, []).append(
            rules.Evidence(
                id=row.id,
                competency=str(row.competency_id),
                level=rules.Level(str(level.id), level.rank, level.name_en),
                source=EvidenceSource(row.source),
                created_at=row.created_at,
                superseded_by=row.id if state == EvidenceState.SUPERSEDED else None,
                revoked=state == EvidenceState.GRADE_REVOKED,
                note=row.note,
            )
        )

    result = []
    for framework in loaded:
        scale = _scale(framework)
        proficient = framework.proficient_level
        rows = []
        for competency, depth in tree(framework.competencies):
            deciding = rules.deciding_evidence(counted.get(competency.id, []), now)
            level = levels_by_id[int(deciding.level.code)] if deciding else None
            competency_lines = lines.get(competency.id, [])
            for line in competency_lines:
                line.deciding = deciding is not None and line.row.id == deciding.id
            rows.append(
                ProfileRow(
                    competency=competency,
                    depth=depth,
                    level=level,
                    proficient=scale is not None
                    and deciding is not None
                    and rules.is_proficient(deciding.level, scale),
                    evidence=competency_lines,
                )
            )
        # Groupings (competencies with parts) get a bar only when evidence names them.
        parents = {c.parent_id for c in framework.competencies}
        chart = bar_chart(
            [
                (
                    row.competency.code,
                    row.competency.tr("title"),
                    row.level.rank if row.level else 0,
                    row.level.label() if row.level else "—",
                    row.proficient,
                )
                for row in rows
                if row.level is not None or row.competency.id not in parents
            ],
            [(level.rank, level.tr("name")) for level in framework.levels],
            proficient.rank if proficient else 0,
            proficient.label() if proficient else "",
        )
        result.append(FrameworkProfile(framework, proficient, rows, chart))
    return Profile(trainee, result, now)


# --- transcript ------------------------------------------------------------


def bilingual_level(level) -> str:
    """A proficiency level in both languages, as documents print it: "3 — Напреднал / Advanced"."""
    names = [name for name in (level.name_bg, level.name_en) if name]
    if len(names) == 2 and names[0] == names[1]:
        names = names[:1]
    return f"{level.rank} — {' / '.join(names)}" if names else str(level.rank)


def transcript_snapshot(trainee: User, today: dt.date | None = None) -> TranscriptSnapshot:
    """Return the plain data the transcript PDF is drawn from."""
    completions = {
        c.course_id: c
        for c in db.session.scalars(
            sa.select(CourseCompletion).where(CourseCompletion.user_id == trainee.id)
        )
    }
    courses = list(
        db.session.scalars(
            sa.select(Course)
            .where(
                sa.or_(
                    Course.id.in_(_enrolled_course_ids(trainee)),
                    Course.id.in_(list(completions) or [-1]),
                )
            )
            .order_by(Course.code)
        )
    )
    course_rows = []
    for course in courses:
        completion = completions.get(course.id)
        done = completion if completion is not None and completion.completed else None
        course_rows.append(
            CourseRow(
                code=course.code,
                title=course.tr("title"),
                grade=done.grade if done else None,
                completed_on=done.completed_at.date() if done and done.completed_at else None,
            )
        )
    record = profile(trainee)
    competency_rows = []
    for item in record.frameworks:
        target = bilingual_level(item.proficient_level) if item.proficient_level else "—"
        for row in item.assessed_rows:
            if row.level is None:
                continue
            competency_rows.append(
                CompetencyRow(
                    code=row.competency.code,
                    title=row.competency.tr("title"),
                    level=bilingual_level(row.level),
                    proficient_level=target,
                    proficient=row.proficient,
                )
            )
    return TranscriptSnapshot(
        holder_name=trainee.name,
        issued_on=today or record.as_of.date(),
        courses=tuple(course_rows),
        competencies=tuple(competency_rows),
    )
