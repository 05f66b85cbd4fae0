"""Core models: people, their roles and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from lms.db import UTCDateTime, utcnow
from lms.extensions import Model
from lms.i18n import current_language


class Role(enum.StrEnum):
    TRAINEE = "trainee"
    INSTRUCTOR = "instructor"
    CERTIFIER = "certifier"
    EMPLOYER = "employer"
    ADMIN = "admin"
    # Reads the centre's reports (aggregates only) and nothing else.
    MANAGER = "manager"


ROLE_VALUES = tuple(r.value for r in Role)


def display_name(name: str, name_latin: str | None) -> str:
    """The name a page in the current language shows for a person: ``name_latin`` on
    English pages when it is given, else ``name`` as the person writes it."""
    if name_latin and current_language() == "en":
        return name_latin
    return name


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        # Unique case-insensitively: the address is stored lower-cased and checked.
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
        sa.CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    # ``name`` as the person writes it (in Cyrillic for a Bulgarian); ``name_latin``
    # the same name in Latin letters as on their documents, empty when ``name`` is.
    name: Mapped[str] = mapped_column(sa.String(200))
    name_latin: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped when the password changes: invalidates reset tokens and sessions.
    security_stamp: Mapped[int] = mapped_column(default=0, server_default="0")

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    @property
    def display_name(self) -> str:
        """The name pages show: in Latin letters on English pages when it is given.

        Certificates and credentials sign ``name`` itself, never this.
        """
        return display_name(self.name, self.name_latin)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    # Flask-Login compares users by get_id(), which names a session here, not a person:
    # compare rows by identity, as SQLAlchemy's identity map does.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def get_id(self) -> str:
        """Return what Flask-Login stores in the session and the remember cookie.

        It is the secret of the server-side session record that ``lms.auth.sessions.start``
        created for this log-in, so ending the record ends both cookies.
        """
        key = getattr(self, "_session_key", None)
        if key is None:
            raise RuntimeError("start a session with lms.auth.sessions.start before logging in")
        return key

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role | str) -> bool:
        mine = {r.role for r in self.role_rows}
        return any(str(role) in mine for role in roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.security_stamp = (self.security_stamp or 0) + 1

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)


class UserRole(Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('trainee', 'instructor', 'certifier', 'employer', 'admin', 'manager')",
            name="role_known",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")

    def __repr__(self) -> str:
        return f"<UserRole {self.user_id} {self.role}>"


class UserSession(Model):
    """One log-in on one device; the cookies name it, and ending it ends them."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        sa.CheckConstraint(
            "end_reason IN ('logout', 'ended', 'password', 'deactivated')", name="end_reason_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 of the secret in the cookies: a copy of the table opens no session.
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remember: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    # When the password was last typed in this session (log-in or confirmation).
    password_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id}>"

    def is_open(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now


class AuditLog(Model):
    """Append-only record of who changed what, when, on which object."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(80))
    object_id: Mapped[str | None] = mapped_column(sa.String(80))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)

    def __repr__(self) -> str:
        return f"<AuditLog {self.id} {self.action} {self.object_type}:{self.object_id}>"


@sa.event.listens_for(AuditLog, "before_update")
@sa.event.listens_for(AuditLog, "before_delete")
def _audit_log_is_append_only(mapper, connection, target):
    raise RuntimeError("the audit log is append-only")
