"""Course completion: recomputed on grade, lesson and override changes, with its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import set_grade
from courses.enrolment.operations import mark_lesson_done, mark_lesson_not_done
from courses.gradebook import operations
from courses.gradebook.models import CompletionChange, CourseCompletion
from courses.models import Lesson

D = Decimal


@pytest.fixture
def setup(db, make_class, make_module, make_lesson, make_assessment):
    """One trainee; two required lessons and one optional; an oral exam required at 60 %."""
    world = make_class(1)
    module = make_module(world.course)
    lessons = [make_lesson(module), make_lesson(module), make_lesson(module, required=False)]
    exam = make_assessment(world.course, max_points=20, pass_percent=60, required=True)
    world.course.pass_mark = D(50)
    db.session.commit()
    return world, lessons, exam


def _record(db, world):
    return db.session.scalar(
        sa.select(CourseCompletion).where(
            CourseCompletion.user_id == world.trainees[0].id,
            CourseCompletion.course_id == world.course.id,
        )
    )


def _changes(db, record):
    return list(
        db.session.scalars(
            sa.select(CompletionChange)
            .where(CompletionChange.completion_id == record.id)
            .order_by(CompletionChange.id)
        )
    )


def test_completion_follows_lessons_grades_and_is_undone_with_a_reason(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    set_grade(exam, trainee, D(15), actor=world.instructor, release=True)
    assert _record(db, world).completed is False  # lessons not done yet
    assert _record(db, world).grade == D("75.00")

    mark_lesson_done(trainee, lessons[0], actor=trainee)
    mark_lesson_done(trainee, lessons[1], actor=trainee)
    record = _record(db, world)
    assert record.completed is True
    assert record.completed_at is not None
    assert record.grade == D(75)

    # The grade drops below the exam's pass percentage: completion is lost, and recorded.
    grade = set_grade(exam, trainee, D(11), actor=world.instructor, reason="Recount")
    record = _record(db, world)
    assert record.completed is False
    assert record.completed_at is None
    changes = _changes(db, record)
    assert [c.completed for c in changes][-2:] == [True, False]
    assert changes[-1].grade == D(55)
    assert exam.title_en in changes[-1].reason
    assert "15" in changes[-1].reason
    assert "11" in changes[-1].reason
    assert grade.version == 2


def test_the_optional_lesson_is_not_needed_and_undoing_a_lesson_undoes_completion(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    mark_lesson_done(trainee, lessons[0], actor=trainee)
    mark_lesson_done(trainee, lessons[1], actor=trainee)
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    assert _record(db, world).completed is True

    mark_lesson_not_done(trainee, lessons[1], actor=trainee)
    record = _record(db, world)
    assert record.completed is False
    lesson_title = db.session.get(Lesson, lessons[1].id).title_en
    assert lesson_title in _changes(db, record)[-1].reason


def test_draft_grades_never_count(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    for lesson in lessons[:2]:
        mark_lesson_done(trainee, lesson, actor=trainee)
    set_grade(exam, trainee, D(20), actor=world.instructor)  # a draft
    record = _record(db, world)
    assert record is None or (record.completed is False and record.grade is None)
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    assert _record(db, world).completed is True
    # Back to draft: the grade no longer counts, completion is lost.
    set_grade(exam, trainee, D(20), actor=world.instructor, release=False)
    assert _record(db, world).completed is False
    assert _record(db, world).grade is None


def test_the_course_grade_must_reach_the_pass_mark(db, setup, make_assessment):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    for lesson in lessons[:2]:
        mark_lesson_done(trainee, lesson, actor=trainee)
    essay = make_assessment(world.course, max_points=10)
    set_grade(exam, trainee, D(12), actor=world.instructor, release=True)  # 60 %, passes
    set_grade(essay, trainee, D(2), actor=world.instructor, release=True)  # 20 %
    record = _record(db, world)
    assert record.grade == D(40)  # one implicit category: the mean of 60 and 20
    assert record.completed is False

    operations.set_pass_mark(world.course, "40", actor=world.instructor)
    assert _record(db, world).completed is True
    assert "40" in _changes(db, _record(db, world))[-1].reason


def test_overrides_change_completion_and_are_kept_in_history(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    for lesson in lessons[:2]:
        mark_lesson_done(trainee, lesson, actor=trainee)
    operations.set_pass_mark(world.course, "70", actor=world.instructor)
    set_grade(exam, trainee, D(12), actor=world.instructor, release=True)
    assert _record(db, world).completed is False

    operations.set_override(world.course, trainee, "72.5", "Appeal upheld", actor=world.instructor)
    record = _record(db, world)
    assert (record.completed, record.grade) == (True, D("72.5"))
    assert "Appeal upheld" in _changes(db, record)[-1].reason

    operations.remove_override(world.course, trainee, "Appeal withdrawn", actor=world.instructor)
    record = _record(db, world)
    assert (record.completed, record.grade) == (False, D(60))


def test_completion_is_written_in_the_same_transaction_as_the_grade(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    for lesson in lessons[:2]:
        mark_lesson_done(trainee, lesson, actor=trainee)
    db.session.commit()
    savepoint = db.session.begin_nested()
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    assert _record(db, world).completed is True
    savepoint.rollback()
    record = _record(db, world)
    assert record is None or record.completed is False


def test_missing_work_counts_as_zero_after_the_due_date(db, setup, make_assessment):
    world, _lessons, exam = setup
    trainee = world.trainees[0]
    past = datetime.now(UTC) - timedelta(days=1)
    make_assessment(world.course, max_points=10, due_at=past)
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    assert _record(db, world).grade == D(50)  # 100 and a missing 0


def test_recompute_course_only_writes_changes(db, setup):
    world, _lessons, exam = setup
    trainee = world.trainees[0]
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    before = len(_changes(db, _record(db, world)))
    assert operations.recompute_course(world.course, "again", actor=world.instructor) == 0
    assert len(_changes(db, _record(db, world))) == before


def test_history_rows_cannot_be_edited(db, setup):
    world, _lessons, exam = setup
    set_grade(exam, world.trainees[0], D(20), actor=world.instructor, release=True)
    change = _changes(db, _record(db, world))[0]
    change.reason = "rewritten"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_course_wide_changes_never_take_back_a_completion(db, setup, make_lesson, make_assessment):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    for lesson in lessons[:2]:
        mark_lesson_done(trainee, lesson, actor=trainee)
    set_grade(exam, trainee, D(12), actor=world.instructor, release=True)  # 60 %
    reached = _record(db, world).completed_at
    assert reached is not None

    from courses import operations as authoring

    module = lessons[0].module
    draft = authoring.add_lesson(
        module, title_en="Added later", published=False, actor=world.instructor
    )
    assert _record(db, world).completed is True
    authoring.set_lesson_published(draft, True, actor=world.instructor)
    operations.set_pass_mark(world.course, "90", actor=world.instructor)
    late = make_assessment(world.course, max_points=10, pass_percent=50, required=True)
    operations.recompute_course(
        world.course, "A required assessment was published.", actor=world.instructor
    )
    set_grade(late, trainee, D(1), actor=world.instructor, release=True)  # a first grade
    record = _record(db, world)
    assert (record.completed, record.completed_at) == (True, reached)
    assert not any(c.completed is False for c in _changes(db, record))


def test_a_required_lesson_returned_to_draft_no_longer_counts(db, setup):
    world, lessons, exam = setup
    trainee = world.trainees[0]
    mark_lesson_done(trainee, lessons[0], actor=trainee)
    set_grade(exam, trainee, D(20), actor=world.instructor, release=True)
    assert _record(db, world).completed is False

    from courses import operations as authoring

    authoring.set_lesson_published(lessons[1], False, actor=world.instructor)
    record = _record(db, world)
    assert record.completed is True
    assert "returned to draft" in _changes(db, record)[-1].reason
