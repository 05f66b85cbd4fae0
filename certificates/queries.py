"""Reads for certification: requirements, trainee records, queues, registers and lists.

Every function that lists things runs a fixed number of queries, whatever the
number of trainees or certificates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from certificates import eligibility
from certificates.eligibility import (
    COMPETENCY,
    COURSE,
    EXAM,
    CourseRecord,
    Eligibility,
    ExamRecord,
    LevelRecord,
    ReissueBlock,
    Requirement,
    Standing,
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
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus, ProgrammeCourse
from lms.db import utcnow
from lms.extensions import db
from lms.models import User, display_name
from lms.paging import ComputedPage, paginate

#: Certificates ending within this many days are listed as nearing expiry.
NEARING_EXPIRY_DAYS = 60


# --- schemes and their requirements ----------------------------------------


def scheme_by_code(code: str) -> Scheme | None:
    return db.session.scalar(sa.select(Scheme).where(Scheme.code == code.strip().upper()))


def workload_hours(scheme: Scheme) -> int:
    """The scheme's workload: its programme's courses added up, as the programme page shows.

    A scheme without a programme has its own figure. One source, so the
    certificate never says 150 hours where the programme says 80.
    """
    if scheme.programme_id is None:
        return scheme.workload_hours or 0
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Course.workload_hours), 0))
        .join(ProgrammeCourse, ProgrammeCourse.course_id == Course.id)
        .where(ProgrammeCourse.programme_id == scheme.programme_id)
    )
    return int(total or 0)


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
    """Return each scheme's requirements as plain data (two queries for any number)."""
    ids = [scheme.id for scheme in schemes]
    rows = db.session.scalars(
        sa.select(SchemeRequirement)
        .where(SchemeRequirement.scheme_id.in_(ids))
        .options(joinedload(SchemeRequirement.course), joinedload(SchemeRequirement.assessment))
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
                .options(joinedload(Competency.alignments))
            ).unique()
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
                item.courses[row.course.id] = row.course
                reqs.append(
                    Requirement(COURSE, row.course.id, row.course.code, row.min_grade, id=row.id)
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
                source=rules.EvidenceSource(source),
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
        for user_id, course_id, completed, grade, completed_at in db.session.execute(
            sa.select(
                CourseCompletion.user_id,
                CourseCompletion.course_id,
                CourseCompletion.completed,
                CourseCompletion.grade,
                CourseCompletion.completed_at,
            ).where(
                CourseCompletion.user_id.in_(user_ids), CourseCompletion.course_id.in_(course_ids)
            )
        ):
            courses[user_id][course_id] = CourseRecord(completed, grade, completed_at)
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
            assert points is not None, "the query selects graded points"
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
    query = _candidates(item)
    return set() if query is None else set(db.session.scalars(query))


def _candidates(item: SchemeRules, *, enrolled: bool = False) -> sa.CompoundSelect | None:
    """A select of the user ids with anything towards the scheme, or None when nobody can.

    With ``enrolled``, also everyone with an active place in a course of the
    scheme's programme or of its course requirements, done or not.
    """
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
    if enrolled:
        taught = sa.select(ProgrammeCourse.course_id).where(
            ProgrammeCourse.programme_id == item.scheme.programme_id
        )
        parts.append(
            sa.select(Enrolment.user_id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(
                Enrolment.status == EnrolmentStatus.ACTIVE,
                sa.or_(Cohort.course_id.in_(taught), Cohort.course_id.in_(course_ids)),
            )
        )
    if not parts:
        return None
    return sa.union(*parts)


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


def _revocations(scheme: Scheme, ids: list[int]) -> tuple[set[int], dict[int, ReissueBlock]]:
    """Who among ``ids`` had a certificate of ``scheme`` revoked, and whom a revocation in
    error bars until cleared, by user (one query)."""
    revoked: set[int] = set()
    blocks: dict[int, ReissueBlock] = {}
    if not ids:
        return revoked, blocks
    rows = db.session.execute(
        sa.select(
            Certificate.user_id,
            Certificate.code,
            Certificate.revoked_at,
            Certificate.revocation_reason,
            Certificate.revoked_in_error,
            Certificate.reissue_cleared_at,
        )
        .where(
            Certificate.scheme_id == scheme.id,
            Certificate.user_id.in_(ids),
            Certificate.status == CertificateStatus.REVOKED,
        )
        .order_by(Certificate.revoked_at)
    )
    for user_id, code, at, reason, in_error, cleared_at in rows:
        revoked.add(user_id)
        if in_error and cleared_at is None:
            blocks[user_id] = ReissueBlock(code, at, reason)
    return revoked, blocks


def reissue_blocks(scheme: Scheme, user_ids: Iterable[int]) -> dict[int, ReissueBlock]:
    """Certificates of ``scheme`` revoked as issued in error and not cleared, by user (1 query)."""
    return _revocations(scheme, list(user_ids))[1]


def reissue_block(scheme: Scheme, user: User) -> ReissueBlock | None:
    """The revoked-in-error certificate that bars ``user`` from a new one, if any."""
    return reissue_blocks(scheme, [user.id]).get(user.id)


def eligible_queue(scheme: Scheme, now: datetime | None = None) -> list[QueueRow]:
    """Return the trainees eligible for ``scheme`` who hold no live certificate of it.

    Trainees barred by a certificate revoked as issued in error are left out.
    """
    item = scheme_rules([scheme])[scheme.id]
    ids = candidate_ids(item) - live_holder_ids(scheme)
    ids -= set(reissue_blocks(scheme, ids))
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
class Person:
    id: int
    name: str
    email: str
    name_latin: str = ""

    @property
    def display_name(self) -> str:
        return display_name(self.name, self.name_latin)


@dataclass(frozen=True)
class StandingRow:
    """One trainee in the certifier's queue: where they stand and why."""

    user: Person
    eligibility: Eligibility
    standing: Standing
    block: ReissueBlock | None = None
    previously_revoked: bool = False


@dataclass
class ListPage(ComputedPage):
    """One page of a list computed in Python."""

    items: list = field(default_factory=list)


@dataclass
class SchemeQueue:
    """The certifier's view of a scheme: every trainee who could earn it, by standing."""

    scheme: Scheme
    rules: SchemeRules
    page: ListPage
    counts: dict[str, int]
    holders: int


#: Trainees per page of a scheme's queue.
QUEUE_PER_PAGE = 50


def scheme_queue(
    scheme: Scheme,
    *,
    standing: Standing | None = None,
    page: int = 1,
    per_page: int = QUEUE_PER_PAGE,
    now: datetime | None = None,
) -> SchemeQueue:
    """Every trainee enrolled in the scheme's programme, or with anything towards it.

    Holders of a live certificate are counted, not listed. Each trainee is
    evaluated requirement by requirement; ``standing`` filters; the list is by
    name. A fixed number of queries whatever the number of trainees.
    """
    item = scheme_rules([scheme])[scheme.id]
    candidates = _candidates(item, enrolled=True)
    holders = live_holder_ids(scheme)
    people: list[Person] = []
    if candidates is not None:
        people = [
            Person(*row)
            for row in db.session.execute(
                sa.select(User.id, User.name, User.email, User.name_latin)
                .where(User.id.in_(candidates), User.active)
                .order_by(User.name, User.id)
            )
            if row[0] not in holders
        ]
    ids = [person.id for person in people]
    records = load_records([item], ids, now) if ids else {}
    revoked, blocks = _revocations(scheme, ids)
    rows = []
    for person in people:
        result = eligibility.evaluate(item.requirements, records[person.id])
        block = blocks.get(person.id)
        rows.append(
            StandingRow(
                person,
                result,
                eligibility.standing(result, block),
                block,
                person.id in revoked,
            )
        )
    counts = {s.value: 0 for s in Standing}
    for row in rows:
        counts[row.standing.value] += 1
    if standing is not None:
        rows = [row for row in rows if row.standing == standing]
    per_page = max(1, per_page)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return SchemeQueue(
        scheme=scheme,
        rules=item,
        page=ListPage(
            page=page, per_page=per_page, total=len(rows), items=rows[start : start + per_page]
        ),
        counts=counts,
        holders=len(holders),
    )


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
    return paginate(query, page=page, per_page=per_page)


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
    return [(waiver, by, to) for waiver, by, to in db.session.execute(query)]


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Certificate.status, sa.func.count()).group_by(Certificate.status)
    ).all()
    counts = {str(status): 0 for status in CertificateStatus}
    counts.update(dict(rows))
    return counts
