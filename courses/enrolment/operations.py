"""Enrolment writes: cohorts, enrolling, waiting lists, withdrawal, lesson progress.

Every change of who holds a place locks the cohort row first (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite write transactions already begin IMMEDIATE), so
two requests racing for the last place cannot both get it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import gettext as _

from courses.access import require_manager, require_self_or_manager, require_student
from courses.enrolment.csv_import import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, CsvRow
from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    Lesson,
    LessonProgress,
)
from lms import audit
from lms.auth.operations import AccountError, clean_name, create_user, normalise_email
from lms.db import affected_rows, utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.i18n import format_day
from lms.models import Role, User

logger = logging.getLogger(__name__)

_signals = Namespace()
#: Sent after a trainee's lesson progress changed and was flushed:
#: ``sender=user, lesson=Lesson, done=bool`` (course completion listens).
lesson_progress_changed = _signals.signal("lesson-progress-changed")


class EnrolmentError(UserError):
    """An enrolment request that cannot be carried out; the message says why."""


def local_today() -> date:
    """Return today's date where the centre is (enrolment windows are local dates)."""
    zone = "UTC"
    if has_app_context():
        zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"
    return datetime.now(ZoneInfo(zone)).date()


# --- cohorts ---------------------------------------------------------------


#: Length of ``Cohort.name_bg``.
NAME_BG_MAX_LENGTH = 120


@dataclass
class CohortData:
    name: str
    starts_on: date
    ends_on: date
    capacity: int | None
    enrol_opens_on: date | None
    enrol_closes_on: date | None
    self_enrolment: bool
    name_bg: str = ""


def _check_cohort_data(data: CohortData) -> None:
    if len(data.name_bg.strip()) > NAME_BG_MAX_LENGTH:
        raise EnrolmentError(
            _("The Bulgarian name can be at most %(count)s characters.", count=NAME_BG_MAX_LENGTH)
        )
    if data.ends_on < data.starts_on:
        raise EnrolmentError(_("The cohort cannot end before it starts."))
    if data.capacity is not None and data.capacity < 1:
        raise EnrolmentError(_("The capacity must be at least 1, or empty for no limit."))
    if data.enrol_opens_on and data.enrol_closes_on and data.enrol_closes_on < data.enrol_opens_on:
        raise EnrolmentError(_("Enrolment cannot close before it opens."))


def create_cohort(course: Course, data: CohortData, *, actor: User) -> Cohort:
    """Add a cohort to ``course``."""
    require_manager(actor, course)
    _check_cohort_data(data)
    name = data.name.strip()
    taken = db.session.scalar(
        sa.select(Cohort.id).where(Cohort.course_id == course.id, Cohort.name == name)
    )
    if taken is not None:
        raise EnrolmentError(_("This course already has a cohort with that name."))
    cohort = Cohort(
        course=course,
        name=name,
        name_bg=data.name_bg.strip(),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        capacity=data.capacity,
        enrol_opens_on=data.enrol_opens_on,
        enrol_closes_on=data.enrol_closes_on,
        self_enrolment=data.self_enrolment,
    )
    db.session.add(cohort)
    db.session.flush()
    audit.record("cohort.create", cohort, actor=actor, course=course.code, name=name)
    logger.info("created cohort %s of course %s", cohort.id, course.code)
    return cohort


def update_cohort(cohort: Cohort, data: CohortData, *, actor: User) -> Cohort:
    """Change a cohort; places freed by a higher capacity go to the waiting list at once."""
    require_manager(actor, cohort.course)
    _check_cohort_data(data)
    lock_cohort(cohort)
    name = data.name.strip()
    taken = db.session.scalar(
        sa.select(Cohort.id).where(
            Cohort.course_id == cohort.course_id, Cohort.name == name, Cohort.id != cohort.id
        )
    )
    if taken is not None:
        raise EnrolmentError(_("This course already has a cohort with that name."))
    active = count_active(cohort)
    if data.capacity is not None and data.capacity < active:
        raise EnrolmentError(
            _(
                "The capacity cannot be lower than the %(count)s trainees already enrolled; "
                "withdraw some first.",
                count=active,
            )
        )
    changes = {}
    for field in (
        "name",
        "name_bg",
        "starts_on",
        "ends_on",
        "capacity",
        "enrol_opens_on",
        "enrol_closes_on",
        "self_enrolment",
    ):
        if field == "name":
            new = name
        elif field == "name_bg":
            new = data.name_bg.strip()
        else:
            new = getattr(data, field)
        old = getattr(cohort, field)
        if new != old:
            changes[field] = [_plain(old), _plain(new)]
            setattr(cohort, field, new)
    db.session.flush()
    promoted = _promote(cohort, actor=actor)
    audit.record(
        "cohort.update", cohort, actor=actor, changes=changes, promoted=len(promoted) or None
    )
    logger.info("updated cohort %s: %s", cohort.id, sorted(changes))
    return cohort


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


