"""Reads for the catalogue, programme, course and authoring pages, in a fixed number of queries."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import to_user_timezone
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload, selectinload

from courses.models import (
    Cohort,
    Course,
    CourseState,
    Module,
    Programme,
    ProgrammeCourse,
    course_instructors,
)
from courses.permissions import can_view_course
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User, UserRole
from lms.paging import paginate


def local_today() -> date:
    """Return today's date in the centre's time zone."""
    return to_user_timezone(utcnow()).date()


def open_cohort_condition(today: date) -> sa.ColumnElement[bool]:
    """Return the condition for a cohort a trainee can enrol in by themselves today."""
    return sa.and_(
        Cohort.self_enrolment.is_(True),
        Cohort.ends_on >= today,
        sa.or_(Cohort.enrol_opens_on.is_(None), Cohort.enrol_opens_on <= today),
        sa.or_(Cohort.enrol_closes_on.is_(None), Cohort.enrol_closes_on >= today),
    )


def listed_courses_condition(user) -> sa.ColumnElement[bool]:
    """Return which courses a user sees in lists: published ones, and drafts they manage."""
    published = Course.state == CourseState.PUBLISHED
    if not user.is_authenticated:
        return published
    drafts = Course.state == CourseState.DRAFT
    if user.has_role(Role.ADMIN):
        return sa.or_(published, drafts)
    taught = sa.select(course_instructors.c.course_id).where(
        course_instructors.c.user_id == user.id
    )
    return sa.or_(published, sa.and_(drafts, Course.id.in_(taught)))


def visible_programmes(user) -> list[Programme]:
    """Return the programmes a user may see: published ones, or all for admins."""
    stmt = sa.select(Programme).order_by(Programme.code)
    if not (user.is_authenticated and user.has_role(Role.ADMIN)):
        stmt = stmt.where(Programme.state == CourseState.PUBLISHED)
    return list(db.session.scalars(stmt))


def catalogue_page(
    user,
    *,
    search: str = "",
    programme: Programme | None = None,
    open_only: bool = False,
    page: int = 1,
    per_page: int | None = None,
) -> tuple[Pagination, set[int]]:
    """Return a page of listed courses and the ids among them that have an open cohort."""
    today = local_today()
    stmt = (
        sa.select(Course)
        .where(listed_courses_condition(user))
        .options(selectinload(Course.instructors).joinedload(User.role_rows))
        .order_by(Course.code)
    )
    terms = search.casefold().split()
    for term in terms[:10]:  # every word must match, in any field or language
        stmt = stmt.where(Course.search_text.contains(term, autoescape=True))
    if programme is not None:
        stmt = stmt.where(
            Course.id.in_(
                sa.select(ProgrammeCourse.course_id).where(
                    ProgrammeCourse.programme_id == programme.id
                )
            )
        )
    if open_only:
        stmt = stmt.where(
            sa.exists().where(Cohort.course_id == Course.id, open_cohort_condition(today))
        )
    pagination = paginate(stmt, page=page, per_page=per_page or current_app.config["PER_PAGE"])
    ids = [course.id for course in pagination.items]
    open_ids: set[int] = set()
    if ids:
        open_ids = set(
            db.session.scalars(
                sa.select(Cohort.course_id)
                .where(Cohort.course_id.in_(ids), open_cohort_condition(today))
                .distinct()
            )
        )
    return pagination, open_ids


def course_by_code(code: str) -> Course | None:
    """Return the course with ``code`` (any case) and its instructors, not its contents.

    The instructors (a few rows, joined) answer who may manage the course.
    """
    return db.session.scalar(
        sa.select(Course)
        .where(Course.code == code.strip().upper())
        .options(joinedload(Course.instructors).joinedload(User.role_rows))
    )


def course_with_contents(code: str) -> Course | None:
    """Return the course with its instructors, outcomes, modules, lessons and programmes."""
    # Three statements whatever its size: the course with its instructors (and their
    # roles) and its programmes, a few rows each; its outcomes; its modules with their
    # lessons.
    return db.session.scalar(
        sa.select(Course)
        .where(Course.code == code.strip().upper())
        .options(
            joinedload(Course.instructors).joinedload(User.role_rows),
            joinedload(Course.programme_links).joinedload(ProgrammeCourse.programme),
            selectinload(Course.outcomes),
            selectinload(Course.modules).joinedload(Module.lessons),
        )
    )


def programme_by_code(code: str) -> Programme | None:
    """Return the programme with ``code`` (any case) and its ordered courses."""
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.code == code.strip().upper())
        .options(
            selectinload(Programme.course_links)
            .joinedload(ProgrammeCourse.course)
            .selectinload(Course.instructors)
        )
    )


def programme_courses_for(user, programme: Programme) -> list[Course]:
    """Return the programme's courses in order, leaving out those the user may not see."""
    return [course for course in programme.courses if can_view_course(user, course)]


def taught_courses(user: User) -> list[Course]:
    """Return the courses a user teaches, or every course for an admin."""
    stmt = (
        sa.select(Course)
        .options(selectinload(Course.instructors))
        .order_by(Course.state != CourseState.DRAFT, Course.code)
    )
    if not user.has_role(Role.ADMIN):
        stmt = stmt.join(course_instructors).where(course_instructors.c.user_id == user.id)
    return list(db.session.scalars(stmt))


def instructor_candidates() -> list[User]:
    """Return the active users who may be made instructors, by name."""
    staff = sa.select(UserRole.user_id).where(UserRole.role.in_([Role.INSTRUCTOR, Role.ADMIN]))
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.id.in_(staff), User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


def all_course_codes() -> dict[str, Course]:
    """Return every course keyed by its code (for programme authoring)."""
    return {c.code: c for c in db.session.scalars(sa.select(Course).order_by(Course.code))}


def programme_for_course(course: Course, user) -> list[Programme]:
    """Return the programmes listing ``course`` that the user may see."""
    admin = user.is_authenticated and user.has_role(Role.ADMIN)
    return [
        link.programme
        for link in course.programme_links
        if admin or link.programme.state == CourseState.PUBLISHED
    ]
