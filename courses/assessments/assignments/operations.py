"""Assignment writes: authoring, rubrics, submissions, marking and release.

Every function changes state, flushes, writes the audit log and returns the
object; it raises AssignmentError (or the grade module's GradeError/StaleGrade)
with a message for the user and never commits. Grades are written only through
``courses.assessments.grades.set_grade``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import gettext as _

from courses.access import require_manager, require_self
from courses.assessments import grading_rules
from courses.assessments.assignments.models import (
    Assignment,
    CriterionMark,
    MarkingScheme,
    MarkingStatus,
    Resubmission,
    RubricCriterion,
    RubricLevel,
    Submission,
    SubmissionFile,
    SubmissionStatus,
)
from courses.assessments.assignments.storage import FILE_TYPES, StoredFile
from courses.assessments.grades import StaleGrade, get_grade, is_enrolled, set_grade
from courses.assessments.models import Assessment, AssessmentKind, Grade, GradeCategory
from courses.assessments.scoring import round_half_up
from courses.models import Course
from lms import audit
from lms.db import utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.i18n import format_moment
from lms.models import User

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 100_000


class AssignmentError(UserError):
    """An assignment change that is refused; the message says why."""


# --- authoring ---------------------------------------------------------------------------


@dataclass
class AssignmentData:
    title_en: str
    title_bg: str = ""
    description_en: str = ""
    description_bg: str = ""
    max_points: Decimal = Decimal(100)
    pass_percent: Decimal | None = None
    required: bool = False
    category: GradeCategory | None = None
    due_at: datetime | None = None
    published: bool = False
    allow_text: bool = True
    allow_files: bool = False
    allowed_types: Sequence[str] = ()
    max_file_bytes: int = 5 * 1024 * 1024
    max_files: int = 3
    late_policy: str = grading_rules.LatePolicy.ACCEPT
    late_percent_per_day: Decimal = Decimal(0)
    resubmission: str = Resubmission.UNTIL_GRADED
    marking: str = MarkingScheme.RUBRIC


def _check_data(course: Course, data: AssignmentData) -> None:
    if not data.title_en.strip():
        raise AssignmentError(_("Give the assignment a title."))
    if not (data.allow_text or data.allow_files):
        raise AssignmentError(_("Allow text, files or both."))
    unknown = [key for key in data.allowed_types if key not in FILE_TYPES]
    if unknown:
        raise AssignmentError(_("Unknown file type: %(type)s.", type=", ".join(unknown)))
    if data.allow_files and not data.allowed_types:
        raise AssignmentError(_("Choose at least one type of file to accept."))
    if data.max_points is None or data.max_points <= 0:
        raise AssignmentError(_("The maximum points must be above 0."))
    if data.category is not None and data.category.course_id != course.id:
        raise AssignmentError(_("That grade category belongs to another course."))
    if data.due_at is not None and data.due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    try:
        rule = grading_rules.LateRule(
            grading_rules.LatePolicy(data.late_policy),
            data.late_percent_per_day
            if data.late_policy == grading_rules.LatePolicy.PENALISE
            else Decimal(0),
        )
    except (grading_rules.GradebookError, ValueError) as error:
        raise AssignmentError(getattr(error, "message", _("Unknown late policy."))) from None
    data.late_percent_per_day = rule.percent_per_day
    if data.late_policy != grading_rules.LatePolicy.ACCEPT and data.due_at is None:
        raise AssignmentError(_("A late policy other than 'accept' needs a due date."))
    if data.resubmission not in set(Resubmission):
        raise AssignmentError(_("Unknown resubmission rule."))
    if data.resubmission == Resubmission.UNTIL_DUE and data.due_at is None:
        raise AssignmentError(_("Resubmission until the due date needs a due date."))
    if data.marking not in set(MarkingScheme):
        raise AssignmentError(_("Unknown marking scheme."))


def _apply(assignment: Assignment, data: AssignmentData) -> None:
    assessment = assignment.assessment
    assessment.title_en = data.title_en.strip()
    assessment.title_bg = data.title_bg.strip()
    assessment.description_en = data.description_en
    assessment.description_bg = data.description_bg
    assessment.max_points = data.max_points
    assessment.pass_percent = data.pass_percent
    assessment.required = data.required
    assessment.category = data.category
    assessment.due_at = data.due_at
    assessment.published = data.published
    assignment.allow_text = data.allow_text
    assignment.allow_files = data.allow_files
    assignment.allowed_types = ",".join(k for k in FILE_TYPES if k in set(data.allowed_types))
    assignment.max_file_bytes = data.max_file_bytes
    assignment.max_files = data.max_files
    assignment.late_policy = str(data.late_policy)
    assignment.late_percent_per_day = data.late_percent_per_day
    assignment.resubmission = str(data.resubmission)
    assignment.marking = str(data.marking)


def create_assignment(course: Course, data: AssignmentData, *, actor: User) -> Assignment:
    """Create an assessment of kind assignment and its settings."""
    require_manager(actor, course)
    _check_data(course, data)
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(Assessment.position), 0)).where(
            Assessment.course_id == course.id
        )
    ).scalar_one()
    assessment = Assessment(course=course, kind=AssessmentKind.ASSIGNMENT, position=position + 1)
    assignment = Assignment(assessment=assessment)
    _apply(assignment, data)
    db.session.add_all([assessment, assignment])
    db.session.flush()
    audit.record("assignment.create", assessment, actor=actor, course=course.code)
    logger.info("assignment %s created in course %s", assessment.id, course.code)
    return assignment


def grading_started(assignment: Assignment) -> bool:
    """Return whether any submission was marked or any grade given for this assignment."""
    marked = db.session.scalar(
        sa.select(sa.literal(True))
        .select_from(Submission)
        .where(
            Submission.assignment_id == assignment.id,
            Submission.status == SubmissionStatus.GRADED,
        )
        .limit(1)
    )
    graded = db.session.scalar(
        sa.select(sa.literal(True))
        .select_from(Grade)
        .where(Grade.assessment_id == assignment.assessment_id)
        .limit(1)
    )
    return bool(marked or graded)


def update_assignment(assignment: Assignment, data: AssignmentData, *, actor: User):
    """Change an assignment; its marking scheme and points are fixed once grading began."""
    assessment = assignment.assessment
    require_manager(actor, assessment.course)
    _check_data(assessment.course, data)
    if (
        data.marking != assignment.marking or data.max_points != assessment.max_points
    ) and grading_started(assignment):
        raise AssignmentError(
            _("Grading has begun: the marking scheme and maximum points can no longer change.")
        )
    if data.marking == MarkingScheme.GUIDE and assignment.marking == MarkingScheme.RUBRIC:
        # Keep the criteria usable: each one's best level becomes its maximum.
        for criterion in assignment.criteria:
            best = max((level.points for level in criterion.levels), default=Decimal(0))
            criterion.guide_max = criterion.guide_max or (best if best > 0 else None)
    _apply(assignment, data)
    db.session.flush()
    audit.record("assignment.update", assessment, actor=actor)
    logger.info("assignment %s updated", assessment.id)
    return assignment


# --- rubric ------------------------------------------------------------------------------


def _unlocked(assignment: Assignment) -> None:
    if grading_started(assignment):
        raise AssignmentError(_("Grading has begun: the rubric is locked."))


def _guide_max(assignment: Assignment, guide_max: Decimal | None) -> Decimal | None:
    if assignment.marking != MarkingScheme.GUIDE:
        return None
    if guide_max is None or not guide_max.is_finite() or guide_max <= 0:
        raise AssignmentError(_("A marking guide criterion needs a maximum above 0."))
    return guide_max


def add_criterion(
    assignment: Assignment,
    *,
    title_en: str,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    guide_max: Decimal | None = None,
    actor: User,
) -> RubricCriterion:
    """Append a criterion to the assignment's rubric or marking guide."""
    require_manager(actor, assignment.assessment.course)
    _unlocked(assignment)
    if assignment.marking == MarkingScheme.POINTS:
        raise AssignmentError(_("This assignment is marked with points only: it has no criteria."))
    if not title_en.strip():
        raise AssignmentError(_("Give the criterion a title."))
    criterion = RubricCriterion(
        title_en=title_en.strip(),
        title_bg=title_bg.strip(),
        description_en=description_en,
        description_bg=description_bg,
        guide_max=_guide_max(assignment, guide_max),
        position=max((c.position for c in assignment.criteria), default=0) + 1,
    )
    assignment.criteria.append(criterion)
    db.session.flush()
    audit.record("rubric.criterion.add", criterion, actor=actor, assignment=assignment.id)
    return criterion


