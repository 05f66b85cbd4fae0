"""Demo data: an assignment with a rubric in SC-101, one submission waiting and one released.

Runs after ``courses.demo.load``; does nothing if the assignment is already there
or the demo course and people are missing.
"""

# ruff: noqa: RUF001 - Bulgarian text and typographic dashes are intended

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments.models import MarkingScheme
from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from courses.models import Course
from lms.auth.operations import find_user_by_email
from lms.db import utcnow
from lms.extensions import db

logger = logging.getLogger(__name__)

COURSE = "SC-101"
TITLE = "Stakeholder map for a smart-mobility pilot"
INSTRUCTOR = "anna.koleva@example.org"
WAITING = "maria.ivanova@example.org"  # Мария Иванова: handed in, waiting to be graded
RELEASED = "elena.nikolova@example.org"  # Елена Николова: graded and released

DESCRIPTION_EN = """\
Sofia plans a six-month pilot of on-demand electric minibuses in Lozenets and
Studentski grad. Before the pilot starts, the project team needs to know who is
affected and who can help or block it.

Hand in a **stakeholder map** of the pilot:

1. List at least eight stakeholders (residents, the municipality, the transport
   operator, the energy utility, universities, businesses, interest groups…).
2. Place each on a power/interest grid and say why.
3. For the four most important, write their main interest and how the team
   will engage them (inform, consult, involve, collaborate).
4. Name two risks that come from stakeholders and how you would reduce them.

Write the text below or upload a PDF, Word or OpenDocument file (up to 5 MB).
"""

DESCRIPTION_BG = """\
София планира шестмесечен пилотен проект с електрически микробуси по заявка в
Лозенец и Студентски град. Преди старта екипът трябва да знае кого засяга
проектът и кой може да помогне или да го спре.

Предайте **карта на заинтересованите страни** за пилотния проект:

1. Избройте поне осем заинтересовани страни (жители, общината, превозвача,
   енергийното дружество, университети, бизнес, граждански групи…).
2. Поставете всяка в матрица влияние/интерес и обосновете мястото ѝ.
3. За четирите най-важни опишете основния им интерес и как екипът ще ги
   ангажира (информиране, консултиране, включване, сътрудничество).
4. Посочете два риска, идващи от заинтересованите страни, и как бихте ги
   намалили.

Напишете текста по-долу или качете PDF, Word или OpenDocument файл (до 5 MB).
"""

# (title_en, title_bg, description_en, description_bg, levels: (title_en, title_bg, points))
RUBRIC = (
    (
        "Stakeholders identified",
        "Идентифицирани заинтересовани страни",
        "Are the relevant groups all there, including the less obvious ones?",
        "Има ли ги всички важни групи, включително по-неочевидните?",
        (
            ("Few or generic", "Малко или общи", 1),
            ("Main groups only", "Само основните групи", 3),
            ("Complete and specific", "Пълно и конкретно", 5),
        ),
    ),
    (
        "Power/interest analysis",
        "Анализ влияние/интерес",
        "Is each placement on the grid argued from the pilot's context?",
        "Обосновано ли е мястото на всяка страна в матрицата от контекста на проекта?",
        (
            ("Not argued", "Без обосновка", 0),
            ("Partly argued", "Частично обосновано", 3),
            ("Well argued", "Добре обосновано", 5),
        ),
    ),
    (
        "Engagement approach",
        "Подход за ангажиране",
        "Do the engagement choices fit each key stakeholder's interest?",
        "Съответства ли начинът на ангажиране на интереса на всяка ключова страна?",
        (
            ("Missing", "Липсва", 0),
            ("Generic", "Общ", 3),
            ("Tailored", "Съобразен", 5),
        ),
    ),
    (
        "Risks and mitigation",
        "Рискове и мерки",
        "Are stakeholder risks realistic and the mitigations practical?",
        "Реалистични ли са рисковете и приложими ли са мерките?",
        (
            ("Missing", "Липсва", 0),
            ("Named only", "Само посочени", 2),
            ("Realistic with mitigation", "Реалистични, с мерки", 5),
        ),
    ),
)

WAITING_TEXT = """\
Заинтересовани страни за пилотния проект с електрически микробуси:

Високо влияние, висок интерес: Столична община (възложител), Център за градска
мобилност (оператор), районните администрации на Лозенец и Студентски град.
Високо влияние, нисък интерес: ЧЕЗ/Електрохолд (зарядна инфраструктура),
Министерство на транспорта.
Нисък интерес, високо влияние... (продължава в приложения файл)

Ангажиране: общината и ЦГМ — сътрудничество в управителен комитет; жителите —
консултации и две срещи на място; студентите — чрез студентските съвети.

Рискове: съпротива на таксиметровите превозвачи; недостиг на мощност за
зарядните станции в Студентски град.
"""

