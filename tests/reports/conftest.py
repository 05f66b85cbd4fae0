"""Generated centre history for the report tests, and plain-Python recomputations of it.

``make_history(size)`` writes rows directly (enrolments, progress, grades,
completions, evidence, certificates) with dates spread over 2026, so the tests
can recompute every report figure from the same rows without SQL and compare.
"""

# ruff: noqa: RUF001 - Bulgarian text is intended

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from certificates.models import Certificate, Scheme, SchemeRequirement, SigningKey, StatusList
from courses.assessments.models import Assessment, Grade, GradeStatus
from courses.competencies.models import (
    AlignmentKind,
    AssessmentCompetency,
    Competency,
    CompetencyAlignment,
    Evidence,
    Framework,
    ProficiencyLevel,
)
from courses.gradebook.models import CourseCompletion
from courses.models import (
    Cohort,
    Course,
    CourseState,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    Programme,
    ProgrammeCourse,
)
from lms.models import Role
from reports.tables import MIN_GROUP

_runs = itertools.count(1)
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
INJECTION = '=HYPERLINK("http://evil.example","x")'


@dataclass
class History:
    programme: Programme
    courses: list[Course]
    cohorts: list[Cohort]
    scheme: Scheme
    framework: Framework
    trainees: list = field(default_factory=list)


def expected_count(value: int):
    """Return what a report shows for a count of ``value`` people."""
    return "< 5" if 0 < value < MIN_GROUP else value


