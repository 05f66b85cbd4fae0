"""Changes to curricula: programmes, courses, modules, lessons and learning outcomes.

Every function takes the ``actor`` who asks, refuses with
:class:`courses.access.NotAllowed` unless they may (the course's staff for a
course's contents, instructors to create a course, admins for programmes and for
who teaches a course), changes state, flushes, writes the audit log and returns
the object; none commits. Reordering swaps two rows through a free temporary position so the
``(parent, position)`` unique constraints hold after every statement, as
PostgreSQL checks them row by row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from blinker import Namespace
from flask_babel import gettext as _

from courses.access import NotAllowed as NotAllowed
from courses.access import require_admin, require_instructor, require_manager
from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    LearningOutcome,
    Lesson,
    LessonProgress,
    Module,
    Programme,
    ProgrammeCourse,
)
from lms import audit
from lms.db import utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)

_signals = Namespace()
#: Sent after a lesson was published or returned to draft and flushed:
#: ``sender=lesson, published=bool`` (course completion listens).
lesson_publication_changed = _signals.signal("lesson-publication-changed")

CODE_MAX = 32
TITLE_MAX = 200
OUTCOME_MAX = 500
SUMMARY_MAX = 10_000
BODY_MAX = 200_000
WORKLOAD_HOURS_MAX = 10_000
WORKLOAD_MINUTES_MAX = 100_000
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
UP, DOWN = "up", "down"


class CurriculumError(UserError):
    """A change to a curriculum that is not allowed; the message says why."""


def normalise_code(code: str) -> str:
    """Return a course or programme code as stored: trimmed and upper-cased."""
    return (code or "").strip().upper()


def _check_code(code: str) -> str:
    code = normalise_code(code)
    if not code:
        raise CurriculumError(_("A code is required."))
    if len(code) > CODE_MAX:
        raise CurriculumError(_("A code has at most %(max)s characters.", max=CODE_MAX))
    if not CODE_PATTERN.match(code):
        raise CurriculumError(
            _("A code uses only letters A-Z, digits, dots, dashes and underscores.")
        )
    return code


def _check_text(value: str | None, *, required: bool, max_length: int, label: str) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CurriculumError(_("%(field)s is required.", field=label))
    if len(value) > max_length:
        raise CurriculumError(
            _("%(field)s has at most %(max)s characters.", field=label, max=max_length)
        )
    return value


def _check_body(value: str | None, *, label: str) -> str:
    # Markdown bodies keep their whitespace: indentation means code blocks.
    value = value or ""
    if len(value) > BODY_MAX:
        raise CurriculumError(
            _("%(field)s has at most %(max)s characters.", field=label, max=BODY_MAX)
        )
    return value if value.strip() else ""


def _check_workload(value: int, maximum: int) -> int:
    if value is None or value < 0 or value > maximum:
        raise CurriculumError(_("The workload must be between 0 and %(max)s.", max=maximum))
    return int(value)


def _lock(obj) -> None:
    """Lock the parent row so concurrent reorders and appends queue up (PostgreSQL)."""
    mapper = sa.inspect(type(obj))
    pk = mapper.primary_key[0]
    db.session.execute(sa.select(pk).where(pk == obj.id).with_for_update())


# --- courses ---------------------------------------------------------------


def course_code_taken(code: str, *, exclude: Course | None = None) -> bool:
    """Return True if another course already uses ``code`` (compared upper-cased)."""
    stmt = sa.select(Course.id).where(Course.code == normalise_code(code))
    if exclude is not None and exclude.id is not None:
        stmt = stmt.where(Course.id != exclude.id)
    return db.session.scalar(stmt) is not None


def _course_fields(code, title_en, title_bg, summary_en, summary_bg, workload_hours) -> dict:
    return {
        "code": _check_code(code),
        "title_en": _check_text(
            title_en, required=True, max_length=TITLE_MAX, label=_("The English title")
        ),
        "title_bg": _check_text(
            title_bg, required=False, max_length=TITLE_MAX, label=_("The Bulgarian title")
        ),
        "summary_en": _check_text(
            summary_en, required=False, max_length=SUMMARY_MAX, label=_("The English summary")
        ),
        "summary_bg": _check_text(
            summary_bg, required=False, max_length=SUMMARY_MAX, label=_("The Bulgarian summary")
        ),
        "workload_hours": _check_workload(workload_hours, WORKLOAD_HOURS_MAX),
    }


def create_course(
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    summary_en: str = "",
    summary_bg: str = "",
    workload_hours: int = 0,
    actor: User,
) -> Course:
    """Create a draft course taught by the instructor who creates it."""
    require_instructor(actor)
    creator = actor
    fields = _course_fields(code, title_en, title_bg, summary_en, summary_bg, workload_hours)
    if course_code_taken(fields["code"]):
        raise CurriculumError(_("A course with the code %(code)s already exists.", **fields))
    course = Course(state=CourseState.DRAFT, instructors=[creator], **fields)
    db.session.add(course)
    db.session.flush()
    audit.record("course.create", course, actor=creator, code=course.code)
    logger.info("course %s created by user %s", course.code, creator.id)
    return course


def update_course(
    course: Course,
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    summary_en: str = "",
    summary_bg: str = "",
    workload_hours: int = 0,
    instructors: Sequence[User] | None = None,
    actor: User,
) -> Course:
    """Change a course's details and, when ``instructors`` is given (admins), who teaches it."""
    require_manager(actor, course)
    if instructors is not None:
        require_admin(actor)
    fields = _course_fields(code, title_en, title_bg, summary_en, summary_bg, workload_hours)
    if course_code_taken(fields["code"], exclude=course):
        raise CurriculumError(_("A course with the code %(code)s already exists.", **fields))
    changed = sorted(k for k, v in fields.items() if getattr(course, k) != v)
    for key, value in fields.items():
        setattr(course, key, value)
    if instructors is not None:
        if not instructors:
            raise CurriculumError(_("A course needs at least one instructor."))
        before = {u.id for u in course.instructors}
        if before != {u.id for u in instructors}:
            course.instructors = list(instructors)
            changed.append("instructors")
    db.session.flush()
    audit.record(
        "course.update",
        course,
        actor=actor,
        changed=changed,
        instructors=[u.id for u in course.instructors] if "instructors" in changed else None,
    )
    logger.info("course %s updated: %s", course.code, changed)
    return course


