"""The one write path for grades: history, optimistic locking, and a signal for listeners.

Quizzes, assignments, manual grading and overrides all call ``set_grade``.
Course completion and competency evidence subscribe to ``grade_changed``
instead of being called from here, so this module knows neither.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy as sa
from blinker import Namespace
from flask_babel import gettext as _

from courses.assessments.models import Assessment, Grade, GradeChange, GradeStatus
from courses.models import Cohort, Enrolment, EnrolmentStatus
from lms import audit
from lms.db import utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)

_signals = Namespace()
#: Sent after a grade row changed and was flushed: ``sender=grade, change=GradeChange``.
grade_changed = _signals.signal("grade-changed")


class GradeError(UserError):
    """A grade that cannot be saved; the message says why."""


class StaleGrade(GradeError):
    """Someone else saved this grade since it was loaded."""


def is_enrolled(user: User, assessment: Assessment) -> bool:
    """Return whether ``user`` holds an active place in a cohort of the assessment's course."""
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True))
            .select_from(Enrolment)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(
                Enrolment.user_id == user.id,
                Enrolment.status == EnrolmentStatus.ACTIVE,
                Cohort.course_id == assessment.course_id,
            )
            .limit(1)
        )
    )


def get_grade(assessment: Assessment, user: User) -> Grade | None:
    return db.session.scalar(
        sa.select(Grade).where(Grade.assessment_id == assessment.id, Grade.user_id == user.id)
    )


def set_grade(
    assessment: Assessment,
    user: User,
    points: Decimal | None,
    *,
    actor: User | None,
    reason: str = "",
    release: bool | None = None,
    excused: bool = False,
    expected_version: int | None = None,
) -> Grade:
    """Create or change ``user``'s grade for ``assessment`` and record the change.

    ``release`` True releases the grade to the trainee, False puts it back to
    draft, None keeps its status (new grades start as drafts). With
    ``expected_version`` the save is refused with StaleGrade when someone else
    changed the grade in between.
    """
    if not is_enrolled(user, assessment):
        raise GradeError(_("%(name)s is not enrolled in this course.", name=user.name))
    if points is not None:
        points = Decimal(points)
        if not points.is_finite() or points < 0 or points > assessment.max_points:
            raise GradeError(
                _("The points must be between 0 and %(max)s.", max=assessment.max_points)
            )
    grade = get_grade(assessment, user)
    if grade is not None and expected_version is not None and grade.version != expected_version:
        raise StaleGrade(
            _("This grade was changed by someone else in the meantime. Reload and try again.")
        )
    old_points, old_status = (None, None) if grade is None else (grade.points, grade.status)
    if grade is None:
        grade = Grade(assessment=assessment, user=user, status=GradeStatus.DRAFT)
        db.session.add(grade)
    new_status = grade.status
    if release is True:
        new_status = GradeStatus.RELEASED
    elif release is False:
        new_status = GradeStatus.DRAFT
    if (
        grade.id is not None
        and old_points == points
        and old_status == new_status
        and grade.excused == excused
    ):
        return grade
    grade.points = points
    grade.excused = excused
    grade.status = new_status
    grade.graded_by = actor
    grade.graded_at = utcnow()
    if new_status == GradeStatus.RELEASED and old_status != GradeStatus.RELEASED:
        grade.released_at = utcnow()
    change = GradeChange(
        grade=grade,
        old_points=old_points,
        new_points=points,
        old_status=old_status,
        new_status=new_status,
        changed_by=actor,
        reason=reason.strip(),
    )
    db.session.add(change)
    try:
        db.session.flush()
    except sa.orm.exc.StaleDataError as error:
        raise StaleGrade(
            _("This grade was changed by someone else in the meantime. Reload and try again.")
        ) from error
    audit.record(
        "grade.set",
        grade,
        actor=actor,
        assessment=assessment.id,
        user=user.id,
        points=None if points is None else str(points),
        status=str(new_status),
    )
    logger.info(
        "grade %s of user %s for assessment %s: %s -> %s",
        grade.id,
        user.id,
        assessment.id,
        old_points,
        points,
    )
    grade_changed.send(grade, change=change)
    return grade
