"""Reads for certification: requirements, trainee records, queues, registers and lists.

Every function that lists things runs a fixed number of queries, whatever the
number of trainees or certificates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from certificates import eligibility
from certificates.eligibility import (
    COMPETENCY,
    COURSE,
    EXAM,
    CourseRecord,
    Eligibility,
    ExamRecord,
    LevelRecord,
    Requirement,
    TraineeRecord,
)
from certificates.models import (
    LIVE_STATUSES,
    Certificate,
    CertificateStatus,
    ImpartialityWaiver,
    IssuanceBatch,
    Scheme,
    SchemeRequirement,
)
from courses.assessments.models import Assessment, Grade, GradeChange, GradeStatus
from courses.competencies import rules
from courses.competencies.models import Competency, Evidence, ProficiencyLevel
from courses.gradebook.models import CourseCompletion
from courses.models import Course
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User, UserRole

logger = logging.getLogger(__name__)

#: Certificates ending within this many days are listed as nearing expiry.
NEARING_EXPIRY_DAYS = 60


# --- schemes and their requirements ----------------------------------------


def scheme_by_code(code: str) -> Scheme | None:
    return db.session.scalar(sa.select(Scheme).where(Scheme.code == code.strip().upper()))


def all_schemes() -> list[Scheme]:
    return list(db.session.scalars(sa.select(Scheme).order_by(Scheme.code)))


def active_schemes() -> list[Scheme]:
    return list(db.session.scalars(sa.select(Scheme).where(Scheme.active).order_by(Scheme.code)))


@dataclass
class SchemeRules:
    """A scheme's requirements as plain data, with the objects that name them."""

    scheme: Scheme
    requirements: tuple[Requirement, ...] = ()
    rows: tuple[SchemeRequirement, ...] = ()
    courses: dict[int, Course] = field(default_factory=dict)
    competencies: dict[int, Competency] = field(default_factory=dict)
    assessments: dict[int, Assessment] = field(default_factory=dict)
    esco_names: dict[str, str] = field(default_factory=dict)

    def row_for(self, requirement: Requirement) -> SchemeRequirement | None:
        return next((row for row in self.rows if row.id == requirement.id), None)


def scheme_rules(schemes: Sequence[Scheme]) -> dict[int, SchemeRules]:
    """Return each scheme's requirements as plain data (three queries for any number)."""
    ids = [scheme.id for scheme in schemes]
    rows = db.session.scalars(
        sa.select(SchemeRequirement)
        .where(SchemeRequirement.scheme_id.in_(ids))
        .options(selectinload(SchemeRequirement.course), selectinload(SchemeRequirement.assessment))
        .order_by(SchemeRequirement.id)
    ).all()
    competency_ids = {row.competency_id for row in rows if row.competency_id is not None}
    competencies = {}
    if competency_ids:
        competencies = {
            c.id: c
            for c in db.session.scalars(
                sa.select(Competency)
                .where(Competency.id.in_(competency_ids))
                .options(selectinload(Competency.alignments))
            )
        }
    result = {scheme.id: SchemeRules(scheme) for scheme in schemes}
    grouped: dict[int, list[SchemeRequirement]] = {}
    for row in rows:
        grouped.setdefault(row.scheme_id, []).append(row)
    esco_names = {
        uri: competency.title_en
        for competency in competencies.values()
        for uri in competency.esco_uris
    }
    for scheme_id, scheme_rows in grouped.items():
        item = result[scheme_id]
        reqs = []
        for row in scheme_rows:
            if row.kind == COURSE and row.course is not None:
                item.courses[row.course_id] = row.course
                reqs.append(
                    Requirement(COURSE, row.course_id, row.course.code, row.min_grade, id=row.id)
                )
            elif row.kind == COMPETENCY and row.competency_id in competencies:
                competency = competencies[row.competency_id]
                item.competencies[competency.id] = competency
                reqs.append(
                    Requirement(
                        COMPETENCY,
                        competency.id,
                        competency.code,
                        min_level=row.min_level,
                        id=row.id,
                    )
                )
            elif row.kind == EXAM and row.assessment is not None:
                assessment = row.assessment
                item.assessments[assessment.id] = assessment
                minimum = row.min_grade
                if minimum is None:
                    minimum = assessment.pass_percent
                reqs.append(
                    Requirement(EXAM, assessment.id, assessment.tr("title"), minimum, id=row.id)
                )
        item.requirements = tuple(reqs)
        item.rows = tuple(scheme_rows)
        item.esco_names = esco_names
    for item in result.values():
        item.esco_names = esco_names
    return result


