"""Gradebook writes: categories, pass mark, manual assessments and grades, overrides, completion.

Course completion is recomputed inside the transaction that changed its
inputs: on every ``grade_changed`` signal, on lesson progress, on an override,
and for the whole course when the grading policy changes. Each recomputation
first locks the trainee's ``CourseCompletion`` row (creating it if needed), so
two transactions changing grades of the same trainee at once queue up and the
second computes from what the first committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from courses.access import require_manager
from courses.assessments.grades import GradeError, StaleGrade, get_grade, set_grade
from courses.assessments.grading_rules import (
    MAX_REASON_LENGTH,
    GradebookError,
    passes,
    validate_override,
    validate_pass_mark,
)
from courses.assessments.models import (
    Assessment,
    AssessmentKind,
    Grade,
    GradeCategory,
    GradeStatus,
)
from courses.gradebook import queries
from courses.gradebook.models import (
    CompletionChange,
    CourseCompletion,
    CourseGradeOverride,
    OverrideChange,
)
from courses.models import Course
from lms import audit
from lms.db import utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)


class SetupError(UserError):
    """A gradebook setting that cannot be saved; the message says why."""


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- categories ------------------------------------------------------------------------------


@dataclass
class CategoryData:
    name_en: str
    name_bg: str
    weight: Decimal
    drop_lowest: int


def _check_category(course: Course, data: CategoryData, category: GradeCategory | None) -> str:
    name = data.name_en.strip()
    if not name:
        raise SetupError(_("Give the category a name."))
    if data.weight is None or not Decimal(data.weight).is_finite() or data.weight < 0:
        raise SetupError(_("The weight cannot be negative."))
    if data.drop_lowest is None or data.drop_lowest < 0:
        raise SetupError(_("The number of lowest grades to drop cannot be negative."))
    query = sa.select(GradeCategory.id).where(
        GradeCategory.course_id == course.id, GradeCategory.name_en == name
    )
    if category is not None:
        query = query.where(GradeCategory.id != category.id)
    if db.session.scalar(query) is not None:
        raise SetupError(_("This course already has a category named %(name)s.", name=name))
    return name


def create_category(course: Course, data: CategoryData, *, actor: User) -> GradeCategory:
    """Add a weighted category to the course's gradebook."""
    require_manager(actor, course)
    name = _check_category(course, data, None)
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(GradeCategory.position), 0)).where(
            GradeCategory.course_id == course.id
        )
    ).scalar_one()
    category = GradeCategory(
        course=course,
        name_en=name,
        name_bg=data.name_bg.strip(),
        weight=data.weight,
        drop_lowest=data.drop_lowest,
        position=position + 1,
    )
    db.session.add(category)
    db.session.flush()
    audit.record(
        "grade_category.create",
        category,
        actor=actor,
        course=course.code,
        weight=str(data.weight),
        drop_lowest=data.drop_lowest,
    )
    logger.info("created grade category %s of course %s", category.id, course.code)
    _recompute_course(course, _("The category %(name)s was added.", name=name))
    return category


def update_category(category: GradeCategory, data: CategoryData, *, actor: User) -> GradeCategory:
    """Change a category's names, weight or drop-lowest."""
    require_manager(actor, category.course)
    name = _check_category(category.course, data, category)
    changes = {}
    for attr, new in (
        ("name_en", name),
        ("name_bg", data.name_bg.strip()),
        ("weight", Decimal(data.weight)),
        ("drop_lowest", data.drop_lowest),
    ):
        old = getattr(category, attr)
        if old != new:
            changes[attr] = [_text(old), _text(new)]
            setattr(category, attr, new)
    if not changes:
        return category
    db.session.flush()
    audit.record("grade_category.update", category, actor=actor, changes=changes)
    logger.info("updated grade category %s: %s", category.id, sorted(changes))
    _recompute_course(category.course, _("The category %(name)s was changed.", name=name))
    return category


