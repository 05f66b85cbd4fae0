"""Demo data: the Skills4Cities curriculum, cohorts and people in every role.

``load()`` is registered with ``lms demo``. It creates everything once, guarded by
the first programme's code, and returns the demo accounts to print either way.
Lesson bodies are Markdown files in ``courses/data/demo/<course code>.<language>.md``,
one section per lesson headed by a ``=== <module>.<lesson> ===`` line.

The loaders that build on it are the modules beside this one, run in this order:
:mod:`.quizzes`, :mod:`.assignments`, :mod:`.gradebook` and :mod:`.competencies`.
"""

# ruff: noqa: RUF001 - Bulgarian text and typographic dashes are intended

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    EnrolmentStatus,
    LearningOutcome,
    Lesson,
    LessonProgress,
    Module,
    Programme,
    ProgrammeCourse,
)
from lms import audit
from lms.auth.operations import create_user, find_user_by_email
from lms.db import utcnow
from lms.extensions import db
from lms.models import Role, User

logger = logging.getLogger(__name__)

CONTENT_DIR = Path(__file__).parent.parent / "data" / "demo"
MARKER_PROGRAMME = "S4C-PM"
_SECTION = re.compile(r"^=== (\d+)\.(\d+) ===$", re.MULTILINE)


@dataclass(frozen=True)
class Account:
    key: str
    email: str
    name: str
    password: str
    roles: tuple[Role, ...]
    locale: str | None = None
    name_latin: str = ""  # the name in Latin letters when ``name`` is in Cyrillic


# Fixed demo passwords: they are printed by ``lms demo`` for anyone to use.
ACCOUNTS = (
    Account(
        "admin",
        "admin@example.org",
        "Николай Стоянов",
        "admin-demo-2026",
        (Role.ADMIN,),
        name_latin="Nikolay Stoyanov",
    ),
    Account(
        "anna",
        "anna.koleva@example.org",
        "Анна Колева",
        "teach-demo-2026",
        (Role.INSTRUCTOR,),
        "bg",
        name_latin="Anna Koleva",
    ),
    Account(
        "david",
        "david.fischer@example.org",
        "David Fischer",
        "teach-demo-2026",
        (Role.INSTRUCTOR,),
    ),
    Account(
        "petya",
        "petya.angelova@example.org",
        "Петя Ангелова",
        "certify-demo-2026",
        (Role.CERTIFIER,),
        name_latin="Petya Angelova",
    ),
    Account(
        "ivan",
        "hr@sofia-mobility.example.org",
        "Иван Тодоров",
        "employ-demo-2026",
        (Role.EMPLOYER,),
        name_latin="Ivan Todorov",
    ),
    Account(
        "vesela",
        "manager@example.org",
        "Весела Димова",
        "manage-demo-2026",
        (Role.MANAGER,),
        name_latin="Vesela Dimova",
    ),
    Account(
        "maria",
        "maria.ivanova@example.org",
        "Мария Иванова",
        "learn-demo-2026",
        (Role.TRAINEE,),
        "bg",
        name_latin="Maria Ivanova",
    ),
    Account(
        "georgi",
        "georgi.petrov@example.org",
        "Георги Петров",
        "learn-demo-2026",
        (Role.TRAINEE,),
        "bg",
        name_latin="Georgi Petrov",
    ),
    Account(
        "elena",
        "elena.nikolova@example.org",
        "Елена Николова",
        "learn-demo-2026",
        (Role.TRAINEE,),
        name_latin="Elena Nikolova",
    ),
    Account("laura", "laura.rossi@example.org", "Laura Rossi", "learn-demo-2026", (Role.TRAINEE,)),
    Account("jonas", "jonas.weber@example.org", "Jonas Weber", "learn-demo-2026", (Role.TRAINEE,)),
    Account(
        "stefan",
        "stefan.marinov@example.org",
        "Стефан Маринов",
        "learn-demo-2026",
        (Role.TRAINEE,),
        name_latin="Stefan Marinov",
    ),
    Account(
        "ana",
        "ana.hristova@example.org",
        "Ана-Мария Христова",
        "learn-demo-2026",
        (Role.TRAINEE,),
        "bg",
        name_latin="Ana-Maria Hristova",
    ),
)


