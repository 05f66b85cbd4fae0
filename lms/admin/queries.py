"""Reads for the admin pages."""

from __future__ import annotations

import sqlalchemy as sa

from lms.models import Role, User, UserRole


def users_statement(
    *, search: str | None = None, role: str | None = None, status: str | None = None
) -> sa.Select:
    """Return the users matching a search on name (either form) or e-mail, a role and a state,
    by name."""
    stmt = sa.select(User)
    if search:
        stmt = stmt.where(
            sa.or_(
                User.name.icontains(search, autoescape=True),
                User.name_latin.icontains(search, autoescape=True),
                User.email.icontains(search, autoescape=True),
            )
        )
    if role in {r.value for r in Role}:
        stmt = stmt.where(sa.exists().where(UserRole.user_id == User.id, UserRole.role == role))
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    # role_rows load with one extra SELECT ... IN for the whole page (lazy="selectin").
    return stmt.order_by(User.name, User.id)
