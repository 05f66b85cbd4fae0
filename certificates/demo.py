"""Demo certification: schemes for the three Skills4Cities roles, issued and revoked certificates.

Runs after every ``courses`` loader. Стефан Маринов holds the project-manager
certificate; Jonas Weber's was revoked (the reason is kept); Елена Николова
meets every requirement but has no certificate yet, so a certifier can issue
one in the demo. Each scheme requires courses and competencies of the demo
framework (``courses.demo.competencies``) at its proficient level. Where the
other loaders left these trainees short of a course or a competency level the
project-manager scheme requires, they are given the record that earns it
through the real rules (enrolment, lessons done, released grades and
instructor evidence by the course's instructor), so the gradebook and the
competency profiles agree with the certificates. Other demo trainees stay
short of it (Мария Иванова has PM.1 only at level 2).
Idempotent: nothing happens when the project-manager scheme exists.
"""

# ruff: noqa: RUF001 - Bulgarian text is intended
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from certificates import operations as ops
from certificates import queries
from certificates.eligibility import COMPETENCY
from courses.assessments.grades import get_grade, set_grade
from courses.assessments.models import Assessment, GradeStatus
from courses.competencies.models import Competency, Framework
from courses.competencies.operations import CompetencyError, record_evidence
from courses.demo.competencies import FRAMEWORK_CODE
from courses.enrolment.operations import enrol, free_places, mark_lesson_done
from courses.enrolment.queries import course_outline, has_active_enrolment
from courses.gradebook.models import CourseCompletion
from courses.gradebook.operations import recompute_completion
from courses.models import Course, Programme
from lms.auth.operations import find_user_by_email
from lms.extensions import db

logger = logging.getLogger(__name__)

CERTIFIER = "petya.angelova@example.org"
ESCO = "http://data.europa.eu/esco/skill/"


@dataclass(frozen=True)
class SchemeSpec:
    code: str
    programme: str
    title_en: str
    title_bg: str
    description_en: str
    description_bg: str
    eqf_level: int
    workload_hours: int
    esco: tuple[str, ...]
    ecf: tuple[str, ...]
    courses: tuple[tuple[str, int], ...]  # course code, minimum grade
    competencies: tuple[tuple[str, int], ...]  # competency code, minimum level rank


PROFICIENT = 3  # rank of "Proficient" on the demo framework's scale

ASSESSMENT_EN = (
    "Course assessments (quizzes, a written assignment marked with a rubric) and an oral "
    "examination before two examiners."
)
ASSESSMENT_BG = (
    "Оценяване в курсовете (тестове, писмено задание, оценено по рубрика) и устен изпит "
    "пред двама изпитващи."
)

SCHEMES = (
    SchemeSpec(
        code="S4C-PM",
        programme="S4C-PM",
        title_en="Smart-City Project Manager",
        title_bg="Ръководител на проекти за интелигентни градове",
        description_en="Leads smart-city projects from charter to benefits, with stakeholders, "
        "funding, procurement and risk under control.",
        description_bg="Ръководи проекти за интелигентни градове от хартата до ползите, като "
        "управлява заинтересованите страни, финансирането, поръчките и риска.",
        eqf_level=6,
        workload_hours=150,
        esco=(
            "7111b95d-0ce3-441a-9d92-4c75d05c4388",  # project management
            "cd5efa8c-e44d-4cbc-91c6-796018dbed68",  # perform project management
            "1af2db15-2af9-44dd-9639-bf1fc69d4c34",  # manage relationships with stakeholders
            "1dd23dba-dd00-45ab-abf4-642902538317",  # perform risk analysis
            "d5bcc417-a004-4165-b7f1-ab739eadd2f4",  # smart city features
        ),
        ecf=("E.2", "E.3", "E.4"),
        courses=(("SC-101", 60), ("SC-102", 50)),
        competencies=(("PM.1", PROFICIENT), ("PM.2", PROFICIENT), ("PM.3", PROFICIENT)),
    ),
    SchemeSpec(
        code="S4C-PMC",
        programme="S4C-PMC",
        title_en="Smart-City Project-Management Consultant",
        title_bg="Консултант по управление на проекти за интелигентни градове",
        description_en="Advises cities on preparing and steering smart-city projects.",
        description_bg="Консултира градовете при подготовката и насочването на проекти за "
        "интелигентни градове.",
        eqf_level=6,
        workload_hours=125,
        esco=(
            "283cbcd3-7101-4dbb-be37-56f3625515b1",  # provide ICT consulting advice
            "414332e4-8347-4771-b947-65bd3801a620",  # use consulting techniques
            "949ced5f-7536-4614-ac60-563ffc91a2f2",  # strategic planning
        ),
        ecf=("D.11", "E.2"),
        courses=(("SC-101", 60), ("SC-104", 60)),
        competencies=(("PMC.1", PROFICIENT), ("PMC.2", PROFICIENT), ("PMC.3", PROFICIENT)),
    ),
    SchemeSpec(
        code="S4C-PD",
        programme="S4C-PD",
        title_en="Smart-City Project Developer",
        title_bg="Разработчик на проекти за интелигентни градове",
        description_en="Turns city needs into fundable, buildable projects.",
        description_bg="Превръща нуждите на града в проекти, които могат да бъдат "
        "финансирани и изпълнени.",
        eqf_level=5,
        workload_hours=125,
        esco=(
            "21fecc8a-392e-49ce-ac26-fb0696ccfead",  # create project specifications
            "234d1c8f-c921-483e-9a6e-4fbfc14946dc",  # manage government funding
            "538f8bc6-a5bf-422b-8112-5ad3fe9de9a0",  # urban sustainability
        ),
        ecf=("A.3", "A.4"),
        courses=(("SC-101", 55), ("SC-105", 55)),
        competencies=(("PD.2", PROFICIENT), ("PD.3", PROFICIENT), ("PD.5", PROFICIENT)),
    ),
)

