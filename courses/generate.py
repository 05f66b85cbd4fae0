"""Generated curriculum and trainees' work for ``lms generate`` (see :mod:`lms.generate`).

:func:`generate_curriculum` adds a competency framework, programmes of
courses with modules, lessons, learning outcomes, a question bank, two quizzes
and a rubric-marked assignment each, mapped to competencies, and three
cohorts per course (finished, running, upcoming). :func:`generate_learning`
enrols the trainees and writes what they did: lessons done, quiz attempts
scored by the real scoring rules, submissions marked on the rubric, grades
with their history, competency evidence from passed assessments, and course
completion computed by the real gradebook.

About a third of the trainees follow a whole programme in the finished
cohorts; most of them complete it and become eligible for its scheme.
"""

# ruff: noqa: RUF001 - Bulgarian text is intended

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from courses.assessments import scoring
from courses.assessments.assignments.models import (
    Assignment,
    CriterionMark,
    RubricCriterion,
    RubricLevel,
    Submission,
)
from courses.assessments.models import Assessment, GradeCategory, GradeChange
from courses.assessments.models import Grade as GradeRow
from courses.assessments.quizzes.models import (
    Attempt,
    AttemptAnswer,
    Question,
    QuestionOption,
    Quiz,
    QuizItem,
)
from courses.competencies.models import (
    AssessmentCompetency,
    Competency,
    CompetencyAlignment,
    Evidence,
    Framework,
    OutcomeCompetency,
    ProficiencyLevel,
)
from courses.gradebook import queries as gradebook
from courses.gradebook.models import CompletionChange, CourseCompletion
from courses.models import (
    Cohort,
    Course,
    Enrolment,
    LearningOutcome,
    Lesson,
    LessonProgress,
    Module,
    Programme,
    ProgrammeCourse,
    course_instructors,
)
from lms.extensions import db
from lms.generate import CODE_PREFIX, GenerationRun

FRAMEWORK_CODE = f"{CODE_PREFIX}SCF"
ESCO = "http://data.europa.eu/esco/skill/"
#: Real ESCO skills and e-CF competences the generated competencies align to.
ESCO_SKILLS = (
    "7111b95d-0ce3-441a-9d92-4c75d05c4388",  # project management
    "1af2db15-2af9-44dd-9639-bf1fc69d4c34",  # manage relationships with stakeholders
    "1dd23dba-dd00-45ab-abf4-642902538317",  # perform risk analysis
    "d5bcc417-a004-4165-b7f1-ab739eadd2f4",  # smart city features
    "949ced5f-7536-4614-ac60-563ffc91a2f2",  # strategic planning
    "538f8bc6-a5bf-422b-8112-5ad3fe9de9a0",  # urban sustainability
)
ECF_CODES = ("A.3", "A.4", "D.11", "E.2", "E.3", "E.4")
SCALE = (
    ("Awareness", "Осведоменост"),
    ("Guided practice", "Прилагане с напътствия"),
    ("Proficient", "Самостоятелно прилагане"),
    ("Expert", "Експертно ниво"),
)
PROFICIENT_RANK = 3

ROLES = (
    ("Smart-City Project Manager", "Ръководител на проекти за интелигентни градове"),
    ("Urban Data Analyst", "Анализатор на градски данни"),
    ("Smart-Mobility Planner", "Планировчик на интелигентна мобилност"),
    ("Energy-Transition Coordinator", "Координатор на енергийния преход"),
    ("Digital-Services Developer", "Разработчик на цифрови услуги"),
)
SKILLS = (
    ("Plan and steer", "Планиране и управление"),
    ("Engage stakeholders in", "Ангажиране на заинтересованите страни в"),
    ("Assess risks of", "Оценка на рисковете в"),
)
TOPICS = (
    ("smart mobility", "интелигентна мобилност"),
    ("open urban data", "отворени градски данни"),
    ("energy-efficient buildings", "енергийно ефективни сгради"),
    ("digital twins of cities", "цифрови двойници на градове"),
    ("public e-services", "публични електронни услуги"),
    ("street lighting", "улично осветление"),
    ("waste management", "управление на отпадъците"),
    ("water networks", "водни мрежи"),
    ("air-quality sensing", "измерване на качеството на въздуха"),
    ("urban procurement", "обществени поръчки в града"),
    ("project funding", "финансиране на проекти"),
    ("citizen participation", "гражданско участие"),
    ("cybersecurity for cities", "киберсигурност за градовете"),
    ("district heating", "централно отопление"),
    ("parking and kerbside", "паркиране и крайпътно пространство"),
    ("cycling networks", "велосипедни мрежи"),
    ("public transport data", "данни за обществения транспорт"),
    ("climate adaptation", "адаптация към климата"),
    ("urban logistics", "градска логистика"),
    ("geospatial analysis", "геопространствен анализ"),
)
FLAVOURS = (
    ("Foundations of", "Основи на"),
    ("Managing", "Управление на"),
    ("Data and metrics for", "Данни и показатели за"),
    ("Procuring", "Възлагане на"),
    ("Case studies in", "Казуси в"),
)
MODULES = (
    ("Context and goals", "Контекст и цели"),
    ("Methods and tools", "Методи и инструменти"),
    ("Delivery and evaluation", "Изпълнение и оценка"),
)
LESSONS = (
    ("Why it matters", "Защо е важно"),
    ("Key concepts", "Основни понятия"),
    ("A worked example", "Разработен пример"),
    ("Further reading", "Допълнителни материали"),
)
LESSON_EN = """## {title}

This lesson of *{course}* looks at {topic} from the point of view of a city
administration. Read the text, then try the checklist on a project you know.

- What problem does the city want to solve, and for whom?
- Which data exist already, who owns them, and under which licence?
- What would show, in a year, that the project worked?

> Tip: write down one measurable indicator before you go on.

| step | owner | output |
|---|---|---|
| scope | project manager | charter |
| evidence | analyst | baseline |
| decision | steering group | go / no-go |
"""
LESSON_BG = """## {title}

Този урок от *{course}* разглежда темата „{topic}“ от гледна точка на
общинската администрация. Прочетете текста и приложете списъка към проект,
който познавате.

- Какъв проблем иска да реши градът и за кого?
- Какви данни вече съществуват, кой ги притежава и под какъв лиценз?
- Какво ще покаже след година, че проектът е успешен?
"""