RELEASED_TEXT = """\
Stakeholder map — on-demand e-minibus pilot, Lozenets and Studentski grad.

Manage closely (high power, high interest): Sofia Municipality, Urban Mobility
Centre, the two district mayors. Keep satisfied (high power, lower interest):
the electricity distributor, the Ministry of Transport. Keep informed (high
interest, lower power): residents' associations, student councils, people with
reduced mobility, local shops. Monitor: taxi companies, ride-hailing apps.

Engagement: a steering group with the municipality and the operator; two
public meetings and an online survey for residents; student ambassadors.

Risks: opposition from taxi drivers (mitigation: invite them to feeder routes);
grid capacity for charging (mitigation: early agreement with the distributor,
overnight charging at the depot).
"""


def load() -> list[dict]:
    """Add the demo assignment and its submissions unless already there."""
    course = db.session.scalar(sa.select(Course).where(Course.code == COURSE))
    instructor = find_user_by_email(INSTRUCTOR)
    if course is None or instructor is None:
        logger.info("demo course %s or its instructor missing; no demo assignment", COURSE)
        return []
    exists = db.session.scalar(
        sa.select(Assessment.id).where(
            Assessment.course_id == course.id,
            Assessment.kind == AssessmentKind.ASSIGNMENT,
            Assessment.title_en == TITLE,
        )
    )
    if exists is not None:
        logger.info("demo assignment already present; nothing to do")
        return []

    category = db.session.scalar(
        sa.select(GradeCategory)
        .where(GradeCategory.course_id == course.id)
        .order_by(
            # Prefer a category meant for assignments or projects, if the gradebook made one.
            sa.case(
                (sa.func.lower(GradeCategory.name_en).like("%assignment%"), 0),
                (sa.func.lower(GradeCategory.name_en).like("%project%"), 1),
                else_=2,
            ),
            GradeCategory.position,
        )
        .limit(1)
    )
    assignment = ops.create_assignment(
        course,
        ops.AssignmentData(
            title_en=TITLE,
            title_bg="Карта на заинтересованите страни за пилотен проект за интелигентна мобилност",
            description_en=DESCRIPTION_EN,
            description_bg=DESCRIPTION_BG,
            max_points=Decimal(20),
            pass_percent=Decimal(50),
            required=True,
            category=category,
            due_at=utcnow() + timedelta(days=10),
            published=True,
            allow_text=True,
            allow_files=True,
            allowed_types=["pdf", "docx", "odt", "png", "jpeg"],
            max_file_bytes=5 * 1024 * 1024,
            max_files=3,
            late_policy="penalise",
            late_percent_per_day=Decimal(10),
            resubmission="graded",
            marking=MarkingScheme.RUBRIC,
        ),
        actor=instructor,
    )
    criteria = []
    for title_en, title_bg, description_en, description_bg, levels in RUBRIC:
        criterion = ops.add_criterion(
            assignment,
            title_en=title_en,
            title_bg=title_bg,
            description_en=description_en,
            description_bg=description_bg,
            actor=instructor,
        )
        for level_en, level_bg, points in levels:
            ops.add_level(
                criterion,
                title_en=level_en,
                title_bg=level_bg,
                points=Decimal(points),
                actor=instructor,
            )
        criteria.append(criterion)

    now = utcnow()
    waiting = find_user_by_email(WAITING)
    if waiting is not None and not ops.submission_refusal(assignment, waiting, now):
        ops.submit(
            assignment, waiting, text=WAITING_TEXT, now=now - timedelta(hours=20), actor=waiting
        )
    graded = find_user_by_email(RELEASED)
    if graded is not None and not ops.submission_refusal(assignment, graded, now):
        submission = ops.submit(
            assignment, graded, text=RELEASED_TEXT, now=now - timedelta(days=2), actor=graded
        )
        chosen = (2, 2, 1, 2)  # index of the level chosen per criterion
        ops.mark(
            submission,
            actor=instructor,
            choices={c.id: c.levels[i].id for c, i in zip(criteria, chosen, strict=True)},
            feedback=(
                "A clear, well-argued map. The engagement plan for residents is still "
                "generic: say how you will reach people who do not come to public meetings.\n"
                "Ясна и добре обоснована карта. Планът за ангажиране на жителите е твърде "
                "общ: как ще достигнете до хората, които не идват на публични срещи?"
            ),
        )
        ops.release(submission, actor=instructor)
    db.session.flush()
    logger.info("loaded demo assignment %s", assignment.assessment_id)
    return []