# Trainee e-mail -> percentage earned in each course the schemes require, where not yet complete.
EARNED = {
    "stefan.marinov@example.org": {"SC-101": 88, "SC-102": 79},
    "jonas.weber@example.org": {"SC-101": 71, "SC-102": 64},
    "elena.nikolova@example.org": {"SC-101": 84, "SC-102": 77},
}
# Competency code -> (course whose instructor saw it, evidence note), for the trainees in
# EARNED who lack the level the project-manager scheme requires. All three are outcomes of SC-102.
SHOWN = {
    "PM.1": (
        "SC-102",
        "Prepared the charter, work plan and handbook for the case-study e-services project "
        "and led its phase-gate review.",
    ),
    "PM.2": (
        "SC-102",
        "Kept the case-study risk register with owners, probabilities and responses and "
        "argued the treatment of the top risks.",
    ),
    "PM.3": (
        "SC-102",
        "Reported earned value correctly in the mid-term review exercise and explained the "
        "cost and schedule variance.",
    ),
}
ISSUED = "stefan.marinov@example.org"
REVOKED = "jonas.weber@example.org"
REVOCATION_REASON = (
    "Issued in error: the SC-102 grade was recorded for the wrong trainee. / "
    "Издаден по грешка: оценката по SC-102 е въведена на друг обучаем."
)


def load() -> list[dict]:
    """Add the certification demo once; return no extra accounts (the certifier exists)."""
    if queries.scheme_by_code(SCHEMES[0].code) is not None:
        return []
    courses = {c.code: c for c in db.session.scalars(sa.select(Course))}
    if not all(code in courses for spec in SCHEMES for code, _min in spec.courses):
        logger.info("demo courses missing; certification demo skipped")
        return []
    competencies = _competencies()
    schemes = {spec.code: _scheme(spec, courses, competencies) for spec in SCHEMES}
    scheme = schemes["S4C-PM"]
    for email, grades in EARNED.items():
        user = find_user_by_email(email)
        if user is not None:
            for code, percent in grades.items():
                _earn_completion(user, courses[code], Decimal(percent))
            db.session.flush()
            _earn_levels(user, scheme, courses)
    db.session.flush()
    certifier = find_user_by_email(CERTIFIER)
    for email in (ISSUED, REVOKED):
        trainee = find_user_by_email(email)
        if trainee is None:
            continue
        try:
            cert = ops.issue_certificate(scheme, trainee, actor=certifier)
        except ops.CertificationError as error:
            logger.warning("demo certificate for %s not issued: %s", email, error)
            continue
        if email == REVOKED:
            ops.revoke(cert, reason=REVOCATION_REASON, actor=certifier, in_error=True)
    db.session.flush()
    logger.info("loaded the certification demo")
    return []