# --- trainee records ---------------------------------------------------------


def evidence_rows(user_ids: Iterable[int], competency_ids: Iterable[int]) -> dict[int, list]:
    """Return the users' live evidence as ``rules.Evidence``, by user (one query)."""
    user_ids, competency_ids = list(user_ids), list(competency_ids)
    if not user_ids or not competency_ids:
        return {}
    later = sa.orm.aliased(Evidence)
    query = (
        sa.select(
            Evidence.id,
            Evidence.user_id,
            Evidence.competency_id,
            Evidence.source,
            Evidence.created_at,
            ProficiencyLevel.id,
            ProficiencyLevel.rank,
            ProficiencyLevel.name_en,
        )
        .join(ProficiencyLevel, ProficiencyLevel.id == Evidence.level_id)
        .where(
            Evidence.user_id.in_(user_ids),
            Evidence.competency_id.in_(competency_ids),
            ~sa.exists().where(later.supersedes_id == Evidence.id),
        )
    )
    grouped: dict[int, list] = {}
    for ev_id, user_id, comp_id, source, created, level_id, rank, name in db.session.execute(query):
        grouped.setdefault(user_id, []).append(
            rules.Evidence(
                id=ev_id,
                competency=str(comp_id),
                level=rules.Level(str(level_id), rank, name),
                source=source,
                created_at=created,
            )
        )
    return grouped


def load_records(
    all_rules: Iterable[SchemeRules], user_ids: Iterable[int], now: datetime | None = None
) -> dict[int, TraineeRecord]:
    """Return every user's record for the schemes' targets (three queries for any number)."""
    now = now or utcnow()
    user_ids = sorted(set(user_ids))
    all_rules = list(all_rules)
    course_ids = {r.target_id for item in all_rules for r in item.requirements if r.kind == COURSE}
    competency_ids = {
        r.target_id for item in all_rules for r in item.requirements if r.kind == COMPETENCY
    }
    exam_ids = {r.target_id for item in all_rules for r in item.requirements if r.kind == EXAM}
    courses: dict[int, dict[int, CourseRecord]] = {uid: {} for uid in user_ids}
    levels: dict[int, dict[int, LevelRecord]] = {uid: {} for uid in user_ids}
    exams: dict[int, dict[int, ExamRecord]] = {uid: {} for uid in user_ids}
    if user_ids and course_ids:
        for row in db.session.scalars(
            sa.select(CourseCompletion).where(
                CourseCompletion.user_id.in_(user_ids), CourseCompletion.course_id.in_(course_ids)
            )
        ):
            courses[row.user_id][row.course_id] = CourseRecord(
                row.completed, row.grade, row.completed_at
            )
    if user_ids and exam_ids:
        query = (
            sa.select(
                Grade.user_id,
                Grade.assessment_id,
                Grade.points,
                Grade.released_at,
                Assessment.max_points,
            )
            .join(Assessment, Assessment.id == Grade.assessment_id)
            .where(
                Grade.user_id.in_(user_ids),
                Grade.assessment_id.in_(exam_ids),
                Grade.status == GradeStatus.RELEASED,
                Grade.points.is_not(None),
                sa.not_(Grade.excused),
            )
        )
        for user_id, assessment_id, points, released_at, max_points in db.session.execute(query):
            percent = (Decimal(points) * 100 / Decimal(max_points)).quantize(Decimal("0.01"))
            exams[user_id][assessment_id] = ExamRecord(percent, released_at)
    for user_id, rows in evidence_rows(user_ids, competency_ids).items():
        for code, level in rules.current_levels(rows, now).items():
            levels[user_id][int(code)] = LevelRecord(level.rank, level.title)
    return {
        uid: TraineeRecord(courses=courses[uid], levels=levels[uid], exams=exams[uid])
        for uid in user_ids
    }