def _course_has_trainees(course: Course) -> bool:
    stmt = (
        sa.select(Enrolment.id)
        .join(Cohort)
        .where(
            Cohort.course_id == course.id,
            Enrolment.status.in_([EnrolmentStatus.ACTIVE, EnrolmentStatus.WAITLISTED]),
        )
        .limit(1)
    )
    return db.session.scalar(stmt) is not None


def set_course_state(course: Course, state: str, *, actor: User) -> Course:
    """Publish, archive or return a course to draft."""
    require_manager(actor, course)
    try:
        state = CourseState(state)
    except ValueError:
        raise CurriculumError(_("Unknown course state.")) from None
    if course.state == state:
        return course
    if state == CourseState.PUBLISHED:
        lessons = db.session.scalar(
            sa.select(sa.func.count(Lesson.id)).join(Module).where(Module.course_id == course.id)
        )
        if not lessons:
            raise CurriculumError(_("Add at least one lesson before publishing the course."))
        course.published_at = course.published_at or utcnow()
    if state == CourseState.DRAFT and _course_has_trainees(course):
        raise CurriculumError(
            _("Trainees are enrolled in this course; archive it instead of making it a draft.")
        )
    previous = course.state
    course.state = state
    db.session.flush()
    audit.record(f"course.{state}", course, actor=actor, previous=str(previous))
    logger.info("course %s: %s -> %s", course.code, previous, state)
    return course


# --- ordering --------------------------------------------------------------


def _next_position(column, parent_column, parent_id: int) -> int:
    current = db.session.scalar(sa.select(sa.func.max(column)).where(parent_column == parent_id))
    return (current or 0) + 1


def _swap(item, siblings: list, direction: str) -> bool:
    """Swap ``item`` with its neighbour in ``direction``; False if it is already at the end."""
    if direction not in (UP, DOWN):
        raise CurriculumError(_("Unknown direction."))
    index = next(i for i, s in enumerate(siblings) if s.id == item.id)
    other_index = index - 1 if direction == UP else index + 1
    if not 0 <= other_index < len(siblings):
        return False
    other = siblings[other_index]
    mine, theirs = item.position, other.position
    # Positions are >= 1, so 0 is free; a flush after each step keeps the
    # unique constraint satisfied after every single UPDATE.
    item.position = 0
    db.session.flush()
    other.position = mine
    db.session.flush()
    item.position = theirs
    db.session.flush()
    return True


def _siblings(model, parent_column, parent_id: int) -> list:
    return list(
        db.session.scalars(
            sa.select(model)
            .where(parent_column == parent_id)
            .order_by(model.position)
            .execution_options(populate_existing=True)
        )
    )


# --- modules ---------------------------------------------------------------


