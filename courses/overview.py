"""What the courses domain adds to the visitors' landing page and the administrator's overview."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext

from courses.models import Course, CourseState, Enrolment, EnrolmentStatus, Programme
from lms.extensions import db
from lms.home import Figure


def landing_programmes() -> list[Programme]:
    """The published programmes, for anyone."""
    stmt = (
        sa.select(Programme)
        .where(Programme.state == CourseState.PUBLISHED)
        .order_by(Programme.code)
    )
    return list(db.session.scalars(stmt))


def figures() -> list[Figure]:
    """Courses by state and enrolments by status, in two queries."""
    courses = dict(
        db.session.execute(sa.select(Course.state, sa.func.count()).group_by(Course.state)).all()
    )
    enrolments = dict(
        db.session.execute(
            sa.select(Enrolment.status, sa.func.count()).group_by(Enrolment.status)
        ).all()
    )
    return [
        Figure(
            lazy_gettext("published courses"),
            courses.get(CourseState.PUBLISHED, 0),
            "courses.catalogue",
        ),
        Figure(
            lazy_gettext("draft courses"), courses.get(CourseState.DRAFT, 0), "courses.teaching"
        ),
        Figure(lazy_gettext("active enrolments"), enrolments.get(EnrolmentStatus.ACTIVE, 0)),
        Figure(lazy_gettext("on waiting lists"), enrolments.get(EnrolmentStatus.WAITLISTED, 0)),
    ]
