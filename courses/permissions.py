"""Who may see and change a course: its staff (instructors of the course, admins) or the public."""

from courses.models import Course, CourseState
from lms.models import Role


def can_manage_course(user, course: Course) -> bool:
    """Return True for the course's own instructors and for admins."""
    if not user.is_authenticated:
        return False
    return user.has_role(Role.ADMIN) or course.is_taught_by(user)


def can_view_course(user, course: Course) -> bool:
    """Published and archived courses are public; drafts are visible only to their staff."""
    if course.state in (CourseState.PUBLISHED, CourseState.ARCHIVED):
        return True
    return can_manage_course(user, course)