def update_criterion(
    criterion: RubricCriterion,
    *,
    title_en: str,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    guide_max: Decimal | None = None,
    actor: User,
) -> RubricCriterion:
    """Change a criterion's text (and maximum, in a marking guide)."""
    require_manager(actor, criterion.assignment.assessment.course)
    _unlocked(criterion.assignment)
    if not title_en.strip():
        raise AssignmentError(_("Give the criterion a title."))
    criterion.title_en = title_en.strip()
    criterion.title_bg = title_bg.strip()
    criterion.description_en = description_en
    criterion.description_bg = description_bg
    criterion.guide_max = _guide_max(criterion.assignment, guide_max)
    db.session.flush()
    audit.record("rubric.criterion.update", criterion, actor=actor)
    return criterion


def delete_criterion(criterion: RubricCriterion, *, actor: User) -> None:
    """Remove a criterion and its levels."""
    assignment = criterion.assignment
    require_manager(actor, assignment.assessment.course)
    _unlocked(assignment)
    audit.record("rubric.criterion.delete", criterion, actor=actor, title=criterion.title_en)
    assignment.criteria.remove(criterion)
    db.session.flush()


def _check_level(title_en: str, points: Decimal | None) -> None:
    if not title_en.strip():
        raise AssignmentError(_("Give the level a title."))
    if points is None or not points.is_finite() or points < 0:
        raise AssignmentError(_("A level's points must be 0 or more."))