# --- places and the waiting list -----------------------------------------


def lock_cohort(cohort: Cohort) -> Cohort:
    """Lock the cohort row until the transaction ends and reload it.

    Every operation that counts or changes places calls this first, so the
    count it reads stays true until it commits.
    """
    return db.session.execute(
        sa.select(Cohort)
        .where(Cohort.id == cohort.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def count_active(cohort: Cohort) -> int:
    return db.session.execute(
        sa.select(sa.func.count(Enrolment.id)).where(
            Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ).scalar_one()


def free_places(cohort: Cohort) -> int | None:
    """Places left in a locked cohort (None: no limit)."""
    if cohort.capacity is None:
        return None
    return max(cohort.capacity - count_active(cohort), 0)


def promote_waiting_list(cohort: Cohort, *, actor: User) -> list[Enrolment]:
    """Give free places of a locked cohort to the waiting list, first come first served."""
    require_manager(actor, cohort.course)
    return _promote(cohort, actor=actor)


def _promote(cohort: Cohort, *, actor: User) -> list[Enrolment]:
    """Promote without asking who may: the caller has checked ``actor`` for its own change."""
    free = free_places(cohort)
    query = (
        sa.select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.queued_at, Enrolment.id)
    )
    if free is not None:
        if free == 0:
            return []
        query = query.limit(free)
    promoted = list(db.session.scalars(query))
    now = utcnow()
    for enrolment in promoted:
        enrolment.status = EnrolmentStatus.ACTIVE
        enrolment.enrolled_at = now
        audit.record("enrolment.promote", enrolment, actor=actor, cohort=cohort.id)
        logger.info("promoted enrolment %s from the waiting list", enrolment.id)
    db.session.flush()
    return promoted


def self_enrolment_refusal(cohort: Cohort, today: date | None = None) -> str | None:
    """Say why a trainee may not enrol in ``cohort`` themselves, or None if they may."""
    today = today or local_today()
    course = cohort.course
    if course.state != CourseState.PUBLISHED:
        return _("This course is not open for enrolment.")
    if not cohort.self_enrolment:
        return _("This cohort takes enrolments from the course staff only.")
    if cohort.enrol_opens_on and today < cohort.enrol_opens_on:
        return _(
            "Enrolment in this cohort opens on %(date)s.",
            date=format_day(cohort.enrol_opens_on),
        )
    if cohort.enrol_closes_on and today > cohort.enrol_closes_on:
        return _(
            "Enrolment in this cohort closed on %(date)s.",
            date=format_day(cohort.enrol_closes_on),
        )
    if today > cohort.ends_on:
        return _("This cohort has ended.")
    return None


def _find_enrolment(cohort: Cohort, user: User) -> Enrolment | None:
    return db.session.scalar(
        sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.user_id == user.id)
    )


def _place(
    cohort: Cohort,
    user: User,
    *,
    actor: User | None,
    status: EnrolmentStatus,
    existing: Enrolment | None,
    source: str,
) -> Enrolment:
    """Create or reuse the enrolment row of ``user`` in ``cohort`` with ``status``."""
    now = utcnow()
    enrolment = existing
    if enrolment is None:
        enrolment = Enrolment(cohort=cohort, user=user)
        db.session.add(enrolment)
    enrolment.status = status
    enrolment.queued_at = now
    enrolment.enrolled_at = now if status == EnrolmentStatus.ACTIVE else None
    enrolment.withdrawn_at = None
    enrolment.enrolled_by = actor if actor is not None and actor.id != user.id else None
    db.session.flush()
    audit.record(
        "enrolment.create" if existing is None else "enrolment.renew",
        enrolment,
        actor=actor,
        cohort=cohort.id,
        user=user.id,
        status=str(status),
        source=source,
    )
    logger.info(
        "enrolment %s of user %s in cohort %s: %s", enrolment.id, user.id, cohort.id, status
    )
    return enrolment


def enrol(
    cohort: Cohort,
    user: User,
    *,
    actor: User,
    by_staff: bool = False,
    today: date | None = None,
) -> Enrolment:
    """Enrol ``user``: active if a place is free, otherwise on the waiting list.

    A trainee enrolling themselves must meet the cohort's rules (published
    course, open window, self-enrolment allowed); staff only need an active
    account and a course that is not archived. Only the course's staff enrol
    others; anyone else enrols only themselves.
    """
    if by_staff:
        require_manager(actor, cohort.course)
    else:
        require_self_or_manager(actor, user, cohort.course)
    if by_staff:
        if cohort.course.state == CourseState.ARCHIVED:
            raise EnrolmentError(_("This course is archived; nobody can be enrolled."))
    else:
        refusal = self_enrolment_refusal(cohort, today)
        if refusal:
            raise EnrolmentError(refusal)
    if not user.active:
        raise EnrolmentError(_("This account is deactivated."))
    cohort = lock_cohort(cohort)
    existing = _find_enrolment(cohort, user)
    if existing is not None and existing.status == EnrolmentStatus.ACTIVE:
        raise EnrolmentError(_("%(name)s is already enrolled in this cohort.", name=user.name))
    if existing is not None and existing.status == EnrolmentStatus.WAITLISTED:
        raise EnrolmentError(
            _("%(name)s is already on the waiting list of this cohort.", name=user.name)
        )
    free = free_places(cohort)
    status = EnrolmentStatus.ACTIVE if free is None or free > 0 else EnrolmentStatus.WAITLISTED
    return _place(
        cohort,
        user,
        actor=actor,
        status=status,
        existing=existing,
        source="staff" if by_staff else "self",
    )


def withdraw(enrolment: Enrolment, *, actor: User) -> Enrolment:
    """Withdraw an enrolment (its trainee, or the course's staff); a freed place is passed on."""
    require_self_or_manager(actor, enrolment.user, enrolment.cohort.course)
    cohort = lock_cohort(enrolment.cohort)
    db.session.refresh(enrolment)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise EnrolmentError(_("This enrolment is already withdrawn."))
    was = enrolment.status
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.withdrawn_at = utcnow()
    db.session.flush()
    audit.record("enrolment.withdraw", enrolment, actor=actor, cohort=cohort.id, was=str(was))
    logger.info("withdrew enrolment %s (was %s)", enrolment.id, was)
    if was == EnrolmentStatus.ACTIVE:
        _promote(cohort, actor=actor)
    return enrolment


# --- CSV bulk enrolment ----------------------------------------------------


@dataclass
class RowCheck:
    """What importing one CSV row would do, or why it cannot be imported."""

    row: CsvRow
    problem: str | None = None
    # Why the row is left out without blocking the file (the person is already in).
    skipped: str | None = None
    user: User | None = None  # None with no problem: an account will be created
    waitlisted: bool = False
    renew: bool = False  # a withdrawn enrolment is taken up again

    @property
    def creates_account(self) -> bool:
        return self.problem is None and self.skipped is None and self.user is None

    @property
    def imports(self) -> bool:
        """Whether importing the file enrols (or waitlists) this row."""
        return self.problem is None and self.skipped is None


def _email_problem(email: str) -> str | None:
    if not email:
        return _("The e-mail address is missing.")
    if len(email) > EMAIL_MAX_LENGTH:
        return _("The e-mail address is longer than %(max)s characters.", max=EMAIL_MAX_LENGTH)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        # The library explains in English only: say it in the reader's language.
        if "@" not in email:
            return _("The e-mail address has no @ sign.")
        return _("This is not a valid e-mail address.")
    return None


def check_csv_rows(cohort: Cohort, rows: list[CsvRow]) -> list[RowCheck]:
    """Check every row against the file and the database, in a fixed number of queries."""
    checks = [RowCheck(row=row) for row in rows]
    seen: dict[str, int] = {}
    for check in checks:
        row = check.row
        email = normalise_email(row.email)
        check.problem = _email_problem(email)
        if check.problem is None and row.extra_values:
            check.problem = _("The row has more values than the header has columns.")
        if check.problem is None and len(row.name) > NAME_MAX_LENGTH:
            check.problem = _("The name is longer than %(max)s characters.", max=NAME_MAX_LENGTH)
        if check.problem is None and row.name:
            try:
                clean_name(row.name)
            except AccountError as error:
                check.problem = str(error)
        if check.problem is None and email in seen:
            check.problem = _("Duplicate of line %(line)s.", line=seen[email])
        seen.setdefault(email, row.line)

    emails = [normalise_email(c.row.email) for c in checks if c.problem is None]
    users = {
        user.email: user
        for user in db.session.scalars(sa.select(User).where(User.email.in_(emails)))
    }
    enrolments = {
        enrolment.user_id: enrolment
        for enrolment in db.session.scalars(
            sa.select(Enrolment).where(
                Enrolment.cohort_id == cohort.id,
                Enrolment.user_id.in_([u.id for u in users.values()]),
            )
        )
    }
    free = free_places(cohort)
    for check in checks:
        if check.problem is not None:
            continue
        user = users.get(normalise_email(check.row.email))
        check.user = user
        if user is not None:
            if not user.active:
                check.problem = _("This account is deactivated.")
                continue
            enrolment = enrolments.get(user.id)
            if enrolment is not None and enrolment.status == EnrolmentStatus.ACTIVE:
                check.skipped = _("Already enrolled in this cohort; skipped.")
                continue
            if enrolment is not None and enrolment.status == EnrolmentStatus.WAITLISTED:
                check.skipped = _("Already on the waiting list of this cohort; skipped.")
                continue
            check.renew = enrolment is not None
        if free is not None:
            check.waitlisted = free <= 0
            free -= 1
    return checks


class CsvImportRefused(EnrolmentError):
    """Some rows have problems; nothing was imported."""

    def __init__(self, checks: list[RowCheck]):
        self.checks = checks
        bad = sum(1 for c in checks if c.problem)
        super().__init__(
            _("%(count)s rows have problems; nothing was imported.", count=bad)
            if bad != 1
            else _("1 row has a problem; nothing was imported.")
        )


def default_name(email: str) -> str:
    """A name for an account created from a CSV row without one: the address's local part."""
    return email.split("@", 1)[0]


def import_csv_rows(cohort: Cohort, rows: list[CsvRow], *, actor: User) -> list[Enrolment]:
    """Enrol every row, creating trainee accounts for unknown addresses; all or nothing.

    Rows are checked again under the cohort lock, because the roster may have
    changed since the preview; one bad row refuses the whole file. People
    already enrolled or waiting in the cohort are skipped, not refused.
    """
    require_manager(actor, cohort.course)
    if cohort.course.state == CourseState.ARCHIVED:
        raise EnrolmentError(_("This course is archived; nobody can be enrolled."))
    cohort = lock_cohort(cohort)
    checks = check_csv_rows(cohort, rows)
    if any(check.problem for check in checks):
        raise CsvImportRefused(checks)
    existing = {
        enrolment.user_id: enrolment
        for enrolment in db.session.scalars(
            sa.select(Enrolment).where(
                Enrolment.cohort_id == cohort.id,
                Enrolment.user_id.in_([c.user.id for c in checks if c.user is not None]),
            )
        )
    }
    enrolments = []
    for check in checks:
        if not check.imports:
            continue
        user = check.user
        if user is None:
            email = normalise_email(check.row.email)
            # No password and no message: the person sets a password through
            # "Forgot your password?" when the centre tells them to.
            user = create_user(
                email=email,
                name=check.row.name or default_name(email),
                password=None,
                roles=[Role.TRAINEE],
                actor=actor,
            )
        status = EnrolmentStatus.WAITLISTED if check.waitlisted else EnrolmentStatus.ACTIVE
        enrolments.append(
            _place(
                cohort,
                user,
                actor=actor,
                status=status,
                existing=existing.get(user.id),
                source="csv",
            )
        )
    skipped = sum(1 for check in checks if check.skipped)
    audit.record("cohort.csv_import", cohort, actor=actor, rows=len(enrolments), skipped=skipped)
    logger.info("imported %s enrolments into cohort %s", len(enrolments), cohort.id)
    return enrolments


# --- lesson progress ---------------------------------------------------------


def mark_lesson_done(user: User, lesson: Lesson, *, actor: User) -> LessonProgress:
    """Record that ``user`` finished ``lesson``; doing it again changes nothing.

    Only the trainee themselves, studying the course, marks their lessons.
    """
    require_student(actor, user, lesson.module.course)
    progress = db.session.scalar(
        sa.select(LessonProgress).where(
            LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id
        )
    )
    if progress is not None:
        return progress
    progress = LessonProgress(user_id=user.id, lesson_id=lesson.id)
    try:
        # A double click sends two requests; the second finds the row taken.
        with db.session.begin_nested():
            db.session.add(progress)
    except sa.exc.IntegrityError:
        return db.session.scalars(
            sa.select(LessonProgress).where(
                LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id
            )
        ).one()
    logger.info("user %s finished lesson %s", user.id, lesson.id)
    lesson_progress_changed.send(user, lesson=lesson, done=True)
    return progress


def mark_lesson_not_done(user: User, lesson: Lesson, *, actor: User) -> None:
    """Forget that ``user`` finished ``lesson``; doing it again changes nothing."""
    require_student(actor, user, lesson.module.course)
    result = db.session.execute(
        sa.delete(LessonProgress).where(
            LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id
        )
    )
    db.session.flush()
    logger.info("user %s marked lesson %s not done", user.id, lesson.id)
    if affected_rows(result):
        lesson_progress_changed.send(user, lesson=lesson, done=False)