def _competencies() -> dict[str, Competency]:
    """Return the demo framework's competencies by code (none when it is not loaded)."""
    return {
        c.code: c
        for c in db.session.scalars(
            sa.select(Competency).join(Framework).where(Framework.code == FRAMEWORK_CODE)
        )
    }


def _scheme(spec: SchemeSpec, courses: dict[str, Course], competencies: dict[str, Competency]):
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == spec.programme))
    scheme = ops.create_scheme(
        code=spec.code,
        actor=None,
        title_en=spec.title_en,
        title_bg=spec.title_bg,
        description_en=spec.description_en,
        description_bg=spec.description_bg,
        programme=programme,
        validity_months=36,
        renewal_rule="exam" if spec.code == "S4C-PM" else None,
        eqf_level=spec.eqf_level,
        workload_hours=spec.workload_hours,
        assessment_form_en=ASSESSMENT_EN,
        assessment_form_bg=ASSESSMENT_BG,
        participation_form="blended",
        identity_check="Photo identity document checked at the oral examination.",
        quality_assurance_en="Internal quality assurance of the Skills4Cities centre.",
        quality_assurance_bg="Вътрешна система за качество на центъра Skills4Cities.",
        esco_uris=" ".join(ESCO + uuid for uuid in spec.esco),
        ecf_codes=" ".join(spec.ecf),
        active=True,
    )
    ops.set_design(
        scheme,
        colour="#1f4e79",
        signatory_name="Nikolay Stoyanov",
        signatory_title="Head of Certification / Ръководител сертифициране",
        actor=None,
    )
    for code, minimum in spec.courses:
        ops.add_requirement(
            scheme, kind="course", course=courses[code], min_grade=minimum, actor=None
        )
    for code, level in spec.competencies:
        if code not in competencies:
            logger.info("demo competency %s missing; %s does not require it", code, spec.code)
            continue
        ops.add_requirement(
            scheme, kind="competency", competency=competencies[code], min_level=level, actor=None
        )
    return scheme


def _earn_levels(user, scheme, courses: dict[str, Course]) -> None:
    """Record instructor evidence for each competency level of ``scheme`` that ``user`` lacks."""
    result = queries.eligibility_for(scheme, user)
    for unmet in result.unmet:
        req = unmet.requirement
        if req.kind != COMPETENCY or req.label not in SHOWN:
            continue
        course_code, note = SHOWN[req.label]
        course = courses.get(course_code)
        if course is None or not course.instructors:
            continue
        competency = db.session.get(Competency, req.target_id)
        assert competency is not None, "a competency requirement names a competency"
        level = next(lv for lv in competency.framework.levels if lv.rank == req.min_level)
        try:
            record_evidence(
                user, competency, level, actor=course.instructors[0], note=note, course=course
            )
        except CompetencyError as error:  # e.g. no longer enrolled in the course
            logger.warning("demo evidence for %s skipped: %s", user.email, error.message)


def _earn_completion(user, course: Course, percent: Decimal) -> None:
    """Give ``user`` what completing ``course`` takes, through the same operations as the pages."""
    completion = db.session.scalar(
        sa.select(CourseCompletion).where(
            CourseCompletion.user_id == user.id, CourseCompletion.course_id == course.id
        )
    )
    if completion is not None and completion.completed:
        return
    if not course.instructors:
        logger.warning("nobody teaches %s to enrol %s", course.code, user.email)
        return
    instructor = course.instructors[0]
    if not has_active_enrolment(user, course):
        cohort = next((c for c in course.cohorts if free_places(c) != 0), None)
        if cohort is None:
            logger.warning("no free place in %s for %s", course.code, user.email)
            return
        enrol(cohort, user, actor=instructor, by_staff=True)
    for lesson in course_outline(course):
        if lesson.required:
            mark_lesson_done(user, lesson, actor=user)
    assessments = db.session.scalars(
        sa.select(Assessment).where(Assessment.course_id == course.id, Assessment.published)
    )
    for assessment in assessments:
        grade = get_grade(assessment, user)
        if grade is not None and grade.status == GradeStatus.RELEASED:
            continue
        points = (assessment.max_points * percent / 100).quantize(Decimal("0.01"))
        set_grade(
            assessment,
            user,
            points,
            actor=instructor,
            release=True,
            reason="Demo record of a trainee who completed the course.",
        )
    recompute_completion(
        course, user.id, "Demo record of a trainee who completed the course.", actor=None
    )
