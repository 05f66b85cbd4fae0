"""Generated sites of a given size, for load tests and for reading pages at scale.

``lms generate --size S`` fills an empty database with a training centre of
about Moodle's test-site sizes (S: 1,000 users and 10 courses, M: 10,000 and
100, L: 50,000 and 250; XS is a tiny one for tests). Each domain adds its part
through a step registered with :func:`lms.cli.register_generator`, in order:
the accounts here, then the curriculum and the trainees' work
(``courses.generate``), then certification (``certificates.generate``).

Rows go in by bulk inserts (one ``INSERT`` per table and chunk, lists of
dicts), not one ORM object at a time. Every choice comes from one seeded
random generator, so a seed gives the same site; the only exceptions are
what must be random by nature (certificate codes, credential salts, the keys).
Dates are relative to the day of generation.

Generated accounts and courses carry markers (:data:`EMAIL_DOMAIN`,
:data:`CODE_PREFIX`) so a run can tell generated data from real data and
refuses to mix them unless forced.
"""

# ruff: noqa: RUF001 - Bulgarian names are intended

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from lms.extensions import db
from lms.models import Role, User, UserRole

logger = logging.getLogger(__name__)

#: Every generated account's e-mail ends with this domain.
EMAIL_DOMAIN = "generated.example.org"
#: Every generated programme, course, framework and scheme code starts with this.
CODE_PREFIX = "G-"
#: The password of every generated account (public: never generate into production).
PASSWORD = "generated-2026"  # noqa: S105 - documented, public test data
#: Rows per INSERT statement.
CHUNK = 5000


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    courses: int
    programmes: int
    #: Certificates issued through the real issuance code (the rest stay eligible).
    certificates: int


SIZES = {
    "XS": Size("XS", users=60, courses=4, programmes=2, certificates=3),
    "S": Size("S", users=1_000, courses=10, programmes=3, certificates=30),
    "M": Size("M", users=10_000, courses=100, programmes=20, certificates=100),
    "L": Size("L", users=50_000, courses=250, programmes=50, certificates=200),
}


def scaled(size: Size, scale: float) -> Size:
    """Return ``size`` with users and courses multiplied by ``scale`` (at least a minimal site)."""
    if scale == 1:
        return size
    return Size(
        f"{size.name}×{scale:g}",
        users=max(30, round(size.users * scale)),
        courses=max(2, round(size.courses * scale)),
        programmes=max(1, round(size.programmes * scale)),
        certificates=max(1, round(size.certificates * scale)),
    )