def add_level(
    criterion: RubricCriterion,
    *,
    title_en: str,
    points: Decimal,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    actor: User,
) -> RubricLevel:
    """Add a level with its points to a rubric criterion."""
    require_manager(actor, criterion.assignment.assessment.course)
    _unlocked(criterion.assignment)
    if criterion.assignment.marking != MarkingScheme.RUBRIC:
        raise AssignmentError(_("Only rubric criteria have levels."))
    _check_level(title_en, points)
    if any(level.points == points for level in criterion.levels):
        raise AssignmentError(_("This criterion already has a level worth %(p)s.", p=points))
    level = RubricLevel(
        title_en=title_en.strip(),
        title_bg=title_bg.strip(),
        description_en=description_en,
        description_bg=description_bg,
        points=points,
    )
    criterion.levels.append(level)
    db.session.flush()
    audit.record("rubric.level.add", level, actor=actor, criterion=criterion.id)
    return level


def update_level(
    level: RubricLevel,
    *,
    title_en: str,
    points: Decimal,
    title_bg: str = "",
    description_en: str = "",
    description_bg: str = "",
    actor: User,
) -> RubricLevel:
    """Change a level's text and points."""
    require_manager(actor, level.criterion.assignment.assessment.course)
    _unlocked(level.criterion.assignment)
    _check_level(title_en, points)
    if any(other.points == points for other in level.criterion.levels if other is not level):
        raise AssignmentError(_("This criterion already has a level worth %(p)s.", p=points))
    level.title_en = title_en.strip()
    level.title_bg = title_bg.strip()
    level.description_en = description_en
    level.description_bg = description_bg
    level.points = points
    db.session.flush()
    audit.record("rubric.level.update", level, actor=actor)
    return level


def delete_level(level: RubricLevel, *, actor: User) -> None:
    """Remove a level from its criterion."""
    require_manager(actor, level.criterion.assignment.assessment.course)
    criterion = level.criterion
    _unlocked(criterion.assignment)
    audit.record("rubric.level.delete", level, actor=actor, title=level.title_en)
    criterion.levels.remove(level)
    db.session.flush()


def rubric_problem(assignment: Assignment) -> str | None:
    """Say why the assignment cannot be marked yet (no criteria, a criterion without levels)."""
    if assignment.marking == MarkingScheme.POINTS:
        return None
    if not assignment.criteria:
        return _("Add at least one criterion before grading.")
    if assignment.marking == MarkingScheme.RUBRIC:
        for criterion in assignment.criteria:
            if not criterion.levels:
                return _("The criterion %(title)s has no levels yet.", title=criterion.tr("title"))
    if assignment.criteria_max <= 0:
        return _("The criteria can give no points.")
    return None