@dataclass(frozen=True)
class LessonSpec:
    title_en: str
    title_bg: str
    minutes: int


@dataclass(frozen=True)
class ModuleSpec:
    title_en: str
    title_bg: str
    lessons: tuple[LessonSpec, ...]


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title_en: str
    title_bg: str
    summary_en: str
    summary_bg: str
    hours: int
    instructors: tuple[str, ...]
    outcomes: tuple[tuple[str, str], ...]
    modules: tuple[ModuleSpec, ...]
    state: CourseState = CourseState.PUBLISHED


@dataclass(frozen=True)
class ProgrammeSpec:
    code: str
    title_en: str
    title_bg: str
    summary_en: str
    summary_bg: str
    courses: tuple[str, ...] = field(default_factory=tuple)


def _m(title_en: str, title_bg: str, *lessons: tuple[str, str, int]) -> ModuleSpec:
    return ModuleSpec(title_en, title_bg, tuple(LessonSpec(*lesson) for lesson in lessons))


COURSES = (
    CourseSpec(
        code="SC-101",
        title_en="Smart cities: concepts and governance",
        title_bg="Интелигентни градове: понятия и управление",
        summary_en=(
            "What a smart city is and is not, how its technology, data and services fit "
            "together, who decides, and how European and Bulgarian policy shape local "
            "programmes. The common foundation of all three Skills4Cities roles."
        ),
        summary_bg=(
            "Какво е и какво не е интелигентен град, как се свързват технологиите, данните "
            "и услугите, кой взема решенията и как европейските и българските политики "
            "определят местните програми. Общата основа и за трите роли на Skills4Cities."
        ),
        hours=12,
        instructors=("anna",),
        outcomes=(
            (
                "Explain smart-city features in terms of the public value they create for "
                "residents, businesses and the administration.",
                "Обяснява характеристиките на интелигентния град чрез обществената стойност, "
                "която те създават за жители, бизнес и администрация.",
            ),
            (
                "Describe the infrastructure, data and service layers of a smart city and "
                "how they depend on one another.",
                "Описва слоевете инфраструктура, данни и услуги на интелигентния град и "
                "зависимостите между тях.",
            ),
            (
                "Compare governance models for a municipal smart-city programme and propose "
                "one for a given city.",
                "Сравнява модели на управление на общинска програма за интелигентен град и "
                "предлага модел за конкретен град.",
            ),
            (
                "Select indicators from ISO 37122 or the U4SSC KPIs to track a city strategy.",
                "Подбира показатели от ISO 37122 или U4SSC KPI за проследяване на градска "
                "стратегия.",
            ),
        ),
        modules=(
            _m(
                "What makes a city smart",
                "Какво прави града интелигентен",
                ("From buzzword to public value", "От модна дума към обществена стойност", 40),
                (
                    "The layers of a smart city: infrastructure, data, services",
                    "Слоевете на интелигентния град: инфраструктура, данни, услуги",
                    45,
                ),
            ),
            _m(
                "Governance and strategy",
                "Управление и стратегия",
                (
                    "Who decides: governance models for smart-city programmes",
                    "Кой решава: модели на управление на програми за интелигентен град",
                    45,
                ),
                (
                    "From strategy to roadmap",
                    "От стратегия към пътна карта",
                    50,
                ),
            ),
            _m(
                "The European and Bulgarian context",
                "Европейският и българският контекст",
                (
                    "EU policy that shapes city projects",
                    "Европейските политики, които оформят градските проекти",
                    45,
                ),
                (
                    "Measuring progress: indicators and maturity",
                    "Измерване на напредъка: показатели и зрялост",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-102",
        title_en="Managing urban digital projects",
        title_bg="Управление на градски цифрови проекти",
        summary_en=(
            "Run a municipal digital project from idea to benefits: the project lifecycle, "
            "the PM² methodology of the European Commission, agile and hybrid delivery, "
            "scope, schedule, budget, earned value and risk."
        ),
        summary_bg=(
            "Управление на общински цифров проект от идеята до ползите: жизнен цикъл на "
            "проекта, методологията PM² на Европейската комисия, гъвкаво и хибридно "
            "изпълнение, обхват, график, бюджет, спечелена стойност и риск."
        ),
        hours=20,
        instructors=("david",),
        outcomes=(
            (
                "Plan a smart-city project with PM² artefacts: business case, project charter, "
                "work plan and project handbook.",
                "Планира проект за интелигентен град с артефактите на PM²: бизнес обосновка, "
                "харта на проекта, работен план и наръчник на проекта.",
            ),
            (
                "Choose between predictive, agile and hybrid delivery for a public digital "
                "service and justify the choice.",
                "Избира между предсказуем, гъвкав и хибриден подход за публична цифрова услуга "
                "и обосновава избора.",
            ),
            (
                "Build a work breakdown structure and schedule, and report progress with "
                "earned value.",
                "Съставя структура на разбивка на работата и график и отчита напредъка чрез "
                "спечелена стойност.",
            ),
            (
                "Perform a risk analysis and keep a risk register with owners and responses.",
                "Извършва анализ на риска и поддържа регистър на рисковете с отговорници и мерки.",
            ),
        ),
        modules=(
            _m(
                "Lifecycle and methodology",
                "Жизнен цикъл и методология",
                (
                    "The life of a municipal project",
                    "Жизненият цикъл на общински проект",
                    40,
                ),
                (
                    "PM² in practice: phases, roles and artefacts",
                    "PM² на практика: фази, роли и артефакти",
                    50,
                ),
                (
                    "Agile and hybrid delivery of public services",
                    "Гъвкаво и хибридно изпълнение на публични услуги",
                    45,
                ),
            ),
            _m(
                "Planning and control",
                "Планиране и контрол",
                (
                    "Scope, work breakdown and schedule",
                    "Обхват, разбивка на работата и график",
                    50,
                ),
                (
                    "Budget, earned value and reporting",
                    "Бюджет, спечелена стойност и отчитане",
                    45,
                ),
                (
                    "Risk management for urban technology projects",
                    "Управление на риска в градски технологични проекти",
                    50,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-103",
        title_en="Stakeholder engagement and co-creation",
        title_bg="Ангажиране на заинтересованите страни и съвместно създаване",
        summary_en=(
            "Find the people a project affects, decide how far to involve them, and run "
            "co-creation formats — from public consultations to living labs — that improve "
            "the project and earn trust."
        ),
        summary_bg=(
            "Как да откриете хората, които проектът засяга, да решите доколко да ги включите "
            "и да проведете формати за съвместно създаване — от обществени консултации до "
            "живи лаборатории, които подобряват проекта и печелят доверие."
        ),
        hours=10,
        instructors=("anna",),
        outcomes=(
            (
                "Identify and analyse the stakeholders of a smart-city project with a "
                "power–interest grid.",
                "Идентифицира и анализира заинтересованите страни в проект за интелигентен "
                "град чрез матрица „влияние–интерес“.",
            ),
            (
                "Choose a level of participation for each stakeholder group and a consultation "
                "method that fits it.",
                "Избира ниво на участие за всяка група заинтересовани страни и подходящ метод "
                "за консултация.",
            ),
            (
                "Design a co-creation workshop and a communications plan that reaches people "
                "with low digital skills.",
                "Проектира работна среща за съвместно създаване и комуникационен план, който "
                "достига и до хора с ниски дигитални умения.",
            ),
        ),
        modules=(
            _m(
                "Understanding stakeholders",
                "Да разберем заинтересованите страни",
                (
                    "Identifying and analysing stakeholders",
                    "Идентифициране и анализ на заинтересованите страни",
                    40,
                ),
                (
                    "The participation spectrum",
                    "Спектърът на участието",
                    35,
                ),
            ),
            _m(
                "Co-creation and communication",
                "Съвместно създаване и комуникация",
                (
                    "Living labs and co-design workshops",
                    "Живи лаборатории и работни срещи за съвместен дизайн",
                    45,
                ),
                (
                    "Communication plans and digital inclusion",
                    "Комуникационни планове и цифрово приобщаване",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-104",
        title_en="Urban data, interoperability and open data",
        title_bg="Градски данни, оперативна съвместимост и отворени данни",
        summary_en=(
            "Where city data comes from, how to govern it lawfully, how systems exchange it "
            "through standards and APIs, and how to publish open data that people actually "
            "reuse."
        ),
        summary_bg=(
            "Откъде идват градските данни, как да се управляват законосъобразно, как "
            "системите ги обменят чрез стандарти и приложни интерфейси и как да се публикуват "
            "отворени данни, които наистина се използват."
        ),
        hours=14,
        instructors=("david",),
        outcomes=(
            (
                "Map the data sources of an urban service and describe their lifecycle and "
                "quality.",
                "Описва източниците на данни за градска услуга, техния жизнен цикъл и качество.",
            ),
            (
                "Apply data-protection principles (GDPR, privacy by design, DPIA) to a sensor "
                "or service project.",
                "Прилага принципите за защита на данните (ОРЗД, защита на данните на етапа на "
                "проектирането, ОВЗД) към проект със сензори или услуги.",
            ),
            (
                "Specify interoperability requirements using open standards such as NGSI-LD, "
                "OGC SensorThings and DCAT-AP.",
                "Формулира изисквания за оперативна съвместимост чрез отворени стандарти като "
                "NGSI-LD, OGC SensorThings и DCAT-AP.",
            ),
            (
                "Plan the publication of an open dataset with a licence, metadata and update "
                "cycle.",
                "Планира публикуването на отворен набор от данни с лиценз, метаданни и цикъл "
                "на обновяване.",
            ),
        ),
        modules=(
            _m(
                "Data foundations",
                "Основи на данните",
                (
                    "Urban data sources and the data lifecycle",
                    "Източници на градски данни и жизнен цикъл на данните",
                    40,
                ),
                (
                    "Data governance, privacy and the GDPR",
                    "Управление на данните, неприкосновеност и ОРЗД",
                    50,
                ),
            ),
            _m(
                "Interoperability and openness",
                "Оперативна съвместимост и откритост",
                (
                    "Interoperability: standards, APIs and minimal mechanisms",
                    "Оперативна съвместимост: стандарти, интерфейси и минимални механизми",
                    50,
                ),
                (
                    "Publishing open data that people reuse",
                    "Публикуване на отворени данни, които се използват",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-105",
        title_en="Funding and business models for smart-city projects",
        title_bg="Финансиране и бизнес модели за проекти на интелигентни градове",
        summary_en=(
            "The EU and national funding landscape for 2021–2027, how to write a proposal "
            "that is funded, and how to build business cases, cost–benefit analyses and "
            "partnerships that keep a service running after the grant ends."
        ),
        summary_bg=(
            "Европейските и националните източници на финансиране за 2021–2027 г., как се "
            "пише предложение, което получава финансиране, и как се изграждат бизнес "
            "обосновки, анализи „разходи–ползи“ и партньорства, които поддържат услугата и "
            "след края на безвъзмездното финансиране."
        ),
        hours=14,
        instructors=("anna",),
        outcomes=(
            (
                "Match a project idea to suitable EU, national and private funding instruments.",
                "Съпоставя проектна идея с подходящи европейски, национални и частни "
                "инструменти за финансиране.",
            ),
            (
                "Write the core of a funding proposal: problem, objectives, work plan, "
                "budget and impact.",
                "Написва основата на проектно предложение: проблем, цели, работен план, "
                "бюджет и въздействие.",
            ),
            (
                "Prepare a business case with a cost–benefit analysis and a plan to sustain "
                "the service.",
                "Изготвя бизнес обосновка с анализ „разходи–ползи“ и план за устойчивост на "
                "услугата.",
            ),
            (
                "Explain public–private partnership and energy performance contracting "
                "models and their risks.",
                "Обяснява моделите на публично-частно партньорство и договори с гарантиран "
                "резултат за енергийна ефективност и техните рискове.",
            ),
        ),
        modules=(
            _m(
                "Funding sources",
                "Източници на финансиране",
                (
                    "The EU funding landscape 2021–2027",
                    "Европейското финансиране през периода 2021–2027 г.",
                    45,
                ),
                (
                    "Writing a fundable proposal",
                    "Как се пише предложение, което получава финансиране",
                    50,
                ),
            ),
            _m(
                "Business models",
                "Бизнес модели",
                (
                    "Business cases and cost–benefit analysis",
                    "Бизнес обосновка и анализ „разходи–ползи“",
                    50,
                ),
                (
                    "Partnerships and performance contracts",
                    "Партньорства и договори, обвързани с резултат",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-106",
        title_en="Procuring smart-city solutions",
        title_bg="Обществени поръчки за решения на интелигентния град",
        summary_en=(
            "Buy technology and services for the city lawfully and well: procurement "
            "principles and procedures, procurement of innovation, specifications that avoid "
            "vendor lock-in, and managing the contract once it is signed."
        ),
        summary_bg=(
            "Законосъобразно и качествено възлагане на технологии и услуги за града: "
            "принципи и процедури, обществени поръчки за иновации, технически спецификации, "
            "които избягват зависимост от един доставчик, и управление на сключения договор."
        ),
        hours=12,
        instructors=("david",),
        outcomes=(
            (
                "Choose a procurement procedure for a smart-city purchase and explain the choice.",
                "Избира процедура за възлагане на покупка за интелигентния град и обосновава "
                "избора.",
            ),
            (
                "Use preliminary market consultation, pre-commercial procurement and the "
                "innovation partnership where they fit.",
                "Използва предварителни пазарни консултации, предтърговски поръчки и "
                "партньорство за иновации, когато са подходящи.",
            ),
            (
                "Write outcome-based, interoperable specifications and award criteria based on "
                "best price–quality ratio, including sustainability criteria.",
                "Пише спецификации, основани на резултати и оперативна съвместимост, и "
                "критерии за възлагане по най-добро съотношение качество–цена, включително "
                "критерии за устойчивост.",
            ),
            (
                "Manage a contract with service levels, acceptance and change control.",
                "Управлява договор с нива на обслужване, приемане и контрол на промените.",
            ),
        ),
        modules=(
            _m(
                "Procedures",
                "Процедури",
                (
                    "Procurement principles and procedures",
                    "Принципи и процедури при обществените поръчки",
                    45,
                ),
                (
                    "Procuring innovation",
                    "Обществени поръчки за иновации",
                    45,
                ),
            ),
            _m(
                "Specifications and contracts",
                "Спецификации и договори",
                (
                    "Specifications that avoid lock-in",
                    "Спецификации, които избягват зависимост от доставчик",
                    45,
                ),
                (
                    "Managing the contract and the supplier",
                    "Управление на договора и доставчика",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-107",
        title_en="Sustainability, resilience and risk",
        title_bg="Устойчивост, издръжливост и риск",
        summary_en=(
            "Make projects that cut emissions, do no significant harm, survive cyber attacks "
            "and outages, and prove their impact with evidence."
        ),
        summary_bg=(
            "Проекти, които намаляват емисиите, не нанасят значителни вреди, издържат на "
            "кибератаки и прекъсвания и доказват въздействието си с данни."
        ),
        hours=12,
        instructors=("anna",),
        outcomes=(
            (
                "Assess a project against the sustainable development goals and the "
                "do-no-significant-harm principle.",
                "Оценява проект спрямо целите за устойчиво развитие и принципа за "
                "ненанасяне на значителни вреди.",
            ),
            (
                "Advise on energy-saving and low-carbon mobility measures and estimate their "
                "effect.",
                "Консултира за мерки за енергоспестяване и нисковъглеродна мобилност и "
                "оценява ефекта им.",
            ),
            (
                "Implement ICT risk management and cyber-security measures proportionate to "
                "a city system.",
                "Прилага управление на ИКТ рисковете и мерки за киберсигурност, съразмерни на "
                "градската система.",
            ),
            (
                "Define a benefits-realisation plan with baselines, targets and owners.",
                "Изготвя план за реализиране на ползите с изходни стойности, цели и отговорници.",
            ),
        ),
        modules=(
            _m(
                "Sustainability",
                "Устойчивост",
                (
                    "Sustainability goals and the DNSH principle",
                    "Цели за устойчиво развитие и принципът DNSH",
                    40,
                ),
                (
                    "Energy and mobility: where smart projects cut emissions",
                    "Енергия и мобилност: къде интелигентните проекти намаляват емисиите",
                    45,
                ),
            ),
            _m(
                "Resilience and impact",
                "Издръжливост и въздействие",
                (
                    "Cyber security and resilience of city systems",
                    "Киберсигурност и издръжливост на градските системи",
                    50,
                ),
                (
                    "Measuring impact and realising benefits",
                    "Измерване на въздействието и реализиране на ползите",
                    40,
                ),
            ),
        ),
    ),
    CourseSpec(
        code="SC-108",
        title_en="Digital twins for urban planning",
        title_bg="Цифрови близнаци в градското планиране",
        summary_en="Draft in preparation: what urban digital twins are and when they pay off.",
        summary_bg="Чернова в подготовка: какво са градските цифрови близнаци и кога се изплащат.",
        hours=8,
        instructors=("david",),
        outcomes=(
            (
                "Explain what an urban digital twin is and which decisions it supports.",
                "Обяснява какво е градски цифров близнак и какви решения подпомага.",
            ),
        ),
        modules=(
            _m(
                "Foundations",
                "Основи",
                ("What is an urban digital twin?", "Какво е градски цифров близнак?", 30),
                ("When does a digital twin pay off?", "Кога цифровият близнак се изплаща?", 30),
            ),
        ),
        state=CourseState.DRAFT,
    ),
)

PROGRAMMES = (
    ProgrammeSpec(
        code="S4C-PM",
        title_en="Smart-City Project Manager",
        title_bg="Ръководител на проекти за интелигентни градове",
        summary_en=(
            "For people who lead smart-city projects in a municipality, a utility or a "
            "supplier: governance, project management, stakeholders, funding, procurement "
            "and sustainability, leading to the Skills4Cities project-manager certificate."
        ),
        summary_bg=(
            "За хората, които ръководят проекти за интелигентни градове в община, "
            "комунално дружество или при доставчик: управление, проектен мениджмънт, "
            "заинтересовани страни, финансиране, обществени поръчки и устойчивост. Води до "
            "сертификат Skills4Cities за ръководител на проекти."
        ),
        courses=("SC-101", "SC-102", "SC-103", "SC-105", "SC-106", "SC-107"),
    ),
    ProgrammeSpec(
        code="S4C-PMC",
        title_en="Smart-City Project-Management Consultant",
        title_bg="Консултант по управление на проекти за интелигентни градове",
        summary_en=(
            "For advisers who help cities prepare and steer smart-city projects: strategy, "
            "methodology, stakeholder engagement, data and interoperability, and "
            "procurement advice."
        ),
        summary_bg=(
            "За консултанти, които помагат на градовете да подготвят и насочват проекти за "
            "интелигентни градове: стратегия, методология, работа със заинтересованите "
            "страни, данни и оперативна съвместимост, съвети за обществени поръчки."
        ),
        courses=("SC-101", "SC-102", "SC-103", "SC-104", "SC-106"),
    ),
    ProgrammeSpec(
        code="S4C-PD",
        title_en="Smart-City Project Developer",
        title_bg="Разработчик на проекти за интелигентни градове",
        summary_en=(
            "For people who turn city needs into fundable, buildable projects: concepts, "
            "project planning, urban data, funding and business models, and sustainable "
            "design."
        ),
        summary_bg=(
            "За хората, които превръщат нуждите на града в проекти, които могат да бъдат "
            "финансирани и изпълнени: концепции, планиране, градски данни, финансиране и "
            "бизнес модели, устойчив дизайн."
        ),
        courses=("SC-101", "SC-102", "SC-104", "SC-105", "SC-107"),
    ),
)


@cache
def lesson_bodies(code: str, language: str) -> dict[tuple[int, int], str]:
    """Read a course's lesson bodies: {(module, lesson): markdown}, positions from 1."""
    path = CONTENT_DIR / f"{code}.{language}.md"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    bodies = {}
    for i in range(1, len(parts), 3):
        bodies[(int(parts[i]), int(parts[i + 1]))] = parts[i + 2].strip() + "\n"
    return bodies


def accounts() -> list[dict]:
    """The demo accounts as ``lms demo`` prints them."""
    return [
        {"email": a.email, "password": a.password, "roles": ", ".join(map(str, a.roles))}
        for a in ACCOUNTS
    ]


def load() -> list[dict]:
    """Create the demo data unless it is there already; return the accounts to print."""
    exists = db.session.scalar(sa.select(Programme.id).where(Programme.code == MARKER_PROGRAMME))
    if exists is not None:
        logger.info("demo data already present; nothing to do")
        return accounts()

    users = _create_users()
    courses = {spec.code: _create_course(spec, users) for spec in COURSES}
    programmes = [_create_programme(spec, courses) for spec in PROGRAMMES]
    db.session.flush()
    _create_cohorts_and_enrolments(courses, users)
    db.session.flush()
    audit.record(
        "demo.load",
        programmes[0],
        actor=users["admin"],
        programmes=[p.code for p in programmes],
        courses=sorted(courses),
        users=len(users),
    )
    logger.info("loaded demo data: %s courses, %s users", len(courses), len(users))
    return accounts()


def _create_users() -> dict[str, User]:
    users = {}
    for account in ACCOUNTS:
        user = find_user_by_email(account.email)
        if user is None:
            user = create_user(
                email=account.email,
                name=account.name,
                name_latin=account.name_latin,
                password=account.password,
                roles=account.roles,
            )
            user.locale = account.locale
        users[account.key] = user
    return users


def _create_course(spec: CourseSpec, users: dict[str, User]) -> Course:
    bodies_en = lesson_bodies(spec.code, "en")
    bodies_bg = lesson_bodies(spec.code, "bg")
    course = Course(
        code=spec.code,
        title_en=spec.title_en,
        title_bg=spec.title_bg,
        summary_en=spec.summary_en,
        summary_bg=spec.summary_bg,
        workload_hours=spec.hours,
        state=spec.state,
        published_at=utcnow() if spec.state == CourseState.PUBLISHED else None,
        instructors=[users[key] for key in spec.instructors],
    )
    course.outcomes = [
        LearningOutcome(position=i, text_en=en, text_bg=bg)
        for i, (en, bg) in enumerate(spec.outcomes, start=1)
    ]
    for m, module_spec in enumerate(spec.modules, start=1):
        module = Module(position=m, title_en=module_spec.title_en, title_bg=module_spec.title_bg)
        for n, lesson in enumerate(module_spec.lessons, start=1):
            module.lessons.append(
                Lesson(
                    position=n,
                    title_en=lesson.title_en,
                    title_bg=lesson.title_bg,
                    body_en=bodies_en.get((m, n), ""),
                    body_bg=bodies_bg.get((m, n), ""),
                    workload_minutes=lesson.minutes,
                )
            )
        course.modules.append(module)
    db.session.add(course)
    return course


def _create_programme(spec: ProgrammeSpec, courses: dict[str, Course]) -> Programme:
    programme = Programme(
        code=spec.code,
        title_en=spec.title_en,
        title_bg=spec.title_bg,
        summary_en=spec.summary_en,
        summary_bg=spec.summary_bg,
        state=CourseState.PUBLISHED,
    )
    programme.course_links = [
        ProgrammeCourse(course=courses[code], position=i)
        for i, code in enumerate(spec.courses, start=1)
    ]
    db.session.add(programme)
    return programme


def _create_cohorts_and_enrolments(courses: dict[str, Course], users: dict[str, User]) -> None:
    today = date.today()
    days = timedelta(days=1)

    def cohort(code, names, start, end, capacity, opens, closes) -> Cohort:
        name, name_bg = names
        row = Cohort(
            course=courses[code],
            name=name,
            name_bg=name_bg,
            starts_on=today + start * days,
            ends_on=today + end * days,
            capacity=capacity,
            enrol_opens_on=today + opens * days,
            enrol_closes_on=today + closes * days,
        )
        db.session.add(row)
        return row

    # Running now, enrolment still open, places left.
    current = cohort(
        "SC-101", ("Sofia A (blended)", "София А (смесено обучение)"), -21, 60, 30, -45, 14
    )
    # Full: three places taken, two people waiting.
    full = cohort("SC-102", ("Online evening group", "Онлайн вечерна група"), 7, 90, 3, -30, 5)
    # Next intake: the enrolment window is not open yet.
    cohort("SC-101", ("Sofia B (next intake)", "София Б (следващ прием)"), 120, 200, 25, 60, 110)
    cohort("SC-102", ("Sofia weekday group", "София, група през седмицата"), 30, 120, 20, -10, 25)
    cohort("SC-103", ("Online spring group", "Онлайн пролетна група"), 14, 70, 20, -20, 10)
    cohort("SC-104", ("Plovdiv (blended)", "Пловдив (смесено обучение)"), 21, 100, 18, -14, 14)
    cohort("SC-105", ("Online self-paced", "Онлайн, в собствено темпо"), -7, 180, None, -30, 150)
    cohort("SC-106", ("Sofia weekday group", "София, група през седмицата"), 45, 120, 20, -5, 40)
    cohort("SC-107", ("Varna (blended)", "Варна (смесено обучение)"), 28, 110, 16, -10, 20)
    db.session.flush()

    now = utcnow()

    def enrol(row: Cohort, key: str, status: EnrolmentStatus, order: int) -> None:
        queued = now - timedelta(days=10, minutes=-order)
        db.session.add(
            Enrolment(
                cohort=row,
                user=users[key],
                status=status,
                queued_at=queued,
                enrolled_at=queued if status == EnrolmentStatus.ACTIVE else None,
                enrolled_by=users["admin"] if key == "stefan" else None,
            )
        )

    for i, key in enumerate(("maria", "georgi", "elena", "laura", "jonas", "stefan")):
        enrol(current, key, EnrolmentStatus.ACTIVE, i)
    for i, key in enumerate(("maria", "elena", "laura")):
        enrol(full, key, EnrolmentStatus.ACTIVE, i)
    for i, key in enumerate(("georgi", "ana"), start=3):
        enrol(full, key, EnrolmentStatus.WAITLISTED, i)

    # Progress in the running cohort: Elena is nearly through, Maria half-way.
    lessons = [lesson for module in courses["SC-101"].modules for lesson in module.lessons]
    done = {"elena": 5, "maria": 3, "georgi": 1, "laura": 2}
    for key, count in done.items():
        for lesson in lessons[:count]:
            db.session.add(
                LessonProgress(
                    user_id=users[key].id,
                    lesson_id=lesson.id,
                    completed_at=now - timedelta(days=count),
                )
            )
