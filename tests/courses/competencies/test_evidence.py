"""Evidence from grades through set_grade, manual evidence, withdrawal and append-only rows."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.access import NotAllowed
from courses.assessments.grades import set_grade
from courses.competencies import operations as ops
from courses.competencies import queries
from courses.competencies.models import Evidence, EvidenceSource
from lms.models import AuditLog


def _rows(db, user):
    return list(
        db.session.scalars(
            sa.select(Evidence).where(Evidence.user_id == user.id).order_by(Evidence.id)
        )
    )


def _level_of(user, competency):
    record = queries.profile(user)
    for item in record.frameworks:
        for row in item.rows:
            if row.competency.id == competency.id:
                return row.level.rank if row.level else None
    raise AssertionError("competency not in profile")


@pytest.fixture
def mapped(db, classroom, make_assessment):
    assessment = make_assessment(classroom.course, pass_percent=60)
    ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(3), actor=classroom.instructor
    )
    db.session.commit()
    return assessment


def test_a_released_pass_adds_evidence_once(db, classroom, mapped):
    trainee, actor = classroom.trainee, classroom.instructor
    set_grade(mapped, trainee, Decimal(80), actor=actor)  # a draft shows nothing yet
    assert _rows(db, trainee) == []
    set_grade(mapped, trainee, Decimal(80), actor=actor, release=True)
    rows = _rows(db, trainee)
    assert len(rows) == 1
    assert rows[0].source == EvidenceSource.ASSESSMENT
    assert rows[0].level.rank == 3
    assert rows[0].grade_id is not None
    assert rows[0].course_id == classroom.course.id
    set_grade(mapped, trainee, Decimal(90), actor=actor, release=True)
    set_grade(mapped, trainee, Decimal(60), actor=actor, release=True)  # exactly the pass mark
    assert len(_rows(db, trainee)) == 1
    assert _level_of(trainee, classroom.competencies[1]) == 3


def test_a_lowered_grade_withdraws_and_a_new_pass_restores(db, classroom, mapped):
    trainee, actor = classroom.trainee, classroom.instructor
    set_grade(mapped, trainee, Decimal(75), actor=actor, release=True)
    set_grade(mapped, trainee, Decimal("59.5"), actor=actor, reason="re-marked")
    rows = _rows(db, trainee)
    assert len(rows) == 2
    first, withdrawal = rows
    assert withdrawal.level_id is None
    assert withdrawal.supersedes_id == first.id
    assert _level_of(trainee, classroom.competencies[1]) is None
    set_grade(mapped, trainee, Decimal(59), actor=actor)  # still failing: nothing more
    assert len(_rows(db, trainee)) == 2
    set_grade(mapped, trainee, Decimal(70), actor=actor)
    rows = _rows(db, trainee)
    assert len(rows) == 3
    assert rows[2].level.rank == 3
    assert rows[2].supersedes_id is None
    assert _level_of(trainee, classroom.competencies[1]) == 3
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.action.like("competency_evidence.%"))
    ).all()
    assert actions.count("competency_evidence.withdraw") == 1


@pytest.mark.parametrize(
    "change",
    [
        {"points": Decimal(80), "release": False},  # back to draft
        {"points": None, "excused": True},  # excused
        {"points": Decimal(10)},  # below the pass mark
    ],
)
def test_a_grade_that_stops_passing_withdraws(db, classroom, mapped, change):
    trainee, actor = classroom.trainee, classroom.instructor
    set_grade(mapped, trainee, Decimal(80), actor=actor, release=True)
    points = change.pop("points")
    set_grade(mapped, trainee, points, actor=actor, **change)
    rows = _rows(db, trainee)
    assert [row.level_id is None for row in rows] == [False, True]
    assert _level_of(trainee, classroom.competencies[1]) is None


def test_no_pass_mark_gives_no_evidence(db, classroom, make_assessment):
    assessment = make_assessment(classroom.course, pass_percent=None)
    ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(2), actor=classroom.admin
    )
    set_grade(assessment, classroom.trainee, Decimal(100), actor=None, release=True)
    assert _rows(db, classroom.trainee) == []


def test_mapping_after_the_pass_backfills_once(db, classroom, make_assessment):
    assessment = make_assessment(classroom.course, pass_percent=50, max_points=20)
    set_grade(assessment, classroom.trainee, Decimal(10), actor=None, release=True)
    assert _rows(db, classroom.trainee) == []
    ops.map_assessment(
        assessment, classroom.competencies[2], classroom.level(2), actor=classroom.admin
    )
    ops.map_assessment(
        assessment, classroom.competencies[2], classroom.level(2), actor=classroom.admin
    )
    assert [row.level.rank for row in _rows(db, classroom.trainee)] == [2]


def test_level_is_the_highest_valid_evidence(db, classroom, mapped):
    trainee, competency = classroom.trainee, classroom.competencies[1]
    low = ops.record_evidence(
        trainee,
        competency,
        classroom.level(2),
        actor=classroom.instructor,
        note="Planned the pilot",
        course=classroom.course,
    )
    assert _level_of(trainee, competency) == 2
    set_grade(mapped, trainee, Decimal(99), actor=classroom.instructor, release=True)
    assert _level_of(trainee, competency) == 3
    # A later, lower row does not lower the level.
    ops.record_evidence(
        trainee,
        competency,
        classroom.level(1),
        actor=classroom.instructor,
        note="x",
        course=classroom.course,
    )
    assert _level_of(trainee, competency) == 3
    ops.withdraw_evidence(low, actor=classroom.instructor, note="recorded for the wrong person")
    assert _level_of(trainee, competency) == 3
    set_grade(mapped, trainee, Decimal(0), actor=classroom.instructor)
    assert _level_of(trainee, competency) == 1


def test_manual_evidence_refuses_bad_input(db, classroom):
    trainee, competency = classroom.trainee, classroom.competencies[1]
    other_framework = ops.create_framework(code="OTHER", name_en="Other", actor=classroom.admin)
    cases = [
        ({"user": trainee, "note": "   ", "level": classroom.level(2)}, "note"),
        (
            {"user": classroom.other_trainee, "note": "ok", "level": classroom.level(2)},
            "not enrolled",
        ),
        ({"user": trainee, "note": "ok", "level": other_framework.levels[0]}, "not in the scale"),
        ({"user": trainee, "note": "ok", "level": None}, "not in the scale"),
        ({"user": trainee, "note": "x" * 2001, "level": classroom.level(2)}, "too long"),
    ]
    for values, message in cases:
        with pytest.raises(ops.CompetencyError, match=message):
            ops.record_evidence(
                values["user"],
                competency,
                values["level"],
                actor=classroom.instructor,
                note=values["note"],
                course=classroom.course,
            )
    with pytest.raises(NotAllowed, match="instructors"):
        ops.record_evidence(
            trainee,
            competency,
            classroom.level(2),
            actor=classroom.other_instructor,
            note="ok",
            course=classroom.course,
        )
    assert _rows(db, trainee) == []


def test_evidence_rows_cannot_be_edited_or_deleted(db, classroom):
    row = ops.record_evidence(
        classroom.trainee,
        classroom.competencies[1],
        classroom.level(2),
        actor=classroom.instructor,
        note="Led the workshop",
        course=classroom.course,
    )
    db.session.commit()
    row.note = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    row = db.session.get(Evidence, row.id)
    db.session.delete(row)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Evidence, row.id).note == "Led the workshop"


def test_a_row_is_superseded_once(db, classroom):
    row = ops.record_evidence(
        classroom.trainee,
        classroom.competencies[1],
        classroom.level(2),
        actor=classroom.instructor,
        note="Led the workshop",
        course=classroom.course,
    )
    ops.withdraw_evidence(row, actor=classroom.instructor, note="mistake")
    with pytest.raises(ops.CompetencyError, match="changed by someone else"):
        ops.withdraw_evidence(row, actor=classroom.instructor, note="again")
    assert len(_rows(db, classroom.trainee)) == 2


def test_assessment_evidence_cannot_be_withdrawn_by_hand(db, classroom, mapped):
    set_grade(mapped, classroom.trainee, Decimal(90), actor=None, release=True)
    (row,) = _rows(db, classroom.trainee)
    with pytest.raises(ops.CompetencyError):
        ops.withdraw_evidence(row, actor=classroom.admin, note="no")
