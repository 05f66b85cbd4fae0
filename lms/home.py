"""Where each role's work is: the home page of every role, and the role a person acts in.

A person may hold several roles (an instructor who also certifies); the navigation
shows the links of the role they act in now, and a switcher moves between them.
The choice lives in the session; it decides nothing about permissions, which
always look at every role the account holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, session
from flask_babel import lazy_gettext

from lms.models import Role, User

# The role a person lands in when they have not chosen one: the first they hold.
PRECEDENCE = (
    Role.ADMIN,
    Role.MANAGER,
    Role.CERTIFIER,
    Role.INSTRUCTOR,
    Role.EMPLOYER,
    Role.TRAINEE,
)

HOME_ENDPOINTS = {
    Role.TRAINEE: "enrolment.dashboard",
    Role.INSTRUCTOR: "courses.teaching",
    Role.CERTIFIER: "certificates.certification",
    Role.EMPLOYER: "verify.form",
    Role.ADMIN: "main.overview",
    Role.MANAGER: "reports.index",
}

ROLE_LABELS = {
    Role.TRAINEE: lazy_gettext("Trainee"),
    Role.INSTRUCTOR: lazy_gettext("Instructor"),
    Role.CERTIFIER: lazy_gettext("Certifier"),
    Role.EMPLOYER: lazy_gettext("Employer"),
    Role.ADMIN: lazy_gettext("Administrator"),
    Role.MANAGER: lazy_gettext("Centre manager"),
}

SESSION_KEY = "acting_role"


def held_roles(user: User) -> list[Role]:
    """The roles ``user`` holds, in the order the switcher lists them."""
    mine = user.roles
    return [role for role in PRECEDENCE if role in mine]


def acting_role(user: User) -> Role | None:
    """The role ``user`` acts in now: the one chosen in this session, else the first held."""
    roles = held_roles(user)
    chosen = session.get(SESSION_KEY)
    for role in roles:
        if role == chosen:
            return role
    return roles[0] if roles else None


def choose_role(user: User, role: str) -> Role | None:
    """Act as ``role`` from now on in this session, if ``user`` holds it."""
    for held in held_roles(user):
        if held == role:
            session[SESSION_KEY] = str(held)
            return held
    return None


def home_endpoint(role: Role | None) -> str:
    """Where a signed-in person acting as ``role`` works; an account with no role learns."""
    return HOME_ENDPOINTS.get(role, "enrolment.dashboard") if role else "enrolment.dashboard"


def learns(user: User) -> bool:
    """Whether ``user`` studies: only they get "my learning", grades and a transcript."""
    return user.has_role(Role.TRAINEE)


@dataclass(frozen=True)
class Figure:
    """One number on the administrator's overview, with where to see the detail."""

    label: str
    value: int
    endpoint: str | None = None


OverviewSource = Callable[[], Iterable[Figure]]


def register_overview(app, source: OverviewSource) -> None:
    """Let a domain add figures to the administrator's overview."""
    app.extensions.setdefault("lms_overview", []).append(source)


def overview_figures() -> list[Figure]:
    figures: list[Figure] = []
    for source in current_app.extensions.get("lms_overview", []):
        figures.extend(source())
    return figures


def register_landing_programmes(app, source: Callable[[], Iterable]) -> None:
    """Let the courses domain list the programmes the visitors' landing page shows."""
    app.extensions["lms_landing_programmes"] = source


def landing_programmes() -> list:
    source = current_app.extensions.get("lms_landing_programmes")
    return list(source()) if source else []
