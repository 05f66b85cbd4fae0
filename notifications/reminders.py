"""Scans run by the hourly reminders job: what is about to happen, and to whom to say it.

Each notification names its event in ``ref``, so running a scan again (or two
workers running it at once) tells nobody twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from certificates import operations as cert_ops
from certificates import queries as cert_queries
from certificates.models import Certificate, CertificateStatus, Scheme
from courses.assessments.assignments.models import Assignment, Submission
from courses.assessments.models import Assessment, AssessmentKind
from courses.enrolment.operations import local_today
from courses.models import Cohort, Course, EnrolmentStatus, course_instructors
from courses.models import Enrolment as EnrolmentRow
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User, UserRole
from notifications import operations as ops
from notifications.messages import bilingual
from notifications.models import Kind, Notification

logger = logging.getLogger(__name__)

COHORT_NOTICE_DAYS = 2
DUE_NOTICE = timedelta(hours=48)
EXPIRY_NOTICE = timedelta(days=60)


def cohorts_starting(now: datetime) -> int:
    """Tell active trainees of cohorts starting within two days."""
    today = local_today()
    rows = db.session.execute(
        sa.select(EnrolmentRow.user_id, Cohort, Course)
        .join(Cohort, EnrolmentRow.cohort_id == Cohort.id)
        .join(Course, Cohort.course_id == Course.id)
        .where(
            EnrolmentRow.status == EnrolmentStatus.ACTIVE,
            Cohort.starts_on >= today,
            Cohort.starts_on <= today + timedelta(days=COHORT_NOTICE_DAYS),
        )
    ).all()
    made = 0
    for user_id, cohort, course in rows:
        params = {
            "course": bilingual(course, "title"),
            "cohort": bilingual(cohort, "name"),
            "starts_on": cohort.starts_on.isoformat(),
        }
        link = ops.path_for("courses.detail", code=course.code)
        made += (
            ops.notify(user_id, Kind.COHORT_STARTS, f"cohort:{cohort.id}", params, link) is not None
        )
    return made


def assignments_due(now: datetime) -> int:
    """Tell trainees of running cohorts about assignments due within 48 hours, not handed in."""
    today = local_today()
    due = db.session.execute(
        sa.select(Assessment, Assignment.id, Course)
        .join(Assignment, Assignment.assessment_id == Assessment.id)
        .join(Course, Assessment.course_id == Course.id)
        .where(
            Assessment.kind == AssessmentKind.ASSIGNMENT,
            Assessment.due_at > now,
            Assessment.due_at <= now + DUE_NOTICE,
        )
    ).all()
    made = 0
    for assessment, assignment_id, course in due:
        assert assessment.due_at is not None, "the query selects assessments due soon"
        handed_in = sa.select(Submission.user_id).where(Submission.assignment_id == assignment_id)
        user_ids = db.session.scalars(
            sa.select(EnrolmentRow.user_id)
            .join(Cohort, EnrolmentRow.cohort_id == Cohort.id)
            .where(
                Cohort.course_id == course.id,
                Cohort.ends_on >= today,
                EnrolmentRow.status == EnrolmentStatus.ACTIVE,
                EnrolmentRow.user_id.not_in(handed_in),
            )
            .distinct()
        ).all()
        params = {
            "assignment": bilingual(assessment, "title"),
            "course": bilingual(course, "title"),
            "due": assessment.due_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        link = ops.path_for("assignments.detail", code=course.code, assessment_id=assessment.id)
        for user_id in user_ids:
            ref = f"due:{assessment.id}:{int(assessment.due_at.timestamp())}"
            made += ops.notify(user_id, Kind.ASSIGNMENT_DUE, ref, params, link) is not None
    return made


def certificates_expiring(now: datetime) -> int:
    """Tell holders whose certificate ends within 60 days; and when its renewal rule holds."""
    certs = db.session.scalars(
        sa.select(Certificate).where(
            Certificate.status == CertificateStatus.ACTIVE,
            Certificate.valid_until.is_not(None),
            Certificate.valid_until > now,
            Certificate.valid_until <= now + EXPIRY_NOTICE,
        )
    ).all()
    made = 0
    link = ops.path_for("certificates.mine")
    for cert in certs:
        assert cert.valid_until is not None, "the query selects certificates that end"
        params = {
            "code": cert.code,
            "scheme": bilingual(cert.scheme, "title"),
            "valid_until": cert.valid_until.date().isoformat(),
        }
        made += (
            ops.notify(cert.user_id, Kind.CERTIFICATE_EXPIRING, f"expiring:{cert.id}", params, link)
            is not None
        )
        if cert.scheme.renewal_rule and cert_ops.renewal_due_reason(cert, now) is None:
            made += (
                ops.notify(cert.user_id, Kind.RENEWAL_DUE, f"renewal:{cert.id}", params, link)
                is not None
            )
    return made


def new_submissions(now: datetime) -> int:
    """Tell each course's instructors how many submissions came in since the last scan."""
    since = now - timedelta(days=1)
    counts = db.session.execute(
        sa.select(Course, sa.func.count(Submission.id))
        .join(Assessment, Assessment.course_id == Course.id)
        .join(Assignment, Assignment.assessment_id == Assessment.id)
        .join(Submission, Submission.assignment_id == Assignment.id)
        .where(Submission.submitted_at > since)
        .group_by(*Course.__table__.c)
    ).all()
    made = 0
    for course, count in counts:
        instructor_ids = db.session.scalars(
            sa.select(course_instructors.c.user_id).where(
                course_instructors.c.course_id == course.id
            )
        ).all()
        params = {"course": bilingual(course, "title"), "count": count}
        link = ops.path_for("assignments.course_queue", code=course.code)
        for user_id in instructor_ids:
            ref = f"submissions:{course.id}:{now.date().isoformat()}"
            made += ops.notify(user_id, Kind.NEW_SUBMISSIONS, ref, params, link) is not None
    return made


def newly_eligible(now: datetime) -> int:
    """Tell certifiers which schemes have trainees who became eligible since they were last told."""
    certifier_ids = db.session.scalars(
        sa.select(UserRole.user_id).join(User).where(UserRole.role == Role.CERTIFIER, User.active)
    ).all()
    if not certifier_ids:
        return 0
    made = 0
    for scheme in db.session.scalars(sa.select(Scheme).where(Scheme.active)):
        eligible = set(cert_queries.eligible_ids(scheme, now))
        link = ops.path_for("certificates.queue", code=scheme.code)
        for user_id in certifier_ids:
            last = db.session.scalar(
                sa.select(Notification)
                .where(
                    Notification.user_id == user_id,
                    Notification.kind == Kind.NEWLY_ELIGIBLE,
                    Notification.ref.like(f"eligible:{scheme.id}:%"),
                )
                .order_by(Notification.id.desc())
                .limit(1)
            )
            told = set(last.params.get("ids", [])) if last is not None else set()
            new = eligible - told
            if not new:
                continue
            params = {
                "scheme": bilingual(scheme, "title"),
                "count": len(new),
                "ids": sorted(eligible),
            }
            ref = f"eligible:{scheme.id}:{now:%Y%m%dT%H}"
            made += ops.notify(user_id, Kind.NEWLY_ELIGIBLE, ref, params, link) is not None
    return made


SCANS = (cohorts_starting, assignments_due, certificates_expiring, new_submissions, newly_eligible)


def run_all(now: datetime | None = None) -> dict[str, int]:
    """Run every scan; return how many notifications each made."""
    now = now or utcnow()
    counts = {}
    for scan in SCANS:
        counts[scan.__name__] = scan(now)
    logger.info("reminders: %s", counts)
    return counts
