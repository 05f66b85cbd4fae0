"""Demo history: six months of a centre's life, so every report has something to show.

Forty trainees (no log-in: they have no password) joined past cohorts of SC-101,
SC-102 and SC-105 over the last six months; some withdrew or waited for a place,
most studied, were graded and completed, gained competency evidence, and those
who met the project-manager or project-developer scheme were certified through
the real issuance (eligibility checked as of the day, credential signed, PDF
stored) on a past date. The rows carry the dates they would have had, so the
reports' months are real. Runs after the certification demo; idempotent: nothing
happens when the first history trainee exists.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from babel.dates import format_date

from certificates import operations as cert_ops
from certificates.models import Scheme
from courses.assessments.models import Assessment, Grade, GradeChange, GradeStatus
from courses.competencies.models import Competency, Evidence, Framework, ProficiencyLevel
from courses.competencies.rules import EvidenceSource
from courses.demo.competencies import FRAMEWORK_CODE
from courses.gradebook.models import CourseCompletion
from courses.gradebook.operations import recompute_completion
from courses.models import Cohort, Course, Enrolment, Lesson, LessonProgress, Module
from lms.auth.operations import create_user, find_user_by_email
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role

logger = logging.getLogger(__name__)

EMAIL = "history.{:02d}@example.org"
SIZE = 40
SEED = 2026
FIRST = ("Мария", "Иван", "Елица", "Николай", "Десислава", "Петър", "Анна", "Luca", "Sofia", "Jan")
LAST = ("Георгиева", "Стоянов", "Костова", "Димитров", "Попова", "Rossi", "Novak", "Müller")
# The Cyrillic names in Latin letters, as on the trainees' documents.
LATIN = {
    "Мария": "Maria",
    "Иван": "Ivan",
    "Елица": "Elitsa",
    "Николай": "Nikolay",
    "Десислава": "Desislava",
    "Петър": "Petar",
    "Анна": "Anna",
    "Георгиева": "Georgieva",
    "Стоянов": "Stoyanov",
    "Костова": "Kostova",
    "Димитров": "Dimitrov",
    "Попова": "Popova",
}
CERTIFIER = "petya.angelova@example.org"
# Course code -> (share of trainees who enrol, capacity of the later cohort or None).
COURSES = {"SC-101": (1.0, None), "SC-102": (0.7, 14), "SC-105": (0.5, None)}
# Scheme code -> the courses and the competencies (at the proficient level) it needs.
# (SC-105 has no graded work in the demo, so its trainees study but do not complete it.)
SCHEMES = {"S4C-PM": (("SC-101", "SC-102"), ("PM.1", "PM.2", "PM.3", "PM.4"))}
NOTE = "Demo history: shown in the course's final project."


def load() -> list[dict]:
    """Add the demo history once; return no accounts (history trainees cannot log in)."""
    if find_user_by_email(EMAIL.format(1)) is not None:
        return []
    courses = {
        c.code: c for c in db.session.scalars(sa.select(Course).where(Course.code.in_(COURSES)))
    }
    if len(courses) != len(COURSES):
        logger.info("demo courses missing; demo history skipped")
        return []
    rng = random.Random(SEED)
    now = utcnow()
    today = now.date()
    cohorts = {code: _cohorts(course, today) for code, course in courses.items()}
    trainees = [
        create_user(
            email=EMAIL.format(n),
            name=_name(n),
            name_latin=_name_latin(n),
            password=None,
            roles=[Role.TRAINEE],
        )
        for n in range(1, SIZE + 1)
    ]
    db.session.flush()
    finished: dict[int, dict[str, datetime]] = {}
    for trainee in trainees:
        start = now - timedelta(days=rng.randint(20, 180))
        for code, (share, _capacity) in COURSES.items():
            if rng.random() > share:
                continue
            when = start + timedelta(days=rng.randint(0, 15))
            if when >= now - timedelta(days=2):
                continue
            done = _study(trainee, courses[code], cohorts[code], when, now, rng)
            if done is not None:
                finished.setdefault(trainee.id, {})[code] = done
    db.session.flush()
    _certify(trainees, finished, courses, now)
    logger.info("loaded the demo history: %s trainees", len(trainees))
    return []


def _name(n: int) -> str:
    return f"{FIRST[n % len(FIRST)]} {LAST[(n * 3) % len(LAST)]}"


def _name_latin(n: int) -> str:
    """The name in Latin letters; empty when it is written in them already."""
    first, last = FIRST[n % len(FIRST)], LAST[(n * 3) % len(LAST)]
    latin = f"{LATIN.get(first, first)} {LATIN.get(last, last)}"
    return "" if latin == _name(n) else latin


def _cohorts(course: Course, today: date) -> tuple[Cohort, Cohort]:
    """Create an earlier and a later past cohort of ``course``."""
    _share, capacity = COURSES[course.code]
    rows = []
    for months, cap in ((6, None), (3, capacity)):
        starts = today - timedelta(days=30 * months)
        row = Cohort(
            course=course,
            name=f"{starts:%B %Y} (history)",
            name_bg=f"{format_date(starts, 'LLLL y', locale='bg')} (история)",
            starts_on=starts,
            ends_on=starts + timedelta(days=120),
            capacity=cap,
            enrol_opens_on=starts - timedelta(days=30),
            enrol_closes_on=starts + timedelta(days=75),
        )
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows[0], rows[1]


def _study(trainee, course, cohorts, when: datetime, now: datetime, rng) -> datetime | None:
    """Enrol ``trainee`` at ``when`` and write what they did; return when they completed."""
    cohort = cohorts[0] if when.date() < cohorts[1].enrol_opens_on else cohorts[1]
    roll = rng.random()
    status = "withdrawn" if roll < 0.08 else "active"
    if cohort.capacity is not None:
        taken = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Enrolment)
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active")
        )
        if taken >= cohort.capacity and status == "active":
            status = "waitlisted"
    enrolment = Enrolment(
        cohort=cohort,
        user=trainee,
        status=status,
        queued_at=when,
        enrolled_at=None if status == "waitlisted" else when,
        withdrawn_at=when + timedelta(days=9) if status == "withdrawn" else None,
    )
    db.session.add(enrolment)
    if status != "active":
        return None
    lessons = db.session.scalars(
        sa.select(Lesson)
        .join(Module)
        .where(Module.course_id == course.id, Lesson.required)
        .order_by(Module.position, Lesson.position)
    ).all()
    reached = len(lessons) if rng.random() < 0.7 else rng.randint(0, len(lessons))
    moment = when
    for lesson in lessons[:reached]:
        moment = min(moment + timedelta(days=rng.randint(1, 4)), now - timedelta(hours=1))
        db.session.add(LessonProgress(user_id=trainee.id, lesson_id=lesson.id, completed_at=moment))
    if reached < len(lessons):
        return None
    graded = min(moment + timedelta(days=3), now - timedelta(minutes=30))
    instructor = course.instructors[0] if course.instructors else None
    percent = Decimal(rng.choice((38, 52, 61, 68, 74, 79, 83, 88, 91, 96)))
    for assessment in db.session.scalars(
        sa.select(Assessment).where(Assessment.course_id == course.id, Assessment.published)
    ):
        points = (assessment.max_points * percent / 100).quantize(Decimal("0.01"))
        grade = Grade(
            assessment=assessment,
            user=trainee,
            points=points,
            status=GradeStatus.RELEASED,
            graded_by=instructor,
            graded_at=graded,
            released_at=graded,
        )
        db.session.add(grade)
        db.session.add(
            GradeChange(
                grade=grade,
                new_points=points,
                new_status=GradeStatus.RELEASED,
                changed_by=instructor,
                changed_at=graded,
                reason=NOTE,
            )
        )
    db.session.flush()
    completion = recompute_completion(course, trainee.id, NOTE, actor=None)
    if completion is None or not completion.completed:
        return None
    completion.completed_at = graded
    _evidence(trainee, course, instructor, graded, rng)
    return graded


def _evidence(trainee, course: Course, instructor, when: datetime, rng) -> None:
    """Record the competency levels the course's final project showed, dated ``when``."""
    wanted = [c for courses, codes in SCHEMES.values() if course.code in courses for c in codes]
    rows = db.session.execute(
        sa.select(Competency, ProficiencyLevel)
        .join(Framework, Framework.id == Competency.framework_id)
        .join(ProficiencyLevel, ProficiencyLevel.framework_id == Framework.id)
        .where(Framework.code == FRAMEWORK_CODE, Competency.code.in_(wanted))
    ).all()
    levels: dict[str, dict[int, ProficiencyLevel]] = {}
    competencies = {}
    for competency, level in rows:
        competencies[competency.code] = competency
        levels.setdefault(competency.code, {})[level.rank] = level
    for code in sorted(competencies):
        # An early, lower level first, then the level the project showed: gains over time.
        ranks = levels[code]
        top = max(ranks) if rng.random() < 0.75 else max(min(ranks), max(ranks) - 2)
        for offset, rank in ((-20, max(min(ranks), top - 1)), (0, top)):
            db.session.add(
                Evidence(
                    user_id=trainee.id,
                    competency_id=competencies[code].id,
                    level_id=ranks[rank].id,
                    source=EvidenceSource.INSTRUCTOR,
                    course_id=course.id,
                    note=NOTE,
                    recorded_by_id=getattr(instructor, "id", None),
                    created_at=when + timedelta(days=offset),
                )
            )


def _certify(trainees, finished, courses, now: datetime) -> None:
    """Issue, as of a past day, the certificates the history trainees earned."""
    certifier = find_user_by_email(CERTIFIER)
    schemes = {
        s.code: s for s in db.session.scalars(sa.select(Scheme).where(Scheme.code.in_(SCHEMES)))
    }
    if certifier is None or not schemes:
        return
    for trainee in trainees:
        done = finished.get(trainee.id, {})
        for code, (needed, _competencies) in SCHEMES.items():
            if code not in schemes or not all(c in done for c in needed):
                continue
            when = min(max(done[c] for c in needed) + timedelta(days=5), now - timedelta(minutes=5))
            try:
                cert_ops.issue_certificate(schemes[code], trainee, actor=certifier, now=when)
            except cert_ops.CertificationError as error:
                logger.info("demo history: no %s for %s: %s", code, trainee.email, error)
    db.session.flush()
    completed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CourseCompletion)
        .where(CourseCompletion.completed.is_(True))
    )
    logger.info("demo history: %s course completions in all", completed)