def add_module(course: Course, *, title_en: str, title_bg: str = "", actor: User) -> Module:
    """Append a module to a course."""
    require_manager(actor, course)
    _lock(course)
    module = Module(
        course=course,
        position=_next_position(Module.position, Module.course_id, course.id),
        title_en=_check_text(
            title_en, required=True, max_length=TITLE_MAX, label=_("The English title")
        ),
        title_bg=_check_text(
            title_bg, required=False, max_length=TITLE_MAX, label=_("The Bulgarian title")
        ),
    )
    db.session.add(module)
    db.session.flush()
    audit.record("module.create", module, actor=actor, course=course.code)
    logger.info("module %s added to course %s", module.id, course.code)
    return module


def update_module(module: Module, *, title_en: str, title_bg: str = "", actor: User) -> Module:
    """Rename a module."""
    require_manager(actor, module.course)
    module.title_en = _check_text(
        title_en, required=True, max_length=TITLE_MAX, label=_("The English title")
    )
    module.title_bg = _check_text(
        title_bg, required=False, max_length=TITLE_MAX, label=_("The Bulgarian title")
    )
    db.session.flush()
    audit.record("module.update", module, actor=actor, course=module.course.code)
    logger.info("module %s updated", module.id)
    return module


def delete_module(module: Module, *, actor: User) -> None:
    """Delete a module that has no lessons."""
    require_manager(actor, module.course)
    if module.lessons:
        raise CurriculumError(_("Only an empty module can be deleted; move or delete its lessons."))
    course = module.course
    audit.record("module.delete", module, actor=actor, course=course.code, title=module.title_en)
    course.modules.remove(module)
    db.session.delete(module)
    db.session.flush()
    logger.info("module %s deleted from course %s", module.id, course.code)


def move_module(module: Module, direction: str, *, actor: User) -> bool:
    """Move a module one place up or down in its course."""
    require_manager(actor, module.course)
    _lock(module.course)
    moved = _swap(module, _siblings(Module, Module.course_id, module.course_id), direction)
    if moved:
        audit.record(
            "module.move", module, actor=actor, direction=direction, position=module.position
        )
    return moved


# --- lessons ---------------------------------------------------------------


def _lesson_fields(title_en, title_bg, body_en, body_bg, workload_minutes, required) -> dict:
    return {
        "title_en": _check_text(
            title_en, required=True, max_length=TITLE_MAX, label=_("The English title")
        ),
        "title_bg": _check_text(
            title_bg, required=False, max_length=TITLE_MAX, label=_("The Bulgarian title")
        ),
        "body_en": _check_body(body_en, label=_("The English text")),
        "body_bg": _check_body(body_bg, label=_("The Bulgarian text")),
        "workload_minutes": _check_workload(workload_minutes, WORKLOAD_MINUTES_MAX),
        "required": bool(required),
    }


def add_lesson(
    module: Module,
    *,
    title_en: str,
    title_bg: str = "",
    body_en: str = "",
    body_bg: str = "",
    workload_minutes: int = 0,
    required: bool = True,
    published: bool = True,
    actor: User,
) -> Lesson:
    """Append a lesson to a module; a draft (``published`` False) is seen by staff only."""
    require_manager(actor, module.course)
    fields = _lesson_fields(title_en, title_bg, body_en, body_bg, workload_minutes, required)
    _lock(module.course)
    lesson = Lesson(
        module=module,
        position=_next_position(Lesson.position, Lesson.module_id, module.id),
        published=bool(published),
        **fields,
    )
    db.session.add(lesson)
    db.session.flush()
    audit.record(
        "lesson.create",
        lesson,
        actor=actor,
        course=module.course.code,
        module=module.id,
        published=lesson.published,
    )
    logger.info("lesson %s added to module %s", lesson.id, module.id)
    if lesson.published:
        lesson_publication_changed.send(lesson, published=True)
    return lesson


def set_lesson_published(lesson: Lesson, published: bool, *, actor: User) -> bool:
    """Publish a draft lesson or return it to draft; return whether anything changed.

    Publishing a required lesson never takes back a completion already reached
    (see the course completion rules); returning one to draft may let trainees
    who did everything else complete.
    """
    require_manager(actor, lesson.module.course)
    published = bool(published)
    if lesson.published == published:
        return False
    lesson.published = published
    db.session.flush()
    audit.record(
        "lesson.publish" if published else "lesson.unpublish",
        lesson,
        actor=actor,
        course=lesson.module.course.code,
    )
    logger.info("lesson %s %s", lesson.id, "published" if published else "returned to draft")
    lesson_publication_changed.send(lesson, published=published)
    return True