# --- submitting --------------------------------------------------------------------------


def latest_submission(assignment: Assignment, user: User, *, lock: bool = False):
    query = (
        sa.select(Submission)
        .where(Submission.assignment_id == assignment.id, Submission.user_id == user.id)
        .order_by(Submission.attempt.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def late_rule(assignment: Assignment) -> grading_rules.LateRule:
    return grading_rules.LateRule(
        grading_rules.LatePolicy(assignment.late_policy), assignment.late_percent_per_day
    )


def submission_refusal(
    assignment: Assignment, user: User, now: datetime | None = None, latest=None
) -> str | None:
    """Say why ``user`` may not hand in (another attempt) now, or None if they may."""
    now = now or utcnow()
    assessment = assignment.assessment
    if not assessment.published:
        return _("This assignment is not open yet.")
    if not is_enrolled(user, assessment):
        return _("Only trainees enrolled in this course can hand in this assignment.")
    outcome = grading_rules.late_outcome(late_rule(assignment), now, assessment.due_at)
    if not outcome.accepted:
        return _(
            "The due date (%(due)s) has passed and late submissions are not accepted.",
            due=format_moment(assessment.due_at),
        )
    if latest is None:
        latest = latest_submission(assignment, user)
    if latest is None:
        return None
    if assignment.resubmission == Resubmission.NEVER:
        return _("You have already handed in this assignment; it allows one submission.")
    if latest.status == SubmissionStatus.GRADED:
        return _("Your submission has been graded; it can no longer be replaced.")
    if (
        assignment.resubmission == Resubmission.UNTIL_DUE
        and assessment.due_at is not None
        and now > assessment.due_at
    ):
        return _("The due date has passed; your submission can no longer be replaced.")
    return None


def submit(
    assignment: Assignment,
    user: User,
    *,
    text: str = "",
    files: Sequence[StoredFile] = (),
    now: datetime | None = None,
    actor: User,
) -> Submission:
    """Hand in text and/or checked files as the trainee's next attempt.

    The caller puts the files in the store (``storage.keep``) before the rows commit.

    Only the trainee hands in their own work (``actor`` is ``user``).
    """
    require_self(actor, user)
    now = now or utcnow()
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        text = ""
    if text and not assignment.allow_text:
        raise AssignmentError(_("This assignment accepts files only, not text."))
    if files and not assignment.allow_files:
        raise AssignmentError(_("This assignment accepts text only, not files."))
    if not text and not files:
        raise AssignmentError(_("The submission is empty: write a text or attach a file."))
    if len(text) > MAX_TEXT_LENGTH:
        raise AssignmentError(
            _("The text is too long (at most %(n)s characters).", n=MAX_TEXT_LENGTH)
        )
    if len(files) > assignment.max_files:
        raise AssignmentError(_("Attach at most %(n)s files.", n=assignment.max_files))
    if any(f.type_key not in assignment.type_keys for f in files):
        raise AssignmentError(_("This type of file is not accepted."))
    # Locking the latest attempt serialises two submits (and a grader) for this trainee.
    latest = latest_submission(assignment, user, lock=True)
    refusal = submission_refusal(assignment, user, now, latest=latest)
    if refusal:
        raise AssignmentError(refusal)
    submission = Submission(
        assignment=assignment,
        user=user,
        attempt=(latest.attempt + 1) if latest else 1,
        text=text,
        submitted_at=now,
        days_late=grading_rules.days_late(now, assignment.assessment.due_at),
        status=SubmissionStatus.SUBMITTED,
        marking_status=MarkingStatus.DRAFT,
        files=[
            SubmissionFile(
                original_name=f.original_name,
                file_key=f.key,
                size=f.size,
                content_type=f.content_type,
                sha256=f.sha256,
            )
            for f in files
        ],
    )
    db.session.add(submission)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise AssignmentError(
            _("Another submission was handed in at the same moment. Reload and check.")
        ) from None
    audit.record(
        "assignment.submit",
        submission,
        actor=user,
        assignment=assignment.id,
        attempt=submission.attempt,
        files=[f.sha256 for f in files],
        days_late=submission.days_late,
    )
    logger.info(
        "user %s handed in attempt %s of assignment %s (%s files, %s days late)",
        user.id,
        submission.attempt,
        assignment.id,
        len(files),
        submission.days_late,
    )
    return submission


# --- marking -----------------------------------------------------------------------------


def _lock(submission: Submission) -> Submission:
    return db.session.scalars(
        sa.select(Submission)
        .where(Submission.id == submission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _check_grade_version(grade: Grade | None, expected: int | None) -> None:
    """Refuse a save based on a grade that changed since the page was loaded (0: none)."""
    if expected is None:
        return
    current = 0 if grade is None else grade.version
    if current != expected:
        raise StaleGrade(
            _("This grade was changed by someone else in the meantime. Reload and try again.")
        )


def _rubric_points(
    assignment: Assignment, choices: Mapping[int, int | Decimal | None]
) -> tuple[Decimal, list[tuple[RubricCriterion, RubricLevel | None, Decimal]]]:
    marks: list[tuple[RubricCriterion, RubricLevel | None, Decimal]] = []
    known = {c.id for c in assignment.criteria}
    stray = [key for key in choices if key not in known]
    if stray:
        raise AssignmentError(_("A mark was given for a criterion of another assignment."))
    for criterion in assignment.criteria:
        value = choices.get(criterion.id)
        title = criterion.tr("title")
        if value is None:
            raise AssignmentError(_("Give a mark for %(criterion)s.", criterion=title))
        if assignment.marking == MarkingScheme.RUBRIC:
            level = next((lv for lv in criterion.levels if lv.id == value), None)
            if level is None:
                raise AssignmentError(
                    _(
                        "The level chosen for %(criterion)s is not one of its levels.",
                        criterion=title,
                    )
                )
            marks.append((criterion, level, level.points))
        else:
            points = Decimal(value)
            maximum = criterion.guide_max or Decimal(0)
            if not points.is_finite() or points < 0 or points > maximum:
                raise AssignmentError(
                    _(
                        "The mark for %(criterion)s must be between 0 and %(max)s.",
                        criterion=title,
                        max=maximum,
                    )
                )
            marks.append((criterion, None, points))
    return sum((points for _c, _l, points in marks), Decimal(0)), marks


def mark(
    submission: Submission,
    *,
    actor: User,
    choices: Mapping[int, int | Decimal | None] | None = None,
    points: Decimal | None = None,
    feedback: str = "",
    expected_grade_version: int | None = None,
    expected_marking_version: int | None = None,
    release: bool = False,
) -> Submission:
    """Mark a submission with the rubric (or points) and save the grade as a draft.

    ``choices`` maps criterion ids to level ids (rubric) or points (marking
    guide). The grade is scaled to the assessment's points, the late penalty is
    applied, and the gradebook grade is written through set_grade. The grade
    and marking versions loaded with the page must still be current.
    """
    assignment = submission.assignment
    assessment = assignment.assessment
    require_manager(actor, assessment.course)
    user = submission.user
    submission = _lock(submission)
    if (
        expected_marking_version is not None
        and submission.marking_version != expected_marking_version
    ):
        raise StaleGrade(
            _("This submission was marked by someone else in the meantime. Reload and try again.")
        )
    latest = latest_submission(assignment, user)
    if latest is not None and latest.id != submission.id:
        raise AssignmentError(_("A newer attempt was handed in; mark that one instead."))
    if not is_enrolled(user, assessment):
        raise AssignmentError(
            _(
                "%(name)s is not enrolled in this course any more: the grade cannot be saved.",
                name=user.name,
            )
        )
    problem = rubric_problem(assignment)
    if problem:
        raise AssignmentError(problem)
    if len(feedback or "") > MAX_TEXT_LENGTH:
        raise AssignmentError(_("The feedback is too long."))

    criterion_marks: list[tuple[RubricCriterion, RubricLevel | None, Decimal]] = []
    if assignment.marking == MarkingScheme.POINTS:
        if points is None or not Decimal(points).is_finite():
            raise AssignmentError(_("Enter the points."))
        raw = Decimal(points)
        if raw < 0 or raw > assessment.max_points:
            raise AssignmentError(
                _("The points must be between 0 and %(max)s.", max=assessment.max_points)
            )
        scaled = raw
    else:
        raw, criterion_marks = _rubric_points(assignment, choices or {})
        maximum = assignment.criteria_max
        scaled = round_half_up(Fraction(raw) * Fraction(assessment.max_points) / Fraction(maximum))
        scaled = min(scaled, assessment.max_points)

    outcome = grading_rules.late_outcome(
        late_rule(assignment), submission.submitted_at, assessment.due_at
    )
    if outcome.accepted:
        final = grading_rules.apply_late_penalty(scaled, outcome)
        penalty = outcome.penalty_percent
    else:  # late under a refuse policy (the due date moved): staff chose to grade it anyway
        final, penalty = scaled, Decimal(0)

    grade = get_grade(assessment, user)
    _check_grade_version(grade, expected_grade_version)
    try:
        with db.session.begin_nested():
            set_grade(
                assessment,
                user,
                final,
                actor=actor,
                reason=_("Assignment marked (attempt %(n)s).", n=submission.attempt),
                release=release,
                expected_version=expected_grade_version or None,
            )
    except sa.exc.IntegrityError:
        # Both markers created the first grade at once: the other one won.
        raise StaleGrade(
            _("This grade was changed by someone else in the meantime. Reload and try again.")
        ) from None

    existing = {m.criterion_id: m for m in submission.marks}
    for criterion, level, value in criterion_marks:
        row = existing.pop(criterion.id, None)
        if row is None:
            submission.marks.append(CriterionMark(criterion=criterion, level=level, points=value))
        else:
            row.level = level
            row.points = value
    for row in existing.values():
        submission.marks.remove(row)
    now = utcnow()
    submission.raw_points = raw
    submission.points = final
    submission.penalty_percent = penalty
    submission.feedback = (feedback or "").replace("\r\n", "\n").strip()
    submission.status = SubmissionStatus.GRADED
    submission.graded_by = actor
    submission.graded_at = now
    submission.marking_status = MarkingStatus.RELEASED if release else MarkingStatus.DRAFT
    submission.released_at = now if release else None
    submission.marking_version += 1
    db.session.flush()
    audit.record(
        "assignment.mark",
        submission,
        actor=actor,
        raw=str(raw),
        points=str(final),
        penalty=str(penalty),
        released=release,
    )
    logger.info(
        "submission %s marked %s (raw %s, penalty %s%%) by %s",
        submission.id,
        final,
        raw,
        penalty,
        actor.id,
    )
    return submission


def release(submission: Submission, *, actor: User) -> Submission:
    """Show a marked submission's grade, rubric choices and feedback to its trainee."""
    require_manager(actor, submission.assignment.assessment.course)
    submission = _lock(submission)
    if submission.status != SubmissionStatus.GRADED:
        raise AssignmentError(_("Only a graded submission can be released."))
    latest = latest_submission(submission.assignment, submission.user)
    if latest is not None and latest.id != submission.id:
        raise AssignmentError(_("A newer attempt was handed in; mark that one instead."))
    assessment = submission.assignment.assessment
    grade = get_grade(assessment, submission.user)
    set_grade(
        assessment,
        submission.user,
        submission.points,
        actor=actor,
        reason=_("Assignment grade released."),
        release=True,
        expected_version=None if grade is None else grade.version,
    )
    if submission.marking_status != MarkingStatus.RELEASED:
        submission.marking_status = MarkingStatus.RELEASED
        submission.released_at = utcnow()
        submission.marking_version += 1
    db.session.flush()
    audit.record("assignment.release", submission, actor=actor)
    logger.info("submission %s released by %s", submission.id, actor.id)
    return submission


def release_all(assignment: Assignment, *, actor: User) -> int:
    """Release every graded, not yet released latest submission; return how many."""
    require_manager(actor, assignment.assessment.course)
    rows = db.session.scalars(
        sa.select(Submission)
        .where(Submission.assignment_id == assignment.id)
        .order_by(Submission.user_id, Submission.attempt.desc())
    ).all()
    seen: set[int] = set()
    released = 0
    for submission in rows:
        if submission.user_id in seen:
            continue
        seen.add(submission.user_id)
        if (
            submission.status == SubmissionStatus.GRADED
            and submission.marking_status == MarkingStatus.DRAFT
        ):
            release(submission, actor=actor)
            released += 1
    audit.record("assignment.release_all", assignment, actor=actor, released=released)
    return released
