"""Demo data: the Skills4Cities smart-city competency framework, mappings and evidence.

``load()`` runs after the curriculum demo (``courses.demo``). It creates the
framework once (guarded by its code), maps the demo courses' learning outcomes,
maps every demo assessment that exists and has no mapping yet (quizzes show
knowledge, so they map at most to level 2), and records instructor evidence for
demo trainees. ESCO URIs and e-CF codes are real: tests check them against the
published lists kept in tests/data.
Running it again only maps assessments added since.
"""

# ruff: noqa: RUF001 - Bulgarian text and typographic dashes are intended

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from courses.assessments.models import Assessment, AssessmentKind
from courses.competencies import operations as ops
from courses.competencies.models import (
    AssessmentCompetency,
    Competency,
    Framework,
    OutcomeCompetency,
)
from courses.models import Course, LearningOutcome
from lms import audit
from lms.auth.operations import find_user_by_email
from lms.extensions import db

logger = logging.getLogger(__name__)

FRAMEWORK_CODE = "S4C-SCF"
ESCO = "http://data.europa.eu/esco/skill/"


@dataclass(frozen=True)
class Spec:
    code: str
    title_en: str
    title_bg: str
    description_en: str = ""
    description_bg: str = ""
    esco: tuple[str, ...] = ()
    ecf: tuple[str, ...] = ()
    parent: str | None = None


SCALE = (
    ("Awareness", "Осведоменост"),
    ("Guided practice", "Прилагане с напътствия"),
    ("Proficient", "Самостоятелно прилагане"),
    ("Advanced", "Напреднало ниво"),
    ("Expert", "Експертно ниво"),
)
PROFICIENT = 2  # the third level