def update_lesson(
    lesson: Lesson,
    *,
    title_en: str,
    title_bg: str = "",
    body_en: str = "",
    body_bg: str = "",
    workload_minutes: int = 0,
    required: bool = True,
    module: Module | None = None,
    actor: User,
) -> Lesson:
    """Change a lesson; given another ``module`` of the same course, move it to that one's end.

    Publishing is separate (:func:`set_lesson_published`).
    """
    require_manager(actor, lesson.module.course)
    fields = _lesson_fields(title_en, title_bg, body_en, body_bg, workload_minutes, required)
    if module is not None and module.course_id != lesson.module.course_id:
        raise CurriculumError(_("A lesson can only move to a module of the same course."))
    changed = sorted(k for k, v in fields.items() if getattr(lesson, k) != v)
    for key, value in fields.items():
        setattr(lesson, key, value)
    if module is not None and module.id != lesson.module_id:
        _lock(module.course)
        old = lesson.module
        lesson.position = _next_position(Lesson.position, Lesson.module_id, module.id)
        old.lessons.remove(lesson)
        module.lessons.append(lesson)
        changed.append("module")
        logger.info("lesson %s moved from module %s to %s", lesson.id, old.id, module.id)
    db.session.flush()
    audit.record("lesson.update", lesson, actor=actor, changed=changed, module=lesson.module_id)
    logger.info("lesson %s updated: %s", lesson.id, changed)
    if "required" in changed and lesson.published:
        lesson_publication_changed.send(lesson, published=True)
    return lesson


def lesson_has_progress(lesson: Lesson) -> bool:
    """Return True if any trainee has marked the lesson done."""
    stmt = sa.select(LessonProgress.id).where(LessonProgress.lesson_id == lesson.id).limit(1)
    return db.session.scalar(stmt) is not None


def delete_lesson(lesson: Lesson, *, actor: User) -> None:
    """Delete a lesson no trainee has completed yet."""
    require_manager(actor, lesson.module.course)
    if lesson_has_progress(lesson):
        raise CurriculumError(
            _("Trainees have completed this lesson; it cannot be deleted, only edited.")
        )
    module = lesson.module
    audit.record("lesson.delete", lesson, actor=actor, module=module.id, title=lesson.title_en)
    module.lessons.remove(lesson)
    db.session.delete(lesson)
    db.session.flush()
    logger.info("lesson %s deleted from module %s", lesson.id, module.id)


def move_lesson(lesson: Lesson, direction: str, *, actor: User) -> bool:
    """Move a lesson one place up or down in its module."""
    require_manager(actor, lesson.module.course)
    _lock(lesson.module.course)
    moved = _swap(lesson, _siblings(Lesson, Lesson.module_id, lesson.module_id), direction)
    if moved:
        audit.record(
            "lesson.move", lesson, actor=actor, direction=direction, position=lesson.position
        )
    return moved


# --- learning outcomes -----------------------------------------------------


def add_outcome(course: Course, *, text_en: str, text_bg: str = "", actor: User) -> LearningOutcome:
    """Append a learning outcome to a course."""
    require_manager(actor, course)
    _lock(course)
    outcome = LearningOutcome(
        course=course,
        position=_next_position(LearningOutcome.position, LearningOutcome.course_id, course.id),
        text_en=_check_text(
            text_en, required=True, max_length=OUTCOME_MAX, label=_("The English text")
        ),
        text_bg=_check_text(
            text_bg, required=False, max_length=OUTCOME_MAX, label=_("The Bulgarian text")
        ),
    )
    db.session.add(outcome)
    db.session.flush()
    audit.record("outcome.create", outcome, actor=actor, course=course.code)
    logger.info("outcome %s added to course %s", outcome.id, course.code)
    return outcome


def update_outcome(
    outcome: LearningOutcome, *, text_en: str, text_bg: str = "", actor: User
) -> LearningOutcome:
    """Change a learning outcome's text."""
    require_manager(actor, outcome.course)
    outcome.text_en = _check_text(
        text_en, required=True, max_length=OUTCOME_MAX, label=_("The English text")
    )
    outcome.text_bg = _check_text(
        text_bg, required=False, max_length=OUTCOME_MAX, label=_("The Bulgarian text")
    )
    db.session.flush()
    audit.record("outcome.update", outcome, actor=actor, course=outcome.course.code)
    logger.info("outcome %s updated", outcome.id)
    return outcome


def delete_outcome(outcome: LearningOutcome, *, actor: User) -> None:
    """Delete a learning outcome."""
    require_manager(actor, outcome.course)
    course = outcome.course
    audit.record("outcome.delete", outcome, actor=actor, course=course.code, text=outcome.text_en)
    course.outcomes.remove(outcome)
    db.session.delete(outcome)
    db.session.flush()
    logger.info("outcome %s deleted from course %s", outcome.id, course.code)


