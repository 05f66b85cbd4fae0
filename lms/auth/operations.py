"""Account writes: creating users, roles, passwords. Operations flush; views commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa

from lms import audit
from lms.extensions import db
from lms.models import Role, User, UserRole

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


class AccountError(Exception):
    """A request about an account that cannot be carried out; the message says why."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def load_user(session_id: str) -> User | None:
    """Flask-Login loader: ``<id>:<security stamp>``, so a password change ends old sessions."""
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit() or not stamp.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.security_stamp != int(stamp):
        return None
    return user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role] = (Role.TRAINEE,),
    actor: User | None = None,
) -> User:
    """Create an account; raise AccountError if the e-mail is taken or the password weak."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise AccountError("A name is required.")
    if find_user_by_email(email) is not None:
        raise AccountError(f"An account with the e-mail address {email} already exists.")
    user = User(email=email, name=name)
    if password is not None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
        user.set_password(password)
    user.role_rows = [UserRole(role=str(role)) for role in dict.fromkeys(roles)]
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, actor=actor, roles=sorted(str(r) for r in roles))
    logger.info("created user %s", user.id)
    return user