COMPETENCIES = (
    Spec(
        "PM",
        "Smart-city project manager",
        "Ръководител на проекти за интелигентни градове",
        "Leads smart-city projects from charter to benefits in a municipality, utility or "
        "supplier.",
        "Ръководи проекти за интелигентни градове от хартата до ползите в община, "
        "комунално дружество или при доставчик.",
    ),
    Spec(
        "PM.1",
        "Plan and run a project with PM²",
        "Планира и изпълнява проект по PM²",
        "Prepares the business case, charter, work plan and handbook and runs the project "
        "through its phases.",
        "Изготвя бизнес обосновка, харта, работен план и наръчник и води проекта през фазите му.",
        ("802e6973-3270-4cf0-86e4-a6835caf1ba6", "cd5efa8c-e44d-4cbc-91c6-796018dbed68"),
        ("E.2",),
        "PM",
    ),
    Spec(
        "PM.2",
        "Manage project risk",
        "Управлява риска в проекта",
        "Identifies, assesses and treats risks and keeps a register with owners and responses.",
        "Идентифицира, оценява и третира рисковете и поддържа регистър с отговорници и мерки.",
        ("1dd23dba-dd00-45ab-abf4-642902538317", "6eff134b-e34f-4d6e-a6e8-5e47cf2228d0"),
        ("E.3",),
        "PM",
    ),
    Spec(
        "PM.3",
        "Control budget, schedule and earned value",
        "Контролира бюджет, график и спечелена стойност",
        "Builds the work breakdown and schedule, tracks cost and reports with earned value.",
        "Съставя разбивката на работата и графика, следи разходите и отчита чрез спечелена "
        "стойност.",
        ("21c5790c-0930-4d74-b3b0-84caf5af12ea",),
        ("E.2", "E.1"),
        "PM",
    ),
    Spec(
        "PM.4",
        "Engage stakeholders and residents",
        "Ангажира заинтересованите страни и гражданите",
        "Maps stakeholders, plans engagement and co-creation, and keeps them informed.",
        "Картографира заинтересованите страни, планира ангажиране и съвместно създаване и ги "
        "информира.",
        ("1af2db15-2af9-44dd-9639-bf1fc69d4c34", "477173ca-5fc2-406b-9122-95d92811f284"),
        ("E.4",),
        "PM",
    ),
    Spec(
        "PM.5",
        "Manage contracts and suppliers",
        "Управлява договорите и доставчиците",
        "Runs the contract with suppliers: deliverables, acceptance, changes and disputes.",
        "Управлява договора с доставчиците: резултати, приемане, промени и спорове.",
        ("92721092-fe7c-4689-96bd-4f02385bc0e7",),
        ("D.8",),
        "PM",
    ),
    Spec(
        "PM.6",
        "Deliver public digital services in agile and hybrid ways",
        "Изпълнява публични цифрови услуги по гъвкав и хибриден начин",
        esco=("0a9acb6b-1139-4be9-b431-3a80a959f2f4",),
        ecf=("E.2",),
        parent="PM",
    ),
    Spec(
        "PMC",
        "Smart-city project-management consultant",
        "Консултант по управление на проекти за интелигентни градове",
        "Advises cities on preparing and steering smart-city projects.",
        "Консултира градовете при подготовката и насочването на проекти за интелигентни градове.",
    ),
    Spec(
        "PMC.1",
        "Align projects with the city strategy and governance",
        "Съгласува проектите със стратегията и управлението на града",
        "Proposes a governance model and indicators that tie projects to the city strategy.",
        "Предлага модел на управление и показатели, които свързват проектите със стратегията "
        "на града.",
        ("949ced5f-7536-4614-ac60-563ffc91a2f2",),
        ("A.1", "E.9"),
        "PMC",
    ),
    Spec(
        "PMC.2",
        "Advise on ICT solutions and interoperability",
        "Консултира за ИКТ решения и оперативна съвместимост",
        esco=("283cbcd3-7101-4dbb-be37-56f3625515b1", "6fa1c2c0-a012-4ca0-9642-e01569ba322c"),
        ecf=("A.5", "D.11"),
        parent="PMC",
    ),
    Spec(
        "PMC.3",
        "Advise on procuring innovation",
        "Консултира за обществени поръчки за иновации",
        "Chooses procedures and writes specifications that avoid lock-in.",
        "Избира процедури и пише спецификации, които избягват зависимост от доставчик.",
        ("2c4b6914-4b97-4e35-85cb-e6602a8bb04a", "378caeec-10a0-4162-b75c-ab374a42e93d"),
        ("D.4",),
        "PMC",
    ),
    Spec(
        "PMC.4",
        "Guide change in the administration",
        "Насочва промяната в администрацията",
        esco=("3c03ee71-4a23-448f-b79e-81fd75d27dca",),
        ecf=("E.7",),
        parent="PMC",
    ),
    Spec(
        "PMC.5",
        "Assess ICT risk and cyber security of city systems",
        "Оценява ИКТ риска и киберсигурността на градските системи",
        esco=("69cfc5ed-6569-4aca-a4cc-fd782ba51d9c", "8088750d-8388-4170-a76f-48354c469c44"),
        ecf=("E.8", "D.1"),
        parent="PMC",
    ),
    Spec(
        "PD",
        "Smart-city project developer",
        "Разработчик на проекти за интелигентни градове",
        "Turns city needs into fundable, buildable projects.",
        "Превръща нуждите на града в проекти, които могат да бъдат финансирани и изпълнени.",
    ),
    Spec(
        "PD.1",
        "Explain smart-city concepts and their public value",
        "Обяснява понятията за интелигентен град и обществената им стойност",
        esco=("d5bcc417-a004-4165-b7f1-ab739eadd2f4",),
        ecf=("A.7",),
        parent="PD",
    ),
    Spec(
        "PD.2",
        "Turn city needs into project concepts and specifications",
        "Превръща нуждите на града в проектни концепции и спецификации",
        esco=("21fecc8a-392e-49ce-ac26-fb0696ccfead",),
        ecf=("A.4", "D.11"),
        parent="PD",
    ),
    Spec(
        "PD.3",
        "Secure funding and build the business model",
        "Осигурява финансиране и изгражда бизнес модела",
        esco=("234d1c8f-c921-483e-9a6e-4fbfc14946dc", "3556c075-eee0-4549-b730-48ae70cb5af9"),
        ecf=("A.3",),
        parent="PD",
    ),
    Spec(
        "PD.4",
        "Use urban data and open data",
        "Използва градски и отворени данни",
        esco=("2b92a5b2-6758-4ee3-9fb4-b6387a55cc8f",),
        ecf=("D.7", "D.10"),
        parent="PD",
    ),
    Spec(
        "PD.5",
        "Design sustainable, low-carbon projects",
        "Проектира устойчиви нисковъглеродни проекти",
        esco=("dbef5042-4b99-4e6f-b2ed-1d33b07b3ed6", "c8b4b02c-d9ce-4e24-ab43-5dd52c6dff48"),
        ecf=("A.8",),
        parent="PD",
    ),
)

