"""Demo quiz: one question of each kind in SC-101, open now, with one attempt already graded.

``load()`` adds it once (guarded by the quiz title) to the curriculum that
``courses.demo`` created, and does nothing when that course is absent.
"""

# ruff: noqa: RUF001 - Bulgarian text and typographic dashes are intended

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.grades import is_enrolled
from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from courses.assessments.quizzes import operations as ops
from courses.assessments.scoring import GradingMethod, QuestionKind
from courses.models import Course
from lms.auth.operations import find_user_by_email
from lms.db import utcnow
from lms.extensions import db

logger = logging.getLogger(__name__)

COURSE = "SC-101"
TITLE = "Check-in: smart-city foundations"
INSTRUCTOR = "anna.koleva@example.org"
TRAINEE = "maria.ivanova@example.org"  # has one graded attempt; two are left


def _questions() -> list[ops.QuestionData]:
    option = ops.OptionData
    return [
        ops.QuestionData(
            kind=QuestionKind.SINGLE,
            text_en=(
                "Which EU initiative supports 100 cities in becoming climate-neutral by 2030?"
            ),
            text_bg=(
                "Коя инициатива на ЕС подкрепя 100 града да станат климатично неутрални до 2030 г.?"
            ),
            options=[
                option(
                    "The EU Mission for 100 Climate-Neutral and Smart Cities by 2030",
                    "Мисията на ЕС за 100 климатично неутрални и интелигентни града до 2030 г.",
                    correct=True,
                ),
                option("The Connecting Europe Facility", "Механизмът за свързване на Европа"),
                option("The European Capital of Culture", "Европейска столица на културата"),
                option("The Schengen Information System", "Шенгенската информационна система"),
            ],
            feedback_en=(
                "The Cities Mission selected 112 cities, Sofia among them, and supports "
                "their Climate City Contracts through the NetZeroCities platform."
            ),
            feedback_bg=(
                "Мисията за градовете избра 112 града, сред тях и София, и подкрепя техните "
                "Климатични градски договори чрез платформата NetZeroCities."
            ),
        ),
        ops.QuestionData(
            kind=QuestionKind.MULTIPLE,
            text_en="Which of these are typical data sources of a city mobility platform?",
            text_bg=(
                "Кои от изброените са типични източници на данни за градска платформа за мобилност?"
            ),
            options=[
                option(
                    "Traffic counters and junction cameras",
                    "Броячи на трафика и камери на кръстовища",
                    correct=True,
                ),
                option(
                    "Real-time public-transport vehicle positions (GTFS-Realtime)",
                    "Местоположение на превозните средства на градския транспорт в реално "
                    "време (GTFS-Realtime)",
                    correct=True,
                ),
                option("Residents' private e-mail", "Личната електронна поща на жителите"),
                option(
                    "Paper minutes of council meetings",
                    "Хартиените протоколи от заседанията на общинския съвет",
                ),
            ],
            feedback_en=(
                "Mobility platforms combine sensor and open transport feeds; personal "
                "communications are never a data source."
            ),
            feedback_bg=(
                "Платформите за мобилност съчетават данни от сензори и отворени транспортни "
                "потоци; личната кореспонденция никога не е източник на данни."
            ),
        ),
        ops.QuestionData(
            kind=QuestionKind.TRUE_FALSE,
            text_en=(
                "ISO 37122 defines indicators specifically for smart cities, alongside "
                "ISO 37120 for sustainable cities."
            ),
            text_bg=(
                "ISO 37122 определя показатели специално за интелигентни градове, наред с "
                "ISO 37120 за устойчиви градове."
            ),
            truth=True,
            feedback_en="ISO 37122:2019 “Indicators for smart cities” complements ISO 37120.",
            feedback_bg="ISO 37122:2019 „Показатели за интелигентни градове“ допълва ISO 37120.",
        ),
        ops.QuestionData(
            kind=QuestionKind.NUMERIC,
            text_en=(
                "A district replaces 2,000 streetlights of 150 W with 60 W LED luminaires. "
                "Each burns 4,000 hours a year. How many MWh a year does it save?"
            ),
            text_bg=(
                "Район заменя 2000 улични лампи от 150 W с LED осветители от 60 W. Всяка свети "
                "по 4000 часа годишно. Колко MWh годишно се спестяват?"
            ),
            points=Decimal(2),
            value=Decimal(720),
            tolerance=Decimal(1),
            feedback_en="(150 W − 60 W) × 2,000 × 4,000 h = 720,000 kWh = 720 MWh.",
            feedback_bg="(150 W − 60 W) × 2000 × 4000 h = 720 000 kWh = 720 MWh.",
        ),
        ops.QuestionData(
            kind=QuestionKind.SHORT,
            text_en=(
                "What do we call a virtual model of a city kept in step with its sensor data? "
                "(two words)"
            ),
            text_bg=(
                "Как се нарича виртуален модел на града, който се обновява с данните от "
                "сензорите му? (две думи)"
            ),
            accepted=["digital twin", "urban digital twin", "цифров двойник", "дигитален двойник"],
            feedback_en="A digital twin links the model to live data to test decisions first.",
            feedback_bg=(
                "Цифровият двойник свързва модела с данни в реално време, за да се изпитват "
                "решенията предварително."
            ),
        ),
    ]