class GenerationRefused(Exception):
    """The database holds data the generator must not mix with; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class GenerationRun:
    """What the steps share: the size, the seeded random generator, the ids made so far."""

    size: Size
    seed: int
    now: datetime
    rng: random.Random = field(init=False)
    #: Ids and plain facts one step leaves for the next (e.g. "users", "courses").
    made: dict[str, Any] = field(default_factory=dict)
    #: Rows inserted per table, and seconds per step.
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    progress: Callable[[str], None] = logger.info

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def today(self):
        return self.now.date()

    def insert(self, model, rows: Sequence[dict], *, returning: bool = False) -> list[int]:
        """Insert ``rows`` in chunks of executemany; return the new ids in order when asked."""
        table = model.__table__ if hasattr(model, "__table__") else model
        ids: list[int] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if returning:
                statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
                ids.extend(db.session.scalars(statement, chunk))
            else:
                db.session.execute(sa.insert(table), chunk)
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        return ids


# --- names ------------------------------------------------------------------------------------

#: Given names and family names as printed, each with a Latin form for the e-mail: Bulgarian
#: names in Cyrillic (most trainees of a Sofia centre), others as written in their language.
BULGARIAN = (
    (
        ("Мария", "maria"),
        ("Иван", "ivan"),
        ("Елена", "elena"),
        ("Георги", "georgi"),
        ("Петя", "petya"),
        ("Димитър", "dimitar"),
        ("Ани", "ani"),
        ("Николай", "nikolay"),
        ("Цветелина", "tsvetelina"),
        ("Стефан", "stefan"),
        ("Радослава", "radoslava"),
        ("Калоян", "kaloyan"),
    ),
    (
        ("Иванов", "ivanov"),
        ("Петрова", "petrova"),
        ("Николов", "nikolov"),
        ("Георгиева", "georgieva"),
        ("Димитров", "dimitrov"),
        ("Стоянова", "stoyanova"),
        ("Христов", "hristov"),
        ("Тодорова", "todorova"),
        ("Маринов", "marinov"),
        ("Колева", "koleva"),
    ),
)
INTERNATIONAL = (
    (
        ("Anna", "anna"),
        ("Jonas", "jonas"),
        ("Laura", "laura"),
        ("Marco", "marco"),
        ("Sofia", "sofia"),
        ("Lukas", "lukas"),
        ("Zoé", "zoe"),
        ("Mateusz", "mateusz"),
        ("Ioana", "ioana"),
        ("Nikos", "nikos"),
        ("Ayşe", "ayse"),
        ("Sinéad", "sinead"),
    ),
    (
        ("Weber", "weber"),
        ("Rossi", "rossi"),
        ("Dubois", "dubois"),
        ("Kowalska", "kowalska"),
        ("Popescu", "popescu"),
        ("Papadopoulos", "papadopoulos"),
        ("García", "garcia"),
        ("O'Brien", "obrien"),
        ("Yılmaz", "yilmaz"),
        ("Novák", "novak"),
    ),
)


def person(rng: random.Random, number: int, role: str) -> tuple[str, str]:
    """Return a (name, e-mail) pair; the number keeps e-mails unique."""
    given, family = BULGARIAN if rng.random() < 0.7 else INTERNATIONAL
    first, first_latin = rng.choice(given)
    last, last_latin = rng.choice(family)
    return f"{first} {last}", f"{first_latin}.{last_latin}.{role}{number}@{EMAIL_DOMAIN}"


# --- the checks and the run -------------------------------------------------------------------


def existing_data() -> tuple[int, int]:
    """Return how many generated and how many other accounts and coded rows the database holds.

    Coded rows are those of every table with a ``code`` column (programmes, courses,
    frameworks, schemes) whose code lacks :data:`CODE_PREFIX`.
    """
    marker = f"%@{EMAIL_DOMAIN}"
    count = sa.select(sa.func.count()).select_from(User)
    generated = db.session.execute(count.where(User.email.like(marker))).scalar_one()
    other = db.session.execute(count.where(User.email.not_like(marker))).scalar_one()
    for table in db.metadata.sorted_tables:
        if "code" in table.c and table.name != "certificates":
            other += db.session.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.code.not_like(f"{CODE_PREFIX}%"))
            ).scalar_one()
    return generated, other


def check_target(*, force: bool) -> None:
    """Refuse a database that already holds generated data, or real data unless forced."""
    generated, other = existing_data()
    if generated:
        raise GenerationRefused(
            f"The database already holds a generated site ({generated} generated accounts). "
            "Generate into an empty database."
        )
    if other and not force:
        raise GenerationRefused(
            f"The database holds {other} accounts or courses that were not generated. "
            "Generate into an empty database, or add --force to add a generated site beside them."
        )


def generate(
    size: Size,
    seed: int,
    steps: Iterable[Callable[[GenerationRun], None]],
    *,
    force: bool = False,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerationRun:
    """Run every step into the current database, committing after each; return the run."""
    check_target(force=force)
    run = GenerationRun(size=size, seed=seed, now=now or datetime.now(UTC))
    if progress is not None:
        run.progress = progress
    for step in steps:
        started = time.perf_counter()
        step(run)
        db.session.commit()
        name = f"{step.__module__}.{step.__name__}"
        run.timings[name] = time.perf_counter() - started
        run.progress(f"{name}: {run.timings[name]:.1f} s")
    return run


# --- accounts ---------------------------------------------------------------------------------


def role_counts(size: Size) -> dict[str, int]:
    """Split the accounts into roles: mostly trainees, an instructor per two courses."""
    staff = {
        Role.ADMIN.value: 2,
        Role.INSTRUCTOR.value: max(2, size.courses // 2),
        Role.CERTIFIER.value: max(2, size.users // 2000),
        Role.EMPLOYER.value: max(2, size.users // 100),
    }
    staff[Role.TRAINEE.value] = size.users - sum(staff.values())
    return staff


def generate_users(run: GenerationRun) -> None:
    """Add the accounts, all with the password :data:`PASSWORD`, hashed once."""
    rng = run.rng
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    password_hash = generate_password_hash(PASSWORD, method=method)
    rows, roles = [], []
    for role, count in role_counts(run.size).items():
        for number in range(1, count + 1):
            name, email = person(rng, number, role)
            rows.append(
                {
                    "email": email,
                    "name": name,
                    "password_hash": password_hash,
                    "locale": "bg" if rng.random() < 0.4 else "en",
                    "active": True,
                    "created_at": run.now - timedelta(days=rng.randint(30, 900)),
                    "security_stamp": 1,
                }
            )
            roles.append(role)
    ids = run.insert(User, rows, returning=True)
    run.insert(UserRole, [{"user_id": i, "role": r} for i, r in zip(ids, roles, strict=True)])
    by_role: dict[str, list[int]] = {}
    for user_id, role in zip(ids, roles, strict=True):
        by_role.setdefault(role, []).append(user_id)
    run.made["users"] = by_role
    run.progress(f"accounts: {len(ids)}")