#: (course code, outcome position) -> (competency code, level rank)
OUTCOMES = {
    ("SC-101", 1): ("PD.1", 3),
    ("SC-101", 2): ("PD.1", 2),
    ("SC-101", 3): ("PMC.1", 3),
    ("SC-101", 4): ("PMC.1", 2),
    ("SC-102", 1): ("PM.1", 3),
    ("SC-102", 2): ("PM.6", 3),
    ("SC-102", 3): ("PM.3", 3),
    ("SC-102", 4): ("PM.2", 3),
    ("SC-103", 1): ("PM.4", 3),
    ("SC-104", 1): ("PD.4", 3),
    ("SC-105", 1): ("PD.3", 3),
    ("SC-106", 1): ("PMC.3", 3),
    ("SC-107", 1): ("PD.5", 3),
    ("SC-107", 3): ("PMC.5", 3),
}

#: course code -> competencies its assessments show, at the level an assignment shows.
ASSESSMENTS = {
    "SC-101": (("PD.1", 3), ("PMC.1", 2)),
    "SC-102": (("PM.1", 3), ("PM.2", 3)),
    "SC-103": (("PM.4", 3),),
    "SC-104": (("PD.4", 3),),
    "SC-105": (("PD.3", 3),),
    "SC-106": (("PMC.3", 3), ("PM.5", 2)),
    "SC-107": (("PD.5", 3), ("PMC.5", 2)),
}
QUIZ_LEVEL_CAP = 2  # a quiz shows knowledge, not application
#: a word in an assessment's English title -> a competency it also shows
TITLE_WORDS = {
    "stakeholder": "PM.4",
    "risk": "PM.2",
    "charter": "PM.1",
    "budget": "PM.3",
    "procure": "PMC.3",
    "fund": "PD.3",
    "data": "PD.4",
}

#: (trainee e-mail, course code, competency, level, note)
EVIDENCE = (
    (
        "elena.nikolova@example.org",
        "SC-101",
        "PD.1",
        4,
        "Presented a public-value analysis of the Sofia smart-parking pilot to the group, "
        "with costs and benefits for residents, businesses and the municipality.",
    ),
    (
        "elena.nikolova@example.org",
        "SC-101",
        "PMC.1",
        2,
        "Compared two governance models for a municipal smart-city office in the seminar; "
        "the recommendation needs firmer reasons.",
    ),
    (
        "maria.ivanova@example.org",
        "SC-101",
        "PD.1",
        2,
        "Обясни слоевете инфраструктура, данни и услуги с примера на портала за отворени "
        "данни на София.",
    ),
    (
        "maria.ivanova@example.org",
        "SC-102",
        "PM.1",
        2,
        "Drafted a project charter for an e-services pilot; the scope and the success "
        "criteria still need work.",
    ),
    (
        "georgi.petrov@example.org",
        "SC-101",
        "PMC.1",
        1,
        "Участва в семинара за модели на управление; трябва да предложи собствен модел.",
    ),
    (
        "laura.rossi@example.org",
        "SC-102",
        "PM.2",
        3,
        "Built a risk register for the case study with owners, probabilities and responses; "
        "well argued.",
    ),
    (
        "elena.nikolova@example.org",
        "SC-102",
        "PM.3",
        3,
        "Reported earned value correctly in the mid-term review exercise and explained the "
        "variance.",
    ),
)


def load() -> list[dict]:
    """Add the competency framework, mappings and evidence; return no accounts."""
    admin = find_user_by_email("admin@example.org")
    framework = db.session.scalar(sa.select(Framework).where(Framework.code == FRAMEWORK_CODE))
    created = framework is None
    if framework is None:
        framework = _create_framework(admin)
    competencies = {
        c.code: c
        for c in db.session.scalars(
            sa.select(Competency).where(Competency.framework_id == framework.id)
        )
    }
    levels = {level.rank: level for level in framework.levels}
    if created:
        _map_outcomes(competencies, levels, admin)
    mapped = _map_assessments(competencies, levels, admin)
    if created:
        _record_evidence(competencies, levels)
    db.session.flush()
    if created:
        audit.record(
            "demo.load_competencies",
            framework,
            actor=admin,
            competencies=len(competencies),
            assessments=mapped,
        )
    logger.info("competency demo: framework %s, %s assessments mapped", framework.code, mapped)
    return []


