"""The competency demo: a real framework, mappings, evidence; idempotent; grades flow in."""

import csv
from decimal import Decimal

import sqlalchemy as sa

from courses import demo as course_demo
from courses.assessments.grades import set_grade
from courses.assessments.models import Assessment, AssessmentKind
from courses.competencies import framework_csv, queries
from courses.competencies.models import (
    AssessmentCompetency,
    Competency,
    CompetencyAlignment,
    Evidence,
    Framework,
    OutcomeCompetency,
)
from courses.demo import competencies as demo
from courses.models import Course
from lms.auth.operations import find_user_by_email
from tests.standards import DATA

ESCO_SKILLS = DATA / "esco_skills.csv"


def _counts(db):
    models = (Framework, Competency, CompetencyAlignment, OutcomeCompetency, Evidence)
    return [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models]


def test_demo_framework_is_complete_and_idempotent(db):
    course_demo.load()
    assert demo.load() == []
    framework = db.session.scalar(sa.select(Framework).filter_by(code=demo.FRAMEWORK_CODE))
    assert [level.rank for level in framework.levels] == [1, 2, 3, 4, 5]
    assert framework.proficient_level.rank == 3
    areas = [c for c in framework.competencies if c.parent_id is None]
    parts = [c for c in framework.competencies if c.parent_id is not None]
    assert {a.code for a in areas} == {"PM", "PMC", "PD"}
    assert 12 <= len(parts) <= 20
    for competency in framework.competencies:
        assert competency.title_en
        assert competency.title_bg
        for uri in competency.esco_uris:
            assert framework_csv.normalise_esco_uri(uri) == uri
        for code in competency.ecf_codes:
            assert framework_csv.normalise_ecf_code(code) == code
    assert all(c.esco_uris and c.ecf_codes for c in parts)
    before = _counts(db)
    assert before[3] >= 10
    assert before[4] >= 5
    demo.load()
    assert _counts(db) == before


def test_demo_esco_uris_are_real_ones(db):
    with ESCO_SKILLS.open(encoding="utf-8") as fh:
        known = {row["uri"] for row in csv.DictReader(fh)}
    used = {demo.ESCO + uuid for spec in demo.COMPETENCIES for uuid in spec.esco}
    assert used <= known
    assert all(len(uuid) == 36 for spec in demo.COMPETENCIES for uuid in spec.esco)


def test_demo_ecf_codes_are_real_ones():
    with (DATA / "ecf_competences.csv").open(encoding="utf-8") as fh:
        known = {row["code"] for row in csv.DictReader(fh)}
    used = {code for spec in demo.COMPETENCIES for code in spec.ecf}
    assert used
    assert used <= known


def test_demo_trainee_profile_shows_evidence(db):
    course_demo.load()
    demo.load()
    elena = find_user_by_email("elena.nikolova@example.org")
    record = queries.profile(elena)
    levels = {
        row.competency.code: row.level.rank
        for item in record.frameworks
        for row in item.rows
        if row.level
    }
    assert levels["PD.1"] == 4
    assert levels["PM.3"] == 3


def test_demo_maps_assessments_added_later_and_grades_give_evidence(db):
    course_demo.load()
    demo.load()
    course = db.session.scalar(sa.select(Course).filter_by(code="SC-102"))
    quiz = Assessment(
        course=course,
        kind=AssessmentKind.QUIZ,
        title_en="PM² basics",
        max_points=Decimal(10),
        pass_percent=Decimal(60),
        published=True,
    )
    db.session.add(quiz)
    db.session.flush()
    demo.load()
    mappings = db.session.scalars(
        sa.select(AssessmentCompetency).filter_by(assessment_id=quiz.id)
    ).all()
    assert {(m.competency.code, m.level.rank) for m in mappings} == {("PM.1", 2), ("PM.2", 2)}
    laura = find_user_by_email("laura.rossi@example.org")
    set_grade(quiz, laura, Decimal(8), actor=None, release=True)
    rows = db.session.scalars(
        sa.select(Evidence).where(Evidence.user_id == laura.id, Evidence.grade_id.is_not(None))
    ).all()
    assert len(rows) == 2