def delete_category(category: GradeCategory, *, actor: User) -> None:
    """Delete a category that no assessment uses."""
    require_manager(actor, category.course)
    used = db.session.scalar(
        sa.select(sa.func.count(Assessment.id)).where(Assessment.category_id == category.id)
    )
    if used:
        raise SetupError(
            _(
                "The category %(name)s still holds %(count)s assessments; "
                "move them to another category first.",
                name=category.name_en,
                count=used,
            )
        )
    course = category.course
    audit.record("grade_category.delete", category, actor=actor, name=category.name_en)
    db.session.delete(category)
    db.session.flush()
    logger.info("deleted grade category %s of course %s", category.id, course.code)
    _recompute_course(course, _("The category %(name)s was deleted.", name=category.name_en))


def set_pass_mark(course: Course, value: object, *, actor: User) -> Course:
    """Set the course grade a trainee needs for completion (0 to 100)."""
    require_manager(actor, course)
    try:
        mark = validate_pass_mark(value)
    except GradebookError as error:
        raise SetupError(error.message) from None
    if mark != mark.quantize(Decimal("0.01")):
        raise SetupError(_("Use at most two decimal places."))
    old = course.pass_mark
    if old is not None and Decimal(old) == mark:
        return course
    course.pass_mark = mark
    db.session.flush()
    audit.record("course.pass_mark", course, actor=actor, old=_text(old), new=str(mark))
    logger.info("pass mark of course %s: %s -> %s", course.code, old, mark)
    _recompute_course(
        course, _("The pass mark changed from %(old)s to %(new)s.", old=old, new=mark)
    )
    return course


# --- assessments -----------------------------------------------------------------------------


@dataclass
class ManualAssessmentData:
    title_en: str
    title_bg: str
    description_en: str
    description_bg: str
    max_points: Decimal
    pass_percent: Decimal | None
    required: bool
    category: GradeCategory | None
    due_at: datetime | None
    published: bool


def _check_assessment(course: Course, data: ManualAssessmentData) -> None:
    if not data.title_en.strip():
        raise SetupError(_("Give the assessment a title."))
    if data.max_points is None or not data.max_points > 0:
        raise SetupError(_("The maximum points must be above 0."))
    if data.pass_percent is not None and not 0 <= data.pass_percent <= 100:
        raise SetupError(_("The pass percentage must be between 0 and 100."))
    if data.category is not None and data.category.course_id != course.id:
        raise SetupError(_("Choose a category of this course."))


def save_manual_assessment(
    course: Course,
    data: ManualAssessmentData,
    *,
    actor: User,
    assessment: Assessment | None = None,
) -> Assessment:
    """Create or change a manually graded assessment (an oral examination, a defence)."""
    require_manager(actor, course)
    if assessment is not None:
        require_manager(actor, assessment.course)
    _check_assessment(course, data)
    if assessment is not None:
        if assessment.kind != AssessmentKind.MANUAL:
            raise SetupError(_("Only manually graded assessments are edited here."))
        highest = db.session.scalar(
            sa.select(sa.func.max(Grade.points)).where(Grade.assessment_id == assessment.id)
        )
        if highest is not None and highest > data.max_points:
            raise SetupError(
                _(
                    "A trainee already has %(points)s points; the maximum cannot be lower.",
                    points=highest,
                )
            )
    creating = assessment is None
    if assessment is None:
        position = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.max(Assessment.position), 0)).where(
                Assessment.course_id == course.id
            )
        ).scalar_one()
        assessment = Assessment(course=course, kind=AssessmentKind.MANUAL, position=position + 1)
        db.session.add(assessment)
    changes = {}
    for attr in (
        "title_en",
        "title_bg",
        "description_en",
        "description_bg",
        "max_points",
        "pass_percent",
        "required",
        "due_at",
        "published",
    ):
        new = getattr(data, attr)
        if isinstance(new, str):
            new = new.strip()
        old = getattr(assessment, attr)
        if creating or old != new:
            changes[attr] = [_text(old), _text(new)]
            setattr(assessment, attr, new)
    if creating or assessment.category_id != (data.category and data.category.id):
        changes["category"] = [
            _text(assessment.category_id),
            _text(data.category and data.category.id),
        ]
        assessment.category = data.category
    db.session.flush()
    if not changes:
        return assessment
    audit.record(
        "assessment.create" if creating else "assessment.update",
        assessment,
        actor=actor,
        course=course.code,
        changes=None if creating else changes,
    )
    logger.info("%s manual assessment %s", "created" if creating else "updated", assessment.id)
    if not creating:
        _recompute_course(
            course, _("The assessment %(title)s was changed.", title=assessment.title_en)
        )
    return assessment


