"""Access decisions: by role, or by a relation to the object."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from lms.models import Role


def roles_required(*roles: Role) -> Callable:
    """Allow the view to users holding any of ``roles`` (admins always pass)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from lms.extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.has_role(Role.ADMIN, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def require(condition: bool) -> None:
    """Abort with 403 unless ``condition`` holds (relation checks inside views)."""
    if not condition:
        abort(403)