def move_outcome(outcome: LearningOutcome, direction: str, *, actor: User) -> bool:
    """Move a learning outcome one place up or down."""
    require_manager(actor, outcome.course)
    _lock(outcome.course)
    siblings = _siblings(LearningOutcome, LearningOutcome.course_id, outcome.course_id)
    moved = _swap(outcome, siblings, direction)
    if moved:
        audit.record(
            "outcome.move", outcome, actor=actor, direction=direction, position=outcome.position
        )
    return moved


# --- programmes ------------------------------------------------------------


def programme_code_taken(code: str, *, exclude: Programme | None = None) -> bool:
    """Return True if another programme already uses ``code``."""
    stmt = sa.select(Programme.id).where(Programme.code == normalise_code(code))
    if exclude is not None and exclude.id is not None:
        stmt = stmt.where(Programme.id != exclude.id)
    return db.session.scalar(stmt) is not None


def _programme_fields(code, title_en, title_bg, summary_en, summary_bg) -> dict:
    return {
        "code": _check_code(code),
        "title_en": _check_text(
            title_en, required=True, max_length=TITLE_MAX, label=_("The English title")
        ),
        "title_bg": _check_text(
            title_bg, required=False, max_length=TITLE_MAX, label=_("The Bulgarian title")
        ),
        "summary_en": _check_text(
            summary_en, required=False, max_length=SUMMARY_MAX, label=_("The English summary")
        ),
        "summary_bg": _check_text(
            summary_bg, required=False, max_length=SUMMARY_MAX, label=_("The Bulgarian summary")
        ),
    }


def _set_programme_courses(programme: Programme, courses: Sequence[Course]) -> None:
    if len({c.id for c in courses}) != len(courses):
        raise CurriculumError(_("A course appears twice in the programme."))
    if [link.course_id for link in programme.course_links] == [c.id for c in courses]:
        return
    # Remove the old links in their own flush, so the new rows (same keys,
    # other positions) never meet them in one statement batch.
    programme.course_links.clear()
    db.session.flush()
    programme.course_links.extend(
        ProgrammeCourse(course=course, position=i) for i, course in enumerate(courses, 1)
    )


def create_programme(
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    summary_en: str = "",
    summary_bg: str = "",
    courses: Sequence[Course] = (),
    actor: User,
) -> Programme:
    """Create a draft programme with its ordered courses."""
    require_admin(actor)
    fields = _programme_fields(code, title_en, title_bg, summary_en, summary_bg)
    if programme_code_taken(fields["code"]):
        raise CurriculumError(_("A programme with the code %(code)s already exists.", **fields))
    programme = Programme(state=CourseState.DRAFT, **fields)
    db.session.add(programme)
    db.session.flush()
    _set_programme_courses(programme, courses)
    db.session.flush()
    audit.record(
        "programme.create",
        programme,
        actor=actor,
        code=programme.code,
        courses=[c.code for c in courses],
    )
    logger.info("programme %s created", programme.code)
    return programme


def update_programme(
    programme: Programme,
    *,
    code: str,
    title_en: str,
    title_bg: str = "",
    summary_en: str = "",
    summary_bg: str = "",
    courses: Sequence[Course] = (),
    actor: User,
) -> Programme:
    """Change a programme's details and its ordered list of courses."""
    require_admin(actor)
    fields = _programme_fields(code, title_en, title_bg, summary_en, summary_bg)
    if programme_code_taken(fields["code"], exclude=programme):
        raise CurriculumError(_("A programme with the code %(code)s already exists.", **fields))
    for key, value in fields.items():
        setattr(programme, key, value)
    _set_programme_courses(programme, courses)
    db.session.flush()
    audit.record(
        "programme.update",
        programme,
        actor=actor,
        code=programme.code,
        courses=[c.code for c in courses],
    )
    logger.info("programme %s updated", programme.code)
    return programme


def set_programme_state(programme: Programme, state: str, *, actor: User) -> Programme:
    """Publish, archive or return a programme to draft."""
    require_admin(actor)
    try:
        state = CourseState(state)
    except ValueError:
        raise CurriculumError(_("Unknown programme state.")) from None
    if programme.state == state:
        return programme
    previous = programme.state
    programme.state = state
    db.session.flush()
    audit.record(f"programme.{state}", programme, actor=actor, previous=str(previous))
    logger.info("programme %s: %s -> %s", programme.code, previous, state)
    return programme