QUESTIONS_PER_COURSE = 12
QUIZ_SIZES = (6, 8)  # module check, final quiz
ATTEMPT_LIMIT = 3
#: Per course: kind, title (en, bg), pass percentage, required, category (0 quizzes, 1 assignments).
ASSESSMENTS = (
    ("quiz", "Module check", "Проверка на модула", 50, False, 0),
    ("quiz", "Final quiz", "Финален тест", 60, True, 0),
    ("assignment", "Project proposal", "Проектно предложение", 50, True, 1),
)
RUBRIC = (
    ("Analysis of the problem", "Анализ на проблема"),
    ("Quality of the plan", "Качество на плана"),
    ("Use of evidence", "Използване на данни"),
)
RUBRIC_LEVELS = (
    ("Missing", "Липсва", 0),
    ("Partial", "Частично", 5),
    ("Good", "Добре", 8),
    ("Excellent", "Отлично", 10),
)
SUBMISSION_TEXT = (
    "Proposal for {topic}: the problem, the people it affects, the data we hold, a "
    "three-phase plan with owners and milestones, the main risks with their "
    "responses, and the indicators we will report to the steering group."
)


def _code(kind: str, number: int) -> str:
    return f"{CODE_PREFIX}{kind}{number:03d}"


# --- curriculum -------------------------------------------------------------------------------