@pytest.fixture
def make_history(db, make_user):
    """Create a centre's year: ``make_history(size=30, seed=1)`` returns a History."""

    def make(size: int = 30, seed: int = 1) -> History:
        run = next(_runs)
        rng = random.Random(seed)
        tag = f"R{run}-{seed}"
        programme = Programme(code=f"P-{tag}", title_en="Programme", title_bg="Програма")
        db.session.add(programme)
        courses = []
        for index, lessons in enumerate((4, 3, 2)):
            course = Course(
                code=f"C{index}-{tag}",
                title_en=f"Course {index}",
                title_bg=f"Курс {index}",
                state=CourseState.PUBLISHED,
            )
            module = Module(course=course, position=1, title_en="Module")
            for position in range(1, lessons + 1):
                module.lessons.append(Lesson(position=position, title_en=f"Lesson {position}"))
            module.lessons.append(Lesson(position=lessons + 1, title_en="Optional", required=False))
            db.session.add_all([course, module])
            courses.append(course)
        db.session.flush()
        for position, course in enumerate(courses[:2], start=1):
            db.session.add(ProgrammeCourse(programme=programme, course=course, position=position))
        cohorts = [
            Cohort(
                course=courses[0],
                name="Spring",
                starts_on=date(2026, 3, 1),
                ends_on=date(2026, 6, 30),
                capacity=None,
            ),
            Cohort(
                course=courses[0],
                name=INJECTION,
                starts_on=date(2026, 6, 1),
                ends_on=date(2026, 9, 30),
                capacity=None,
            ),
            Cohort(
                course=courses[1],
                name="Вечерна група",
                starts_on=date(2026, 4, 1),
                ends_on=date(2026, 8, 30),
                capacity=None,
            ),
            Cohort(
                course=courses[2],
                name="Other",
                starts_on=date(2026, 5, 1),
                ends_on=date(2026, 9, 30),
                capacity=None,
            ),
        ]
        db.session.add_all(cohorts)
        assessments = [
            Assessment(
                course=courses[0],
                kind="quiz",
                title_en="Quiz",
                max_points=Decimal(20),
                pass_percent=Decimal(50),
                published=True,
                position=1,
            ),
            Assessment(
                course=courses[0],
                kind="manual",
                title_en="Essay",
                max_points=Decimal(100),
                pass_percent=None,
                published=True,
                position=2,
            ),
            Assessment(
                course=courses[1],
                kind="quiz",
                title_en="Exam",
                max_points=Decimal(10),
                pass_percent=Decimal(60),
                published=True,
                position=1,
            ),
        ]
        db.session.add_all(assessments)
        framework = Framework(code=f"F-{tag}", name_en="Framework", name_bg="Рамка")
        db.session.add(framework)
        db.session.flush()
        levels = [
            ProficiencyLevel(
                framework=framework,
                rank=rank,
                name_en=f"L{rank}",
                name_bg=f"Н{rank}",
                proficient=rank == 2,
            )
            for rank in (1, 2, 3)
        ]
        competencies = [
            Competency(
                framework=framework, code=f"K{n}", title_en=f"Skill {n}", title_bg=f"Умение {n}"
            )
            for n in (1, 2, 3)
        ]
        db.session.add_all(levels + competencies)
        db.session.flush()
        db.session.add_all(
            [
                CompetencyAlignment(
                    competency=competencies[0],
                    kind=AlignmentKind.ESCO,
                    value="http://data.europa.eu/esco/skill/abc",
                ),
                CompetencyAlignment(
                    competency=competencies[1], kind=AlignmentKind.ECF, value="E.2"
                ),
                AssessmentCompetency(
                    assessment=assessments[0], competency=competencies[0], level=levels[1]
                ),
            ]
        )
        scheme = Scheme(code=f"S-{tag}", title_en="Scheme", programme=programme)
        other_scheme = Scheme(code=f"T-{tag}", title_en="Other scheme")
        key = SigningKey(public_multikey=f"z6Mk{tag}{seed}")
        status_list = StatusList(purpose="revocation", bits=b"\0" * 16)
        db.session.add_all([scheme, other_scheme, key, status_list])
        db.session.flush()
        db.session.add_all(
            [  # what makes trainees eligible: a course grade, and an exam of its own
                SchemeRequirement(
                    scheme=scheme, kind="course", course=courses[0], min_grade=Decimal(50)
                ),
                SchemeRequirement(scheme=other_scheme, kind="exam", assessment=assessments[2]),
            ]
        )

        trainees = [make_user(roles=[Role.TRAINEE]) for _ in range(size)]
        index = itertools.count(1)
        progress: set[tuple[int, int]] = set()
        for trainee in trainees:
            picks = [c for c in cohorts if rng.random() < 0.6]
            for cohort in picks:
                course = cohort.course
                queued = START + timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
                status = rng.choice(("active",) * 6 + ("waitlisted", "withdrawn"))
                db.session.add(
                    Enrolment(
                        cohort=cohort,
                        user=trainee,
                        status=status,
                        queued_at=queued,
                        enrolled_at=None if status == "waitlisted" else queued,
                        withdrawn_at=queued + timedelta(days=3) if status == "withdrawn" else None,
                    )
                )
                lessons = [ls for m in course.modules for ls in m.lessons]
                done = rng.randint(0, len(lessons))
                for lesson in lessons[:done]:
                    if (trainee.id, lesson.id) not in progress:
                        progress.add((trainee.id, lesson.id))
                        db.session.add(
                            LessonProgress(
                                user_id=trainee.id,
                                lesson_id=lesson.id,
                                completed_at=queued + timedelta(days=2),
                            )
                        )
                db.session.flush()
                for assessment in (a for a in assessments if a.course_id == course.id):
                    if rng.random() < 0.3 or _graded(db, assessment, trainee):
                        continue
                    db.session.add(
                        Grade(
                            assessment=assessment,
                            user=trainee,
                            points=(assessment.max_points * rng.randint(0, 100) / 100).quantize(
                                Decimal("0.01")
                            ),
                            status=rng.choice((GradeStatus.RELEASED,) * 4 + (GradeStatus.DRAFT,)),
                            graded_at=queued + timedelta(days=rng.randint(5, 40)),
                        )
                    )
                if rng.random() < 0.5 and not _completion(db, trainee, course):
                    db.session.add(
                        CourseCompletion(
                            user_id=trainee.id,
                            course_id=course.id,
                            completed=rng.random() < 0.8,
                            grade=Decimal(rng.randint(30, 100)),
                            completed_at=queued + timedelta(days=rng.randint(10, 90)),
                        )
                    )
                db.session.flush()
            for competency in competencies[: rng.randint(0, 3)]:
                first = Evidence(
                    user_id=trainee.id,
                    competency_id=competency.id,
                    level_id=levels[0].id,
                    source="instructor",
                    created_at=START + timedelta(days=rng.randint(0, 100)),
                )
                db.session.add(first)
                db.session.flush()
                later = rng.random()
                if later < 0.5:
                    db.session.add(
                        Evidence(
                            user_id=trainee.id,
                            competency_id=competency.id,
                            level_id=levels[rng.randint(1, 2)].id,
                            source="instructor",
                            created_at=START + timedelta(days=rng.randint(120, 250)),
                        )
                    )
                elif later < 0.6:  # withdrawn: superseded by a row without a level
                    db.session.add(
                        Evidence(
                            user_id=trainee.id,
                            competency_id=competency.id,
                            level_id=None,
                            source="instructor",
                            supersedes_id=first.id,
                            created_at=START + timedelta(days=rng.randint(120, 250)),
                        )
                    )
            if rng.random() < 0.6:
                issued = START + timedelta(days=rng.randint(0, 270))
                status = rng.choice(("active",) * 5 + ("suspended", "revoked"))
                valid_until = issued + timedelta(days=rng.choice((60, 365, 700)))
                n = next(index)
                db.session.add(
                    Certificate(
                        code=f"{tag}-{n}",
                        scheme=rng.choice((scheme, scheme, other_scheme)),
                        user=trainee,
                        status=status,
                        status_list=status_list,
                        status_index=n,
                        issued_at=issued,
                        valid_from=issued,
                        valid_until=valid_until,
                        signing_key=key,
                        snapshot={},
                        credential={},
                        pdf=b"%PDF-",
                        pdf_sha256=hashlib.sha256(tag.encode()).hexdigest(),
                        revocation_reason="Wrong person" if status == "revoked" else "",
                    )
                )
        db.session.commit()
        return History(programme, courses, cohorts, scheme, framework, trainees)

    return make


def _graded(db, assessment, trainee) -> bool:
    import sqlalchemy as sa

    return (
        db.session.scalar(
            sa.select(Grade.id).where(
                Grade.assessment_id == assessment.id, Grade.user_id == trainee.id
            )
        )
        is not None
    )


def _completion(db, trainee, course) -> bool:
    import sqlalchemy as sa

    return (
        db.session.scalar(
            sa.select(CourseCompletion.id).where(
                CourseCompletion.user_id == trainee.id, CourseCompletion.course_id == course.id
            )
        )
        is not None
    )