def load() -> list[dict]:
    """Add the demo quiz and Maria's graded attempt unless they are there; no new accounts."""
    course = db.session.scalar(sa.select(Course).where(Course.code == COURSE))
    if course is None:
        logger.info("demo course %s absent: no demo quiz", COURSE)
        return []
    exists = db.session.scalar(
        sa.select(Assessment.id).where(
            Assessment.course_id == course.id,
            Assessment.kind == AssessmentKind.QUIZ,
            Assessment.title_en == TITLE,
        )
    )
    if exists is not None:
        return []
    instructor = find_user_by_email(INSTRUCTOR)
    if instructor is None:
        logger.info("demo instructor %s absent: no demo quiz", INSTRUCTOR)
        return []
    questions = [ops.create_question(course, data, actor=instructor) for data in _questions()]
    category = db.session.scalar(
        sa.select(GradeCategory)
        .where(GradeCategory.course_id == course.id, GradeCategory.name_en.ilike("quiz%"))
        .limit(1)
    )
    now = utcnow()
    quiz = ops.create_quiz(
        course,
        ops.QuizSettings(
            title_en=TITLE,
            title_bg="Проверка: основи на интелигентния град",
            description_en=(
                "Five questions on the first module. You have **20 minutes** per attempt "
                "and three attempts; your best attempt counts. Pass mark: 60%."
            ),
            description_bg=(
                "Пет въпроса върху първия модул. Имате **20 минути** за опит и три опита; "
                "зачита се най-добрият. Праг за успех: 60%."
            ),
            category_id=category.id if category else None,
            pass_percent=Decimal(60),
            attempt_limit=3,
            opens_at=now - timedelta(days=7),
            time_limit_minutes=20,
            grading_method=GradingMethod.HIGHEST,
            shuffle_options=True,
        ),
        actor=instructor,
    )
    ops.set_questions(quiz, [q.id for q in questions], actor=instructor)
    ops.set_published(quiz, True, actor=instructor)

    trainee = find_user_by_email(TRAINEE)
    if trainee is not None and is_enrolled(trainee, quiz.assessment):
        single, multiple, true_false, numeric, short = questions
        started = now - timedelta(days=2)
        attempt = ops.start_attempt(quiz, trainee, actor=trainee, now=started)
        ops.save_answers(
            attempt,
            {
                single.id: str(next(o.id for o in single.options if o.correct)),
                multiple.id: [str(multiple.options[0].id)],  # half of the right picks
                true_false.id: "true",
                numeric.id: "720",
                short.id: "digital model",  # not accepted
            },
            actor=trainee,
            now=started + timedelta(minutes=6),
        )
        ops.submit_attempt(attempt, actor=trainee, now=started + timedelta(minutes=11))
    logger.info("loaded the demo quiz %s in %s", quiz.id, COURSE)
    return []
