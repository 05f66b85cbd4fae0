"""Load the course a request names and check who may use it, in one call, for pages and API.

One draft policy everywhere: a course the user may not see (a draft, for anyone
but its staff) answers 404, exactly as a code that does not exist, so no route
tells a trainee that a draft course is there; a visible course that the user
may not use answers 403.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from courses import queries
from courses.enrolment.queries import can_study
from courses.models import Course
from courses.permissions import can_manage_course, can_view_course
from lms import exceptions
from lms.models import Role, User
from lms.permissions import require


class NotAllowed(exceptions.NotAllowed):
    """The actor may not change this course; every ``courses`` operation raises this one."""


def require_manager(actor: User | None, course: Course) -> None:
    """Refuse unless ``actor`` teaches or administers ``course``, as :func:`staff_course` asks."""
    if actor is None or not can_manage_course(actor, course):
        raise NotAllowed(_("Only the course's instructors and administrators may do this."))


def require_self(actor: User | None, user: User) -> None:
    """Refuse unless ``actor`` is ``user``: self-service, done by the trainee only."""
    if actor is None or actor.id != user.id:
        raise NotAllowed(_("Only %(name)s may do this.", name=user.display_name))


def require_self_or_manager(actor: User | None, user: User, course: Course) -> None:
    """Refuse unless ``actor`` is ``user`` or teaches or administers ``course``."""
    if actor is not None and actor.id == user.id:
        return
    require_manager(actor, course)


def require_student(actor: User | None, user: User, course: Course) -> None:
    """Refuse unless ``actor`` is ``user`` and may study ``course`` (as :func:`study_course`)."""
    require_self(actor, user)
    if not can_study(user, course):
        raise NotAllowed(_("Only trainees enrolled in this course may do this."))


def require_admin(actor: User | None) -> None:
    """Refuse unless ``actor`` is an administrator."""
    if actor is None or not actor.has_role(Role.ADMIN):
        raise NotAllowed(_("Only administrators may do this."))


def require_instructor(actor: User | None) -> None:
    """Refuse unless ``actor`` may author courses (instructors and administrators)."""
    if actor is None or not actor.has_role(Role.ADMIN, Role.INSTRUCTOR):
        raise NotAllowed(_("Only instructors may do this."))


def visible_course(code: str, user, *, contents: bool = False) -> Course:
    """Return the course with ``code`` if ``user`` may see it; 404 otherwise.

    ``contents`` loads its instructors, outcomes, modules and lessons with it.
    """
    course = queries.course_with_contents(code) if contents else queries.course_by_code(code)
    if course is None or not can_view_course(user, course):
        abort(404)
    return course


def staff_course(code: str, user, *, contents: bool = False) -> Course:
    """Return a course ``user`` teaches or administers: 404 if unseen, 403 if only seen."""
    course = visible_course(code, user, contents=contents)
    require(can_manage_course(user, course))
    return course


def study_course(code: str, user) -> Course:
    """Return a course ``user`` may study (its staff, or an actively enrolled trainee)."""
    course = visible_course(code, user)
    require(can_study(user, course))
    return course
