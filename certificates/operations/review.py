"""Grade changes after issue: flag the live certificates that rest on a changed grade."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from certificates.models import LIVE_STATUSES, Certificate, RequirementKind, SchemeRequirement
from courses.assessments.models import Assessment, Grade, GradeChange
from lms import audit
from lms.extensions import db

logger = logging.getLogger(__name__)


def flag_for_review(grade: Grade, change: GradeChange | None = None) -> list[Certificate]:
    """Flag live certificates that rest on ``grade``; the certificates themselves never change."""
    assessment = db.session.get(Assessment, grade.assessment_id)
    assert assessment is not None, "a grade's assessment_id is a foreign key"
    relevant = sa.exists().where(
        SchemeRequirement.scheme_id == Certificate.scheme_id,
        sa.or_(
            sa.and_(
                SchemeRequirement.kind == RequirementKind.EXAM,
                SchemeRequirement.assessment_id == grade.assessment_id,
            ),
            sa.and_(
                SchemeRequirement.kind == RequirementKind.COURSE,
                SchemeRequirement.course_id == assessment.course_id,
            ),
        ),
    )
    query = sa.select(Certificate).where(
        Certificate.user_id == grade.user_id, Certificate.status.in_(LIVE_STATUSES), relevant
    )
    flagged = list(db.session.scalars(query))
    for cert in flagged:
        cert.needs_review = True
        audit.record(
            "certificate.needs_review",
            cert,
            actor=change.changed_by if change is not None else None,
            code=cert.code,
            grade=grade.id,
            change=change.id if change is not None else None,
            old=None if change is None or change.old_points is None else str(change.old_points),
            new=None if change is None or change.new_points is None else str(change.new_points),
        )
    if flagged:
        db.session.flush()
        logger.info("grade %s changed: %s certificates flagged for review", grade.id, len(flagged))
    return flagged


def on_grade_changed(grade: Grade, change: GradeChange | None = None, **_extra) -> None:
    """Flag the live certificates that counted a grade which has now changed."""
    flag_for_review(grade, change)