def generate_curriculum(run: GenerationRun) -> None:
    """Add the framework, programmes, courses and everything a course holds."""
    rng, size = run.rng, run.size
    instructors = run.made["users"]["instructor"]
    framework_id, level_ids, competencies = _framework(run)

    programme_ids = run.insert(
        Programme,
        [
            {
                "code": _code("P", p + 1),
                "title_en": ROLES[p % len(ROLES)][0] + (f" {p // len(ROLES) + 1}" if p else ""),
                "title_bg": ROLES[p % len(ROLES)][1] + (f" {p // len(ROLES) + 1}" if p else ""),
                "summary_en": "A programme of courses leading to a certification scheme.",
                "summary_bg": "Програма от курсове, водеща до сертификационна схема.",
                "state": "published",
                "created_at": run.now - timedelta(days=400),
            }
            for p in range(size.programmes)
        ],
        returning=True,
    )

    course_rows, programme_of = [], []
    for c in range(size.courses):
        flavour = FLAVOURS[c % len(FLAVOURS)]
        topic = TOPICS[(c // len(FLAVOURS)) % len(TOPICS)]
        edition = c // (len(FLAVOURS) * len(TOPICS))
        suffix = f" ({edition + 1})" if edition else ""
        row: dict[str, Any] = {
            "code": _code("C", c + 1),
            "title_en": f"{flavour[0]} {topic[0]}{suffix}",
            "title_bg": f"{flavour[1]} {topic[1]}{suffix}",
            "summary_en": f"What a city needs to know about {topic[0]}, with a worked project.",
            "summary_bg": f"Какво трябва да знае един град за {topic[1]}, с разработен проект.",
            "workload_hours": rng.choice((20, 25, 30, 40)),
            "pass_mark": Decimal(50),
            "state": "published",
            "created_at": run.now - timedelta(days=380),
            "published_at": run.now - timedelta(days=370),
        }
        row["search_text"] = "\n".join(
            row[k] for k in ("code", "title_en", "title_bg", "summary_en", "summary_bg")
        ).casefold()
        course_rows.append(row)
        programme_of.append(c % size.programmes)
    course_ids = run.insert(Course, course_rows, returning=True)

    links: list[dict[str, Any]] = []
    teaching: list[dict[str, Any]] = []
    positions: dict[int, int] = {}
    for course_id, p in zip(course_ids, programme_of, strict=True):
        positions[p] = positions.get(p, 0) + 1
        links.append(
            {"programme_id": programme_ids[p], "course_id": course_id, "position": positions[p]}
        )
        chosen = rng.sample(instructors, min(len(instructors), rng.choice((1, 1, 2))))
        teaching.extend({"course_id": course_id, "user_id": user_id} for user_id in chosen)
    run.insert(ProgrammeCourse, links)
    run.insert(course_instructors, teaching)
    teachers: dict[int, list[int]] = {}
    for row in teaching:
        teachers.setdefault(row["course_id"], []).append(row["user_id"])

    courses = []
    for index, (course_id, row) in enumerate(zip(course_ids, course_rows, strict=True)):
        p = programme_of[index]
        courses.append(
            {
                "id": course_id,
                "code": row["code"],
                "title": row["title_en"],
                "topic": TOPICS[(index // len(FLAVOURS)) % len(TOPICS)],
                "programme": p,
                "position": positions_of(links, course_id),
                "instructors": teachers[course_id],
                "competencies": competencies[p],
            }
        )
    _content(run, courses)
    _assessments(run, courses, level_ids)
    _cohorts(run, courses)
    run.made.update(
        framework_id=framework_id,
        proficient_level_id=level_ids[PROFICIENT_RANK],
        programmes=programme_ids,
        programme_competencies=competencies,
        courses=courses,
    )
    run.progress(f"courses: {len(course_ids)} in {len(programme_ids)} programmes")


def positions_of(links: list[dict], course_id: int) -> int:
    return next(link["position"] for link in links if link["course_id"] == course_id)


def _framework(run: GenerationRun) -> tuple[int, dict[int, int], list[list[int]]]:
    """Add the framework, its scale, and three competencies per programme."""
    rng = run.rng
    (framework_id,) = run.insert(
        Framework,
        [
            {
                "code": FRAMEWORK_CODE,
                "name_en": "Generated smart-city competency framework",
                "name_bg": "Генерирана рамка от компетентности за интелигентни градове",
                "description_en": "Competencies of the generated programmes.",
                "source": "lms generate",
                "created_at": run.now - timedelta(days=400),
            }
        ],
        returning=True,
    )
    level_rows = [
        {
            "framework_id": framework_id,
            "rank": rank,
            "name_en": en,
            "name_bg": bg,
            "proficient": rank == PROFICIENT_RANK,
        }
        for rank, (en, bg) in enumerate(SCALE, start=1)
    ]
    level_ids = dict(
        zip(
            range(1, len(SCALE) + 1),
            run.insert(ProficiencyLevel, level_rows, returning=True),
            strict=False,
        )
    )
    rows = []
    for p in range(run.size.programmes):
        role = ROLES[p % len(ROLES)]
        for k, (en, bg) in enumerate(SKILLS, start=1):
            rows.append(
                {
                    "framework_id": framework_id,
                    "code": f"{CODE_PREFIX}P{p + 1:03d}.{k}",
                    "title_en": f"{en} projects of a {role[0].lower()}",
                    "title_bg": f"{bg} проекти ({role[1].lower()})",
                    "created_at": run.now - timedelta(days=400),
                }
            )
    ids = run.insert(Competency, rows, returning=True)
    alignments = []
    for competency_id in ids:
        alignments.append(
            {
                "competency_id": competency_id,
                "kind": "esco",
                "value": ESCO + rng.choice(ESCO_SKILLS),
            }
        )
        alignments.append(
            {"competency_id": competency_id, "kind": "ecf", "value": rng.choice(ECF_CODES)}
        )
    run.insert(CompetencyAlignment, alignments)
    per_programme = [
        ids[p * len(SKILLS) : (p + 1) * len(SKILLS)] for p in range(run.size.programmes)
    ]
    return framework_id, level_ids, per_programme


def _content(run: GenerationRun, courses: list[dict]) -> None:
    """Add modules, lessons and learning outcomes (mapped to the programme's competencies)."""
    module_rows = [
        {"course_id": c["id"], "position": m + 1, "title_en": en, "title_bg": bg}
        for c in courses
        for m, (en, bg) in enumerate(MODULES)
    ]
    module_ids = run.insert(Module, module_rows, returning=True)
    lesson_rows, lesson_course = [], []
    for module_id, module in zip(module_ids, module_rows, strict=True):
        course = next(c for c in courses if c["id"] == module["course_id"])
        for position, (en, bg) in enumerate(LESSONS, start=1):
            title_en = f"{module['title_en']}: {en.lower()}"
            title_bg = f"{module['title_bg']}: {bg.lower()}"
            lesson_rows.append(
                {
                    "module_id": module_id,
                    "position": position,
                    "title_en": title_en,
                    "title_bg": title_bg,
                    "body_en": LESSON_EN.format(
                        title=title_en, course=course["title"], topic=course["topic"][0]
                    ),
                    "body_bg": LESSON_BG.format(
                        title=title_bg, course=course["title"], topic=course["topic"][1]
                    ),
                    "workload_minutes": run.rng.choice((20, 30, 45)),
                    # The last lesson of a module is further reading: optional.
                    "required": position < len(LESSONS),
                }
            )
            lesson_course.append(course["id"])
    lesson_ids = run.insert(Lesson, lesson_rows, returning=True)
    for course in courses:
        course["lessons"] = [
            (lesson_id, row["required"])
            for lesson_id, row, course_id in zip(
                lesson_ids, lesson_rows, lesson_course, strict=True
            )
            if course_id == course["id"]
        ]
    outcome_rows = [
        {
            "course_id": c["id"],
            "position": k + 1,
            "text_en": f"{SKILLS[k][0]} {c['topic'][0]} projects.",
            "text_bg": f"{SKILLS[k][1]} проекти за {c['topic'][1]}.",
        }
        for c in courses
        for k in range(len(SKILLS))
    ]
    outcome_ids = run.insert(LearningOutcome, outcome_rows, returning=True)
    run.made["outcomes"] = list(zip(outcome_ids, outcome_rows, strict=True))


def _assessments(run: GenerationRun, courses: list[dict], level_ids: dict[int, int]) -> None:
    """Add categories, a question bank, two quizzes and an assignment per course, and mappings."""
    rng = run.rng
    proficient = level_ids[PROFICIENT_RANK]
    outcome_maps = []
    for outcome_id, row in run.made.pop("outcomes"):
        course = next(c for c in courses if c["id"] == row["course_id"])
        outcome_maps.append(
            {
                "outcome_id": outcome_id,
                "competency_id": course["competencies"][row["position"] - 1],
                "level_id": proficient,
            }
        )
    run.insert(OutcomeCompetency, outcome_maps)

    category_rows = []
    for c in courses:
        category_rows.append(
            {
                "course_id": c["id"],
                "name_en": "Quizzes",
                "name_bg": "Тестове",
                "weight": Decimal(40),
                "drop_lowest": 0,
                "position": 1,
            }
        )
        category_rows.append(
            {
                "course_id": c["id"],
                "name_en": "Assignments",
                "name_bg": "Задания",
                "weight": Decimal(60),
                "drop_lowest": 0,
                "position": 2,
            }
        )
    category_ids = run.insert(GradeCategory, category_rows, returning=True)

    assessment_rows = [
        {
            "course_id": c["id"],
            "category_id": category_ids[2 * index + category],
            "kind": kind,
            "title_en": f"{title_en}: {c['topic'][0]}",
            "title_bg": f"{title_bg}: {c['topic'][1]}",
            "description_en": "Work on your own; the score counts towards the course grade.",
            "description_bg": "Работете самостоятелно; резултатът се включва в оценката.",
            "max_points": Decimal(100),
            "pass_percent": Decimal(pass_percent),
            "required": required,
            "due_at": run.now + timedelta(days=45) if kind == "assignment" else None,
            "published": True,
            "position": position,
            "created_at": run.now - timedelta(days=370),
        }
        for index, c in enumerate(courses)
        for position, (kind, title_en, title_bg, pass_percent, required, category) in enumerate(
            ASSESSMENTS, start=1
        )
    ]
    assessment_ids = run.insert(Assessment, assessment_rows, returning=True)
    for index, c in enumerate(courses):
        c["module_check"], c["final_quiz"], c["assignment_assessment"] = assessment_ids[
            3 * index : 3 * index + 3
        ]

    # Passing the final quiz or the assignment shows two of the programme's competencies.
    mappings = []
    for c in courses:
        first = (c["position"] - 1) % len(SKILLS)
        second = c["position"] % len(SKILLS)
        mappings.append(
            {
                "assessment_id": c["final_quiz"],
                "competency_id": c["competencies"][first],
                "level_id": proficient,
            }
        )
        mappings.append(
            {
                "assessment_id": c["assignment_assessment"],
                "competency_id": c["competencies"][second],
                "level_id": proficient,
            }
        )
    run.insert(AssessmentCompetency, mappings)

    _question_banks(run, courses)
    quiz_rows = [
        {
            "assessment_id": assessment_id,
            "attempt_limit": ATTEMPT_LIMIT,
            "time_limit_minutes": 30,
            "grading_method": scoring.GradingMethod.HIGHEST.value,
            "feedback": "after_submission",
            "shuffle_questions": True,
            "shuffle_options": True,
        }
        for c in courses
        for assessment_id in (c["module_check"], c["final_quiz"])
    ]
    quiz_ids = run.insert(Quiz, quiz_rows, returning=True)
    items = []
    for index, c in enumerate(courses):
        c["quizzes"] = []
        for q, count in enumerate(QUIZ_SIZES):
            quiz_id = quiz_ids[2 * index + q]
            chosen = rng.sample(c["questions"], count)
            items += [
                {"quiz_id": quiz_id, "question_id": int(question.id), "position": position}
                for position, question in enumerate(chosen, start=1)
            ]
            c["quizzes"].append((quiz_id, (c["module_check"], c["final_quiz"])[q], chosen))
    run.insert(QuizItem, items)
    _rubrics(run, courses)


def _question_banks(run: GenerationRun, courses: list[dict]) -> None:
    """Add a bank of questions of every kind per course; keep them as scoring questions."""
    rng = run.rng
    kinds = ("single", "single", "multiple", "true_false", "numeric", "short")
    question_rows, specs = [], []
    for c in courses:
        topic = c["topic"][0]
        for n in range(QUESTIONS_PER_COURSE):
            kind = kinds[n % len(kinds)]
            row = {
                "course_id": c["id"],
                "kind": kind,
                "text_en": f"Question {n + 1} on {topic}: which statement fits a city project?",
                "text_bg": f"Въпрос {n + 1}: кое твърдение е най-вярно за градски проект?",
                "points": Decimal(rng.choice((1, 1, 2))),
                "truth": None,
                "value": None,
                "tolerance": None,
                "accepted": [],
                "feedback_en": "See the lesson on key concepts.",
                "created_at": run.now - timedelta(days=370),
                "updated_at": run.now - timedelta(days=370),
            }
            if kind == "true_false":
                row["text_en"] = f"True or false: open data on {topic} must carry a licence."
                row["truth"] = True
            elif kind == "numeric":
                row["text_en"] = f"How many phases does the {topic} plan in lesson 3 have?"
                row["value"], row["tolerance"] = Decimal(3), Decimal(0)
            elif kind == "short":
                row["text_en"] = f"Name the document that starts a {topic} project."
                row["accepted"] = ["charter", "project charter"]
            question_rows.append(row)
            specs.append((c, row))
    question_ids = run.insert(Question, question_rows, returning=True)
    option_rows: list[dict[str, Any]] = []
    option_owner = []
    for question_id, (_c, row) in zip(question_ids, specs, strict=True):
        if row["kind"] in ("single", "multiple"):
            correct = {0} if row["kind"] == "single" else {0, 2}
            for position in range(4):
                option_rows.append(
                    {
                        "question_id": question_id,
                        "position": position + 1,
                        "text_en": f"Statement {'ABCD'[position]}",
                        "text_bg": f"Твърдение {'АБВГ'[position]}",
                        "correct": position in correct,
                    }
                )
                option_owner.append(question_id)
    option_ids = run.insert(QuestionOption, option_rows, returning=True)
    options: dict[int, list[scoring.Option]] = {}
    for option_id, row in zip(option_ids, option_rows, strict=True):
        options.setdefault(row["question_id"], []).append(
            scoring.Option(str(option_id), row["text_en"], row["correct"])
        )
    for c in courses:
        c["questions"] = []
    for question_id, (c, row) in zip(question_ids, specs, strict=True):
        c["questions"].append(
            scoring.Question(
                id=str(question_id),
                kind=row["kind"],
                text=row["text_en"],
                points=row["points"],
                options=tuple(options.get(question_id, ())),
                truth=row["truth"],
                value=row["value"],
                tolerance=row["tolerance"] or Decimal(0),
                accepted=tuple(row["accepted"]),
            )
        )


def _rubrics(run: GenerationRun, courses: list[dict]) -> None:
    """Add the assignment settings and a rubric of three criteria by four levels per course."""
    assignment_ids = run.insert(
        Assignment,
        [
            {
                "assessment_id": c["assignment_assessment"],
                "allow_text": True,
                "allow_files": True,
                "allowed_types": "pdf,docx",
                "max_file_bytes": 5 * 1024 * 1024,
                "max_files": 3,
                "late_policy": "accept",
                "late_percent_per_day": Decimal(0),
                "resubmission": "graded",
                "marking": "rubric",
            }
            for c in courses
        ],
        returning=True,
    )
    criterion_rows = [
        {"assignment_id": a, "position": k + 1, "title_en": en, "title_bg": bg}
        for a in assignment_ids
        for k, (en, bg) in enumerate(RUBRIC)
    ]
    criterion_ids = run.insert(RubricCriterion, criterion_rows, returning=True)
    level_rows: list[dict[str, Any]] = [
        {"criterion_id": criterion_id, "title_en": en, "title_bg": bg, "points": Decimal(points)}
        for criterion_id in criterion_ids
        for en, bg, points in RUBRIC_LEVELS
    ]
    level_ids = run.insert(RubricLevel, level_rows, returning=True)
    levels_of: dict[int, list[tuple[int, Decimal]]] = {}
    for level_id, row in zip(level_ids, level_rows, strict=True):
        levels_of.setdefault(row["criterion_id"], []).append((level_id, row["points"]))
    for index, c in enumerate(courses):
        c["assignment"] = assignment_ids[index]
        c["criteria"] = [
            (criterion_id, levels_of[criterion_id])
            for criterion_id in criterion_ids[len(RUBRIC) * index : len(RUBRIC) * (index + 1)]
        ]


def _cohorts(run: GenerationRun, courses: list[dict]) -> None:
    """Add a finished, a running and an upcoming cohort per course."""
    today = run.today
    spans = (
        ("finished", today - timedelta(days=200), today - timedelta(days=100)),
        ("running", today - timedelta(days=30), today + timedelta(days=60)),
        ("upcoming", today + timedelta(days=30), today + timedelta(days=120)),
    )
    rows = []
    for c in courses:
        for _kind, starts, ends in spans:
            rows.append(
                {
                    "course_id": c["id"],
                    "name": f"{c['code']} {starts:%B %Y}",
                    "starts_on": starts,
                    "ends_on": ends,
                    "capacity": None,
                    "enrol_opens_on": starts - timedelta(days=60),
                    "enrol_closes_on": starts + timedelta(days=7),
                    "self_enrolment": True,
                }
            )
    ids = run.insert(Cohort, rows, returning=True)
    for index, c in enumerate(courses):
        c["cohorts"] = dict(
            zip(("finished", "running", "upcoming"), ids[3 * index : 3 * index + 3], strict=False)
        )


# --- learning ---------------------------------------------------------------------------------


def generate_learning(run: GenerationRun) -> None:
    """Enrol the trainees and write their work, course by course."""
    rng = run.rng
    trainees = run.made["users"]["trainee"]
    courses = run.made["courses"]
    by_programme: dict[int, list[dict]] = {}
    for c in courses:
        by_programme.setdefault(c["programme"], []).append(c)
    # Who takes what: (user, course, cohort kind, ability 0..1).
    places: dict[int, list[tuple[int, str, float]]] = {c["id"]: [] for c in courses}
    followers: dict[int, list[int]] = {}
    for user_id in trainees:
        ability = min(1.0, max(0.05, rng.gauss(0.72, 0.18)))
        plan = rng.random()
        if plan < 0.35:  # follows a whole programme, in the finished cohorts
            p = rng.randrange(run.size.programmes)
            followers.setdefault(p, []).append(user_id)
            ability = max(ability, 0.75)
            for c in by_programme.get(p, []):
                places[c["id"]].append((user_id, "finished", ability))
        elif plan < 0.9:  # a few courses of interest
            for c in rng.sample(courses, min(len(courses), rng.choice((1, 2, 3)))):
                kind = rng.choice(("finished", "running", "running", "upcoming"))
                places[c["id"]].append((user_id, kind, ability))
        # the rest only browse the catalogue
    run.made["followers"] = followers
    for number, c in enumerate(courses, start=1):
        _course_work(run, c, places[c["id"]])
        db.session.commit()
        if number % 10 == 0 or number == len(courses):
            run.progress(f"course work: {number}/{len(courses)} courses")


def _course_work(run: GenerationRun, course: dict, places: list[tuple[int, str, float]]) -> None:
    rng, now = run.rng, run.now
    first: dict[int, tuple[int, str, float]] = {}
    for place in places:
        first.setdefault(place[0], place)
    places = list(first.values())
    instructor = course["instructors"][0]
    scores: dict = {}  # one course's quizzes: the cache stays small
    enrolments, progress, grades, grade_meta = [], [], [], []
    attempts, attempt_answers = [], []
    submissions, submission_marks = [], []
    for user_id, kind, ability in places:
        cohort_start = {
            "finished": now - timedelta(days=200),
            "running": now - timedelta(days=30),
            "upcoming": now + timedelta(days=30),
        }[kind]
        enrolled_at = min(now, cohort_start - timedelta(days=rng.randint(1, 40)))
        withdrawn = rng.random() < 0.04
        enrolments.append(
            {
                "cohort_id": course["cohorts"][kind],
                "user_id": user_id,
                "status": "withdrawn" if withdrawn else "active",
                "queued_at": enrolled_at,
                "enrolled_at": enrolled_at,
                "withdrawn_at": enrolled_at + timedelta(days=10) if withdrawn else None,
                "enrolled_by_id": None,
            }
        )
        if withdrawn or kind == "upcoming":
            continue
        studied = 1.0 if kind == "finished" and ability >= 0.6 else rng.uniform(0.2, 0.9)
        lessons = course["lessons"]
        done = lessons[: max(1, round(len(lessons) * studied))]
        for position, (lesson_id, _required) in enumerate(done):
            progress.append(
                {
                    "user_id": user_id,
                    "lesson_id": lesson_id,
                    "completed_at": min(now, cohort_start + timedelta(days=2 * position + 1)),
                }
            )
        quizzes = course["quizzes"] if kind == "finished" else course["quizzes"][:1]
        for q, (quiz_id, assessment_id, questions) in enumerate(quizzes):
            tries = 1 if rng.random() < 0.7 else 2
            results = []
            for number in range(1, tries + 1):
                started = min(
                    now - timedelta(hours=1), cohort_start + timedelta(days=20 * (q + 1) + number)
                )
                responses = {
                    question.id: _response(rng, question, ability) for question in questions
                }
                score = _score(scores, quiz_id, questions, responses)
                order = [int(question.id) for question in questions]
                rng.shuffle(order)
                attempts.append(
                    {
                        "quiz_id": quiz_id,
                        "user_id": user_id,
                        "number": number,
                        "status": "submitted",
                        "started_at": started,
                        "deadline": started + timedelta(minutes=30),
                        "submitted_at": started + timedelta(minutes=rng.randint(6, 28)),
                        "seed": rng.getrandbits(31),
                        "question_ids": order,
                        "points": score.points,
                        "possible": score.possible,
                        "score": score.percentage,
                    }
                )
                attempt_answers.append(
                    [
                        {
                            "question_id": int(s.question_id),
                            "response": responses[s.question_id],
                            "saved_at": started + timedelta(minutes=3),
                            "awarded": s.awarded,
                        }
                        for s in score.questions
                    ]
                )
                results.append(scoring.AttemptResult(number, score.percentage))
            percent = scoring.final_grade(results, scoring.GradingMethod.HIGHEST)
            graded_at = attempts[-1]["submitted_at"]
            grades.append(_grade(assessment_id, user_id, percent, None, graded_at, released=True))
            grade_meta.append((assessment_id, f"quiz attempt {tries}"))
        if kind == "finished" or rng.random() < 0.4:
            submitted_at = min(now - timedelta(hours=2), cohort_start + timedelta(days=70))
            marked = kind == "finished" or rng.random() < 0.5
            released = kind == "finished" or rng.random() < 0.5
            marks = []
            raw = Decimal(0)
            if marked:
                for criterion_id, levels in course["criteria"]:
                    pick = min(len(levels) - 1, max(0, round(rng.gauss(ability * 3.2, 0.6))))
                    level_id, points = levels[pick]
                    marks.append(
                        {"criterion_id": criterion_id, "level_id": level_id, "points": points}
                    )
                    raw += points
            maximum = sum(levels[-1][1] for _id, levels in course["criteria"])
            points = (
                scoring.round_half_up(Fraction(raw) * 100 / Fraction(maximum)) if marked else None
            )
            graded_at = submitted_at + timedelta(days=5) if marked else None
            submissions.append(
                {
                    "assignment_id": course["assignment"],
                    "user_id": user_id,
                    "attempt": 1,
                    "text": SUBMISSION_TEXT.format(topic=course["topic"][0]),
                    "submitted_at": submitted_at,
                    "days_late": 0,
                    "status": "graded" if marked else "submitted",
                    "marking_status": "released" if marked and released else "draft",
                    "raw_points": raw if marked else None,
                    "points": points,
                    "penalty_percent": Decimal(0),
                    "feedback": "Clear analysis; tie the indicators to the baseline."
                    if marked
                    else "",
                    "graded_by_id": instructor if marked else None,
                    "graded_at": graded_at,
                    "released_at": graded_at if marked and released else None,
                    "marking_version": 1 if marked else 0,
                }
            )
            submission_marks.append(marks)
            if marked:
                grades.append(
                    _grade(
                        course["assignment_assessment"],
                        user_id,
                        points,
                        instructor,
                        graded_at,
                        released=released,
                    )
                )
                grade_meta.append((course["assignment_assessment"], "marked on the rubric"))

    run.insert(Enrolment, enrolments)
    run.insert(LessonProgress, progress)
    attempt_ids = run.insert(Attempt, attempts, returning=True)
    run.insert(
        AttemptAnswer,
        [
            dict(answer, attempt_id=attempt_id)
            for attempt_id, answers in zip(attempt_ids, attempt_answers, strict=True)
            for answer in answers
        ],
    )
    submission_ids = run.insert(Submission, submissions, returning=True)
    run.insert(
        CriterionMark,
        [
            dict(mark, submission_id=sid)
            for sid, marks in zip(submission_ids, submission_marks, strict=True)
            for mark in marks
        ],
    )
    grade_ids = run.insert(GradeRow, grades, returning=True)
    run.insert(
        GradeChange,
        [
            {
                "grade_id": grade_id,
                "old_points": None,
                "new_points": grade["points"],
                "old_status": None,
                "new_status": grade["status"],
                "changed_by_id": grade["graded_by_id"],
                "changed_at": grade["graded_at"],
                "reason": reason,
            }
            for grade_id, grade, (_a, reason) in zip(grade_ids, grades, grade_meta, strict=True)
        ],
    )
    _evidence(run, course, grade_ids, grades)
    _completions(run, course)


def _score(cache: dict, quiz_id: int, questions, responses: dict) -> scoring.AttemptScore:
    """Score with the real rules, once per distinct set of responses (they repeat a lot)."""
    key = (quiz_id, *((k, tuple(v) if isinstance(v, list) else v) for k, v in responses.items()))
    if key not in cache:
        cache[key] = scoring.score_attempt(questions, responses)
    return cache[key]


def _response(rng, question: scoring.Question, ability: float):
    """Return a response as a browser sends it: right with probability ``ability``."""
    right = rng.random() < ability
    if question.kind == scoring.QuestionKind.SINGLE:
        options = [o for o in question.options if o.correct == right] or list(question.options)
        return rng.choice(options).id
    if question.kind == scoring.QuestionKind.MULTIPLE:
        if right:
            return [o.id for o in question.options if o.correct]
        return [rng.choice(question.options).id]
    if question.kind == scoring.QuestionKind.TRUE_FALSE:
        return "true" if right == question.truth else "false"
    if question.kind == scoring.QuestionKind.NUMERIC:
        return str(question.value if right else question.value + rng.randint(1, 4))
    return question.accepted[0] if right else "business case"


def _grade(assessment_id, user_id, points, graded_by, graded_at, *, released: bool) -> dict:
    return {
        "assessment_id": assessment_id,
        "user_id": user_id,
        "points": points,
        "excused": False,
        "status": "released" if released else "draft",
        "graded_by_id": graded_by,
        "graded_at": graded_at,
        "released_at": graded_at if released else None,
        "version": 1,
    }


def _evidence(run: GenerationRun, course: dict, grade_ids: list[int], grades: list[dict]) -> None:
    """Add evidence for each released grade that passes a mapped assessment, as grading does."""
    final_pass, assignment_pass = (Decimal(spec[3]) for spec in ASSESSMENTS[1:])
    mapped = {
        course["final_quiz"]: (
            course["competencies"][(course["position"] - 1) % len(SKILLS)],
            final_pass,
        ),
        course["assignment_assessment"]: (
            course["competencies"][course["position"] % len(SKILLS)],
            assignment_pass,
        ),
    }
    level_id = run.made.get("proficient_level_id")
    rows = []
    for grade_id, grade in zip(grade_ids, grades, strict=True):
        target = mapped.get(grade["assessment_id"])
        if target is None or grade["status"] != "released" or grade["points"] is None:
            continue
        competency_id, pass_percent = target
        if grade["points"] < pass_percent:  # max_points is 100: points are the percentage
            continue
        rows.append(
            {
                "user_id": grade["user_id"],
                "competency_id": competency_id,
                "level_id": level_id,
                "source": "assessment",
                "grade_id": grade_id,
                "course_id": course["id"],
                "note": "",
                "recorded_by_id": None,
                "created_at": grade["graded_at"],
                "supersedes_id": None,
            }
        )
    run.insert(Evidence, rows)


def _completions(run: GenerationRun, course: dict) -> None:
    """Compute every member's completion with the real gradebook and store it in bulk."""
    row = db.session.get(Course, course["id"])
    assert row is not None, "the generator inserted this course"
    book = gradebook.compute_gradebook(row, now=run.now)
    records = []
    for trainee in book.rows:
        complete = trainee.completion.complete
        records.append(
            {
                "user_id": trainee.user.id,
                "course_id": course["id"],
                "completed": complete,
                "grade": trainee.result.grade,
                "completed_at": run.now - timedelta(days=90) if complete else None,
                "updated_at": run.now - timedelta(days=90),
            }
        )
    ids = run.insert(CourseCompletion, records, returning=True)
    run.insert(
        CompletionChange,
        [
            {
                "completion_id": completion_id,
                "completed": True,
                "grade": record["grade"],
                "changed_at": record["completed_at"],
                "reason": "Completed the course (generated record).",
            }
            for completion_id, record in zip(ids, records, strict=True)
            if record["completed"]
        ],
    )
    db.session.expunge_all()