def candidate_ids(item: SchemeRules) -> set[int]:
    """Return the users with anything towards the scheme (one query)."""
    parts = []
    course_ids = [r.target_id for r in item.requirements if r.kind == COURSE]
    exam_ids = [r.target_id for r in item.requirements if r.kind == EXAM]
    competency_ids = [r.target_id for r in item.requirements if r.kind == COMPETENCY]
    if course_ids:
        parts.append(
            sa.select(CourseCompletion.user_id).where(
                CourseCompletion.course_id.in_(course_ids), CourseCompletion.completed
            )
        )
    if exam_ids:
        parts.append(
            sa.select(Grade.user_id).where(
                Grade.assessment_id.in_(exam_ids), Grade.status == GradeStatus.RELEASED
            )
        )
    if competency_ids:
        parts.append(sa.select(Evidence.user_id).where(Evidence.competency_id.in_(competency_ids)))
    if not parts:
        return set()
    return set(db.session.scalars(sa.union(*parts)))


def eligibility_for(scheme: Scheme, user: User, now: datetime | None = None) -> Eligibility:
    """Return ``user``'s eligibility for ``scheme``."""
    item = scheme_rules([scheme])[scheme.id]
    record = load_records([item], [user.id], now)[user.id]
    return eligibility.evaluate(item.requirements, record)


@dataclass(frozen=True)
class QueueRow:
    user: User
    eligibility: Eligibility
    previously_revoked: bool = False


def live_holder_ids(scheme: Scheme) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Certificate.user_id).where(
                Certificate.scheme_id == scheme.id, Certificate.status.in_(LIVE_STATUSES)
            )
        )
    )


def eligible_queue(scheme: Scheme, now: datetime | None = None) -> list[QueueRow]:
    """Return the trainees eligible for ``scheme`` who hold no live certificate of it."""
    item = scheme_rules([scheme])[scheme.id]
    ids = candidate_ids(item) - live_holder_ids(scheme)
    if not ids:
        return []
    records = load_records([item], ids, now)
    users = {
        user.id: user
        for user in db.session.scalars(sa.select(User).where(User.id.in_(ids), User.active))
    }
    revoked = set(
        db.session.scalars(
            sa.select(Certificate.user_id).where(
                Certificate.scheme_id == scheme.id,
                Certificate.user_id.in_(ids),
                Certificate.status == CertificateStatus.REVOKED,
            )
        )
    )
    rows = []
    for user_id in sorted(ids):
        user = users.get(user_id)
        if user is None:
            continue
        result = eligibility.evaluate(item.requirements, records[user_id])
        if result.eligible:
            rows.append(QueueRow(user, result, user_id in revoked))
    rows.sort(key=lambda row: (row.user.name.casefold(), row.user.id))
    return rows


def eligible_ids(scheme: Scheme, now: datetime | None = None) -> list[int]:
    return [row.user.id for row in eligible_queue(scheme, now)]


@dataclass(frozen=True)
class Progress:
    scheme: Scheme
    eligibility: Eligibility
    certificate: Certificate | None


def trainee_progress(user: User, now: datetime | None = None) -> list[Progress]:
    """Return the user's progress towards every active scheme, requirement by requirement."""
    schemes = active_schemes()
    all_rules = scheme_rules(schemes)
    record = load_records(all_rules.values(), [user.id], now)[user.id]
    live = {
        cert.scheme_id: cert
        for cert in db.session.scalars(
            sa.select(Certificate).where(
                Certificate.user_id == user.id, Certificate.status.in_(LIVE_STATUSES)
            )
        )
    }
    return [
        Progress(
            scheme,
            eligibility.evaluate(all_rules[scheme.id].requirements, record),
            live.get(scheme.id),
        )
        for scheme in schemes
    ]