def set_assessment_category(
    assessment: Assessment, category: GradeCategory | None, *, actor: User
) -> Assessment:
    """Put any assessment of a course (quiz, assignment, manual) into one of its categories."""
    require_manager(actor, assessment.course)
    if category is not None and category.course_id != assessment.course_id:
        raise SetupError(_("Choose a category of this course."))
    new_id = None if category is None else category.id
    if assessment.category_id == new_id:
        return assessment
    old_id = assessment.category_id
    assessment.category = category
    db.session.flush()
    audit.record("assessment.category", assessment, actor=actor, old=old_id, new=new_id)
    logger.info("assessment %s moved to category %s", assessment.id, new_id)
    _recompute_course(
        assessment.course,
        _("The assessment %(title)s moved to another category.", title=assessment.title_en),
    )
    return assessment


# --- manual grades ---------------------------------------------------------------------------


def grade_manual(
    assessment: Assessment,
    user: User,
    points: Decimal | None,
    *,
    actor: User,
    reason: str = "",
    excused: bool = False,
    release: bool | None = None,
    expected_version: int | None = None,
) -> Grade:
    """Save a grade of a manually graded assessment; changing a grade needs a reason."""
    require_manager(actor, assessment.course)
    if assessment.kind != AssessmentKind.MANUAL:
        raise GradeError(_("This assessment is graded on its own page."))
    if points is None and not excused:
        raise GradeError(_("Enter the points, or mark the trainee as excused."))
    if excused:
        points = None
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise GradeError(
            _("The reason is too long (at most %(n)s characters).", n=MAX_REASON_LENGTH)
        )
    existing = get_grade(assessment, user)
    if existing is not None and (existing.points != points or existing.excused != excused):
        if expected_version is not None and existing.version != expected_version:
            raise StaleGrade(
                _("This grade was changed by someone else in the meantime. Reload and try again.")
            )
        if not reason:
            raise GradeError(_("Give a reason for changing an existing grade."))
    try:
        # A savepoint, so that two first grades saved at once end as a clear
        # refusal for the second (the unique constraint) rather than a broken session.
        with db.session.begin_nested():
            return set_grade(
                assessment,
                user,
                points,
                actor=actor,
                reason=reason,
                release=release,
                excused=excused,
                expected_version=expected_version,
            )
    except sa.exc.IntegrityError as error:
        raise StaleGrade(
            _("This grade was changed by someone else in the meantime. Reload and try again.")
        ) from error


def release_manual_grades(
    assessment: Assessment, *, actor: User, user_ids: list[int] | None = None
) -> int:
    """Release every draft grade of a manual assessment (of ``user_ids`` if given)."""
    require_manager(actor, assessment.course)
    if assessment.kind != AssessmentKind.MANUAL:
        raise GradeError(_("This assessment is graded and released on its own page."))
    query = (
        sa.select(Grade)
        .where(Grade.assessment_id == assessment.id, Grade.status == "draft")
        .order_by(Grade.id)
    )
    if user_ids is not None:
        query = query.where(Grade.user_id.in_(user_ids))
    # Trainees who left keep their drafts: a grade is only written for someone enrolled.
    query = query.where(Grade.user_id.in_(queries.members(assessment.course)))
    drafts = list(db.session.scalars(query))
    for grade in drafts:
        set_grade(
            assessment,
            grade.user,
            grade.points,
            actor=actor,
            excused=grade.excused,
            release=True,
            expected_version=grade.version,
            reason=_("Released."),
        )
    logger.info("released %s grades of assessment %s", len(drafts), assessment.id)
    return len(drafts)