def _create_framework(admin) -> Framework:
    framework = ops.create_framework(
        code=FRAMEWORK_CODE,
        name_en="Skills4Cities smart-city competency framework",
        name_bg="Рамка на компетентностите за интелигентни градове Skills4Cities",
        description_en=(
            "What the three Skills4Cities roles must be able to do: smart-city project "
            "manager, project-management consultant and project developer. Each "
            "competency is aligned to ESCO skills and e-CF 4.0 competences."
        ),
        description_bg=(
            "Какво трябва да могат трите роли на Skills4Cities: ръководител на проекти за "
            "интелигентни градове, консултант по управление на проекти и разработчик на "
            "проекти. Всяка компетентност е съотнесена към умения от ESCO и компетентности "
            "от e-CF 4.0."
        ),
        source=(
            "Skills4Cities Reference Competencies Framework (Erasmus+ "
            "2020-1-BG01-KA202-079071), adapted by the centre; ESCO v1.2 (European "
            "Commission); e-CF 4.0 (EN 16234-1:2019)"
        ),
        actor=admin,
        scale=SCALE,
        proficient=PROFICIENT,
    )
    made: dict[str, Competency] = {}
    for spec in COMPETENCIES:
        made[spec.code] = ops.create_competency(
            framework,
            code=spec.code,
            title_en=spec.title_en,
            title_bg=spec.title_bg,
            description_en=spec.description_en,
            description_bg=spec.description_bg,
            parent=made[spec.parent] if spec.parent else None,
            esco_uris=[ESCO + uuid for uuid in spec.esco],
            ecf_codes=list(spec.ecf),
            actor=admin,
        )
    return framework


def _courses() -> dict[str, Course]:
    codes = {code for code, _position in OUTCOMES} | set(ASSESSMENTS)
    return {c.code: c for c in db.session.scalars(sa.select(Course).where(Course.code.in_(codes)))}


def _map_outcomes(competencies, levels, admin) -> None:
    courses = _courses()
    for (code, position), (competency, rank) in OUTCOMES.items():
        course = courses.get(code)
        outcome = (
            None
            if course is None
            else db.session.scalar(
                sa.select(LearningOutcome).where(
                    LearningOutcome.course_id == course.id, LearningOutcome.position == position
                )
            )
        )
        if outcome is None:
            continue
        mapped = db.session.scalar(
            sa.select(OutcomeCompetency.id).where(OutcomeCompetency.outcome_id == outcome.id)
        )
        if mapped is None:
            ops.map_outcome(outcome, competencies[competency], levels[rank], actor=admin)


def _map_assessments(competencies, levels, admin) -> int:
    """Map each demo assessment without a mapping; passes already graded get evidence."""
    courses = _courses()
    already = sa.select(AssessmentCompetency.assessment_id)
    count = 0
    for code, targets in ASSESSMENTS.items():
        course = courses.get(code)
        if course is None:
            continue
        assessments = db.session.scalars(
            sa.select(Assessment)
            .where(Assessment.course_id == course.id, Assessment.id.not_in(already))
            .order_by(Assessment.id)
        ).all()
        for assessment in assessments:
            title = assessment.title_en.lower()
            extra = [(c, 3) for word, c in TITLE_WORDS.items() if word in title]
            chosen = dict(targets)
            for competency, rank in extra:
                chosen.setdefault(competency, rank)
            for competency, rank in chosen.items():
                if assessment.kind == AssessmentKind.QUIZ:
                    rank = min(rank, QUIZ_LEVEL_CAP)
                ops.map_assessment(assessment, competencies[competency], levels[rank], actor=admin)
            count += 1
    return count


def _record_evidence(competencies, levels) -> None:
    courses = _courses()
    for email, code, competency, rank, note in EVIDENCE:
        trainee = find_user_by_email(email)
        course = courses.get(code)
        if trainee is None or course is None or not course.instructors:
            continue
        try:
            ops.record_evidence(
                trainee,
                competencies[competency],
                levels[rank],
                actor=course.instructors[0],
                note=note,
                course=course,
            )
        except ops.CompetencyError as error:  # e.g. the trainee is not enrolled any more
            logger.warning("demo evidence for %s skipped: %s", email, error.message)