# --- certificates ------------------------------------------------------------


def _with_parts(query):
    return query.options(selectinload(Certificate.scheme), selectinload(Certificate.user))


def certificate_by_code(code: str) -> Certificate | None:
    from certificates.credentials.codes import normalise_code

    try:
        code = normalise_code(code)
    except ValueError:
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.code == code))


def certificates_of(user: User) -> list[Certificate]:
    return list(
        db.session.scalars(
            _with_parts(sa.select(Certificate))
            .where(Certificate.user_id == user.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def register_page(
    *, page: int = 1, status: str | None = None, scheme: Scheme | None = None, per_page=None
):
    """Return a page of the certificate register, newest first."""
    query = _with_parts(sa.select(Certificate)).order_by(
        Certificate.issued_at.desc(), Certificate.id.desc()
    )
    if status:
        query = query.where(Certificate.status == status)
    if scheme is not None:
        query = query.where(Certificate.scheme_id == scheme.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def all_certificates() -> list[Certificate]:
    return list(
        db.session.scalars(
            _with_parts(sa.select(Certificate)).order_by(Certificate.issued_at, Certificate.id)
        )
    )


def nearing_expiry(
    user: User | None = None, *, days: int = NEARING_EXPIRY_DAYS, now: datetime | None = None
) -> list[Certificate]:
    """Return live certificates whose validity ends within ``days`` days."""
    now = now or utcnow()
    query = _with_parts(sa.select(Certificate)).where(
        Certificate.status.in_(LIVE_STATUSES),
        Certificate.valid_until.is_not(None),
        Certificate.valid_until > now,
        Certificate.valid_until <= now + timedelta(days=days),
    )
    if user is not None:
        query = query.where(Certificate.user_id == user.id)
    return list(db.session.scalars(query.order_by(Certificate.valid_until)))


def review_list() -> list[Certificate]:
    """Return the certificates whose grades changed after issue, awaiting a certifier."""
    return list(
        db.session.scalars(
            _with_parts(sa.select(Certificate))
            .where(Certificate.needs_review, Certificate.status.in_(LIVE_STATUSES))
            .order_by(Certificate.issued_at)
        )
    )


def running_batch(scheme: Scheme) -> IssuanceBatch | None:
    return db.session.scalar(
        sa.select(IssuanceBatch)
        .where(IssuanceBatch.scheme_id == scheme.id, IssuanceBatch.state == "running")
        .order_by(IssuanceBatch.id.desc())
        .limit(1)
    )


def has_graded(certifier: User, trainee: User) -> bool:
    """Return whether ``certifier`` ever changed one of ``trainee``'s grades."""
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True))
            .select_from(GradeChange)
            .join(Grade, Grade.id == GradeChange.grade_id)
            .where(Grade.user_id == trainee.id, GradeChange.changed_by_id == certifier.id)
            .limit(1)
        )
    )


def waiver_for(certifier: User, trainee: User) -> ImpartialityWaiver | None:
    return db.session.scalar(
        sa.select(ImpartialityWaiver).where(
            ImpartialityWaiver.certifier_id == certifier.id,
            ImpartialityWaiver.trainee_id == trainee.id,
        )
    )


def waivers() -> list[tuple[ImpartialityWaiver, User, User]]:
    certifier = sa.orm.aliased(User)
    trainee = sa.orm.aliased(User)
    query = (
        sa.select(ImpartialityWaiver, certifier, trainee)
        .join(certifier, certifier.id == ImpartialityWaiver.certifier_id)
        .join(trainee, trainee.id == ImpartialityWaiver.trainee_id)
        .order_by(ImpartialityWaiver.created_at.desc())
    )
    return [tuple(row) for row in db.session.execute(query)]


def users_with_role(role: Role) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == str(role), User.active)
            .order_by(User.name)
        )
    )


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Certificate.status, sa.func.count()).group_by(Certificate.status)
    )
    counts = {str(status): 0 for status in CertificateStatus}
    counts.update({status: count for status, count in rows})
    return counts