# --- overrides -------------------------------------------------------------------------------


def _locked_override(course: Course, user: User) -> CourseGradeOverride | None:
    return db.session.scalar(
        sa.select(CourseGradeOverride)
        .where(CourseGradeOverride.course_id == course.id, CourseGradeOverride.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _computed_grade(course: Course, user: User) -> Decimal | None:
    row = queries.compute_gradebook(course, user_ids=[user.id]).row_for(user.id)
    return None if row is None else row.result.computed


def set_override(
    course: Course, user: User, value: object, reason: object, *, actor: User
) -> CourseGradeOverride:
    """Replace ``user``'s computed course grade by ``value`` (0-100), with a required reason."""
    require_manager(actor, course)
    if not queries.is_member(course, user):
        raise GradebookError(_("%(name)s is not enrolled in this course.", name=user.name))
    override = validate_override(value, reason)
    row = _locked_override(course, user)
    if row is None:
        try:
            with db.session.begin_nested():
                row = CourseGradeOverride(course=course, user=user)
                db.session.add(row)
        except sa.exc.IntegrityError:
            row = _locked_override(course, user)
            assert row is not None, "the IntegrityError was another request inserting it"
    old = row.value
    row.value = override.value
    row.reason = override.reason
    row.set_by = actor
    row.set_at = utcnow()
    computed = _computed_grade(course, user)
    db.session.add(
        OverrideChange(
            override=row,
            old_value=old,
            new_value=override.value,
            computed=computed,
            changed_by=actor,
            reason=override.reason,
        )
    )
    db.session.flush()
    audit.record(
        "grade_override.set",
        row,
        actor=actor,
        course=course.code,
        user=user.id,
        old=_text(old) or None,
        new=str(override.value),
        reason=override.reason,
    )
    logger.info("override of user %s in %s: %s -> %s", user.id, course.code, old, override.value)
    _recompute_completion(
        course,
        user.id,
        _(
            "The course grade was overridden to %(value)s: %(reason)s",
            value=override.value,
            reason=override.reason,
        ),
        take_back=_below_pass_mark,
    )
    return row


def remove_override(
    course: Course, user: User, reason: object, *, actor: User
) -> CourseGradeOverride:
    """Remove the override so the computed grade counts again; the reason is required."""
    require_manager(actor, course)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise GradebookError(_("Give a reason for removing the override."))
    if len(text) > MAX_REASON_LENGTH:
        raise GradebookError(
            _("The reason is too long (at most %(n)s characters).", n=MAX_REASON_LENGTH)
        )
    row = _locked_override(course, user)
    if row is None or row.value is None:
        raise GradebookError(_("There is no override to remove."))
    old = row.value
    row.value = None
    row.reason = text
    row.set_by = actor
    row.set_at = utcnow()
    db.session.add(
        OverrideChange(
            override=row,
            old_value=old,
            new_value=None,
            computed=_computed_grade(course, user),
            changed_by=actor,
            reason=text,
        )
    )
    db.session.flush()
    audit.record(
        "grade_override.remove", row, actor=actor, course=course.code, user=user.id, reason=text
    )
    logger.info("removed override of user %s in %s (was %s)", user.id, course.code, old)
    _recompute_completion(
        course,
        user.id,
        _("The course grade override was removed: %(reason)s", reason=text),
        take_back=_below_pass_mark,
    )
    return row


# --- completion ------------------------------------------------------------------------------
#
# A completion is recorded when it is reached and then kept: course-wide changes
# (a lesson or assessment published, a category or the pass mark changed) never
# take it back, so a trainee who finished, and may be certified, stays finished.
# Only a change to the trainee's own record can: a released grade corrected so a
# required assessment is no longer passed or the course grade falls below the
# pass mark, an override changed the same way, or a required lesson marked not
# done by the trainee. Each recompute says which of these may take it back.

#: Decides, from the trainee's recomputed gradebook row, whether the change that
#: triggered the recompute takes back a completion already reached.
TakeBack = Callable[[queries.TraineeRow], bool]


def _below_pass_mark(row: queries.TraineeRow) -> bool:
    assert row.record is not None, "recompute_completion sets the record before take_back"
    mark = row.record.course.pass_mark
    grade = row.result.grade
    return mark is not None and (grade is None or not passes(grade, mark))


def _lock_completions(course: Course, user_ids: list[int]) -> dict[int, CourseCompletion]:
    """Create missing completion rows of ``user_ids`` and lock them all, by id order."""
    if not user_ids:
        return {}
    query = (
        sa.select(CourseCompletion)
        .where(CourseCompletion.course_id == course.id, CourseCompletion.user_id.in_(user_ids))
        .order_by(CourseCompletion.id)
    )
    existing = set(
        db.session.scalars(
            sa.select(CourseCompletion.user_id).where(
                CourseCompletion.course_id == course.id, CourseCompletion.user_id.in_(user_ids)
            )
        )
    )
    missing = [uid for uid in user_ids if uid not in existing]
    if missing:
        try:
            with db.session.begin_nested():
                db.session.add_all(
                    CourseCompletion(user_id=uid, course_id=course.id) for uid in missing
                )
        except sa.exc.IntegrityError:
            # Another transaction created some of them; add the rest one by one.
            for uid in missing:
                try:
                    with db.session.begin_nested():
                        db.session.add(CourseCompletion(user_id=uid, course_id=course.id))
                except sa.exc.IntegrityError:
                    logger.debug("completion row of user %s created concurrently", uid)
    rows = db.session.scalars(query.with_for_update().execution_options(populate_existing=True))
    return {row.user_id: row for row in rows}


def _apply(
    record: CourseCompletion,
    complete: bool,
    grade: Decimal | None,
    reason: str,
    *,
    take_back: bool = False,
) -> bool:
    """Write a new completion state and its history row; return whether anything changed.

    A completion already reached is kept unless ``take_back`` (module comment above).
    """
    if record.completed and not complete and not take_back:
        complete = True
    if record.completed == complete and record.grade == grade:
        return False
    was = record.completed
    now = utcnow()
    if complete and not was:
        record.completed_at = now
    elif not complete:
        record.completed_at = None
    record.completed = complete
    record.grade = grade
    record.updated_at = now
    reason = reason[:MAX_REASON_LENGTH]
    db.session.add(
        CompletionChange(
            completion=record, completed=complete, grade=grade, changed_at=now, reason=reason
        )
    )
    if complete != was:
        audit.record(
            "completion.gained" if complete else "completion.lost",
            record,
            actor=None,
            course=record.course_id,
            user=record.user_id,
            grade=_text(grade) or None,
            reason=reason,
        )
        logger.info(
            "user %s %s course %s (%s)",
            record.user_id,
            "completed" if complete else "no longer completes",
            record.course_id,
            reason,
        )
    return True


def recompute_completion(
    course: Course,
    user_id: int,
    reason: str,
    *,
    actor: User | None,
    take_back: TakeBack | None = None,
) -> CourseCompletion | None:
    """Recompute one trainee's completion when ``actor`` (the course's staff) asks.

    ``actor=None`` is the system itself (the demo loaders, the command line).
    """
    if actor is not None:
        require_manager(actor, course)
    return _recompute_completion(course, user_id, reason, take_back=take_back)


def _recompute_completion(
    course: Course, user_id: int, reason: str, *, take_back: TakeBack | None = None
) -> CourseCompletion | None:
    """Recompute one trainee's completion of ``course`` and record any change.

    ``take_back`` decides whether the change may undo a completion already
    reached (by default it may not). Returns the record, or None when the
    trainee holds no active place.
    """
    if not db.session.scalar(queries.members(course, user_ids=[user_id]).limit(1)):
        return None
    record = _lock_completions(course, [user_id])[user_id]
    row = queries.compute_gradebook(course, user_ids=[user_id]).row_for(user_id)
    assert row is not None, "an active member has a gradebook row"
    row.record = record
    undo = take_back is not None and not row.completion.complete and take_back(row)
    _apply(record, row.completion.complete, row.result.grade, reason, take_back=undo)
    db.session.flush()
    return record


def recompute_course(course: Course, reason: str, *, actor: User | None) -> int:
    """Recompute the course's completions when ``actor`` (its staff) asks; None: the system."""
    if actor is not None:
        require_manager(actor, course)
    return _recompute_course(course, reason)


def _recompute_course(course: Course, reason: str) -> int:
    """Recompute every active trainee's completion of ``course``; return how many changed.

    A course-wide change never takes back a completion already reached.
    """
    user_ids = list(db.session.scalars(queries.members(course).distinct()))
    records = _lock_completions(course, user_ids)
    book = queries.compute_gradebook(course)
    changed = sum(
        _apply(records[row.user.id], row.completion.complete, row.result.grade, reason)
        for row in book.rows
        if row.user.id in records
    )
    db.session.flush()
    if changed:
        logger.info("recomputed completion of %s: %s changed", course.code, changed)
    return changed


# --- signal receivers --------------------------------------------------------------------------


@dataclass(frozen=True)
class _OldGrade:
    """A grade as it was before a change, enough to tell whether it passed."""

    status: str | None
    points: Decimal | None


def on_grade_changed(grade: Grade, change=None, **_extra) -> None:
    """Recompute the trainee's completion after a released grade changed (drafts never count)."""
    if change is not None and GradeStatus.RELEASED not in (change.old_status, change.new_status):
        return
    assessment = grade.assessment
    # Only a correction takes a completion back: a grade that counted and passed
    # before this change. A first grade for work added later never does.
    before = None if change is None else _OldGrade(change.old_status, change.old_points)
    passed_before = before is not None and queries.passed(before, assessment)

    def take_back(row: queries.TraineeRow) -> bool:
        assert row.record is not None, "recompute_completion sets the record before take_back"
        recorded = row.record.grade  # the course grade before this change
        mark = row.record.course.pass_mark
        if recorded is not None and passes(recorded, mark) and _below_pass_mark(row):
            return True
        counts = assessment.published and assessment.required and passed_before
        return counts and not queries.passed(row.grades.get(assessment.id), assessment)

    _recompute_completion(
        assessment.course,
        grade.user_id,
        _(
            "The grade for %(assessment)s changed from %(old)s to %(new)s (%(status)s).",
            assessment=assessment.title_en,
            old=_text(None if change is None else change.old_points) or "-",
            new=_text(grade.points) or ("excused" if grade.excused else "-"),
            status=grade.status,
        ),
        take_back=take_back,
    )


def on_lesson_progress_changed(user: User, lesson=None, done: bool = True, **_extra) -> None:
    """Recompute the trainee's completion after a lesson was marked done or not done."""
    course = lesson.module.course
    if done:
        reason = _("The lesson %(title)s was marked done.", title=lesson.title_en)
    else:
        reason = _("The lesson %(title)s was marked not done.", title=lesson.title_en)
    undone = not done and lesson.required and lesson.published
    _recompute_completion(course, user.id, reason, take_back=lambda _row: undone)


def on_lesson_publication_changed(lesson, published: bool = True, **_extra) -> None:
    """Recompute the course's completions after a lesson was published or returned to draft.

    Publishing never takes a completion back; a lesson returned to draft may
    complete trainees who did everything else.
    """
    course = lesson.module.course
    if published:
        reason = _("The lesson %(title)s was published.", title=lesson.title_en)
    else:
        reason = _("The lesson %(title)s was returned to draft.", title=lesson.title_en)
    _recompute_course(course, reason)
