"""Demo gradebook: categories and pass marks, an oral examination, released grades, completion.

Runs after ``courses.demo.load``. In SC-101 Елена Николова finishes every lesson
and passes the oral examination, so she has completed the course; Мария Иванова
is half-way through the lessons and below the pass percentage, so she has not
yet; Георги Петров has a draft grade the instructor has not released.
Quizzes and assignments another loader added to a course are put into the
matching category. Idempotent: a course that has categories is left alone.
"""

# ruff: noqa: RUF001 - Bulgarian text is intended

from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy as sa

from courses.assessments.grades import set_grade
from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from courses.gradebook import operations
from courses.models import Course, Lesson, LessonProgress, Module
from lms.auth.operations import find_user_by_email
from lms.extensions import db

logger = logging.getLogger(__name__)

CATEGORIES = (
    # name_en, name_bg, weight, drop_lowest, kind of assessment it holds
    ("Quizzes", "Тестове", Decimal(30), 1, AssessmentKind.QUIZ),
    ("Assignments", "Задания", Decimal(40), 0, AssessmentKind.ASSIGNMENT),
    ("Oral examination", "Устен изпит", Decimal(30), 0, AssessmentKind.MANUAL),
)
PASS_MARKS = {"SC-101": Decimal(60), "SC-102": Decimal(50)}
ORAL = {
    "SC-101": (
        "Oral examination: governing a smart-city programme",
        "Устен изпит: управление на програма за интелигентен град",
        "Fifteen minutes before two examiners: present a governance model for a city you know "
        "and defend it against questions on data, procurement and citizen participation.",
        "Петнадесет минути пред двама изпитващи: представяте модел на управление за познат "
        "град и го защитавате пред въпроси за данни, обществени поръчки и участие на гражданите.",
    ),
    "SC-102": (
        "Oral examination: a project charter under review",
        "Устен изпит: защита на харта на проект",
        "Present the charter of a municipal digital project and answer the board's questions "
        "on scope, budget and risk.",
        "Представяте хартата на общински цифров проект и отговаряте на въпросите на борда "
        "за обхват, бюджет и риск.",
    ),
}
# Trainee e-mail -> points out of 20 for the SC-101 oral examination, released or draft.
ORAL_GRADES = (
    ("elena.nikolova@example.org", Decimal(17), True),
    ("maria.ivanova@example.org", Decimal(11), True),
    ("georgi.petrov@example.org", Decimal(14), False),
)
INSTRUCTOR = "anna.koleva@example.org"


def load() -> list[dict]:
    """Add the gradebook part of the demo unless the courses already have categories."""
    courses = {
        course.code: course
        for course in db.session.scalars(sa.select(Course).where(Course.code.in_(PASS_MARKS)))
    }
    if not courses:
        logger.info("no demo courses; gradebook demo skipped")
        return []
    instructor = find_user_by_email(INSTRUCTOR)
    for code, course in sorted(courses.items()):
        has = db.session.scalar(
            sa.select(GradeCategory.id).where(GradeCategory.course_id == course.id).limit(1)
        )
        if has is not None:
            continue
        # The named instructor sets up her own courses; a course's own teacher the others.
        teacher = instructor if course.is_taught_by(instructor) else course.instructors[0]
        _set_up(course, teacher)
        if code == "SC-101":
            _grade_sc101(course, teacher)
        operations.recompute_course(course, "Demo data loaded.", actor=None)
    db.session.flush()
    logger.info("loaded the gradebook demo")
    return []


def _set_up(course: Course, instructor) -> None:
    course.pass_mark = PASS_MARKS[course.code]
    by_kind: dict[str, GradeCategory] = {}
    for position, (name_en, name_bg, weight, drop, kind) in enumerate(CATEGORIES, start=1):
        category = GradeCategory(
            course=course,
            name_en=name_en,
            name_bg=name_bg,
            weight=weight,
            drop_lowest=drop,
            position=position,
        )
        db.session.add(category)
        by_kind[kind] = category
    db.session.flush()
    for assessment in db.session.scalars(
        sa.select(Assessment).where(
            Assessment.course_id == course.id, Assessment.category_id.is_(None)
        )
    ):
        assessment.category = by_kind.get(assessment.kind)
    title_en, title_bg, text_en, text_bg = ORAL[course.code]
    operations.save_manual_assessment(
        course,
        operations.ManualAssessmentData(
            title_en=title_en,
            title_bg=title_bg,
            description_en=text_en,
            description_bg=text_bg,
            max_points=Decimal(20),
            pass_percent=Decimal(60),
            required=True,
            category=by_kind[AssessmentKind.MANUAL],
            due_at=None,
            published=True,
        ),
        actor=instructor,
    )


def _grade_sc101(course: Course, instructor) -> None:
    oral = db.session.scalar(
        sa.select(Assessment).where(
            Assessment.course_id == course.id, Assessment.kind == AssessmentKind.MANUAL
        )
    )
    assert oral is not None, "_set_up made the course's oral examination"
    elena = find_user_by_email("elena.nikolova@example.org")
    if elena is not None:
        # Elena finishes the last lessons she had left.
        done = set(
            db.session.scalars(
                sa.select(LessonProgress.lesson_id).where(LessonProgress.user_id == elena.id)
            )
        )
        for lesson_id in db.session.scalars(
            sa.select(Lesson.id)
            .join(Module)
            .where(Module.course_id == course.id, Lesson.published.is_(True))
        ):
            if lesson_id not in done:
                db.session.add(LessonProgress(user_id=elena.id, lesson_id=lesson_id))
        db.session.flush()
    for email, points, released in ORAL_GRADES:
        trainee = find_user_by_email(email)
        if trainee is None:
            continue
        set_grade(
            oral,
            trainee,
            points,
            actor=instructor,
            release=released,
            reason="Oral examination.",
        )
