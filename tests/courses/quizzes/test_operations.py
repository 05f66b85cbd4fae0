"""Quiz rules end to end below the web layer: attempts, deadlines, grading once, grades."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import get_grade
from courses.assessments.models import GradeChange, GradeStatus
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import Attempt, AttemptAnswer, AttemptStatus
from courses.models import Enrolment, EnrolmentStatus
from lms.db import utcnow
from lms.models import Role

from .conftest import correct_responses, question_data


def _answers(db, attempt):
    return {
        a.question_id: a
        for a in db.session.scalars(
            sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
        )
    }


def test_full_marks_write_a_released_grade_with_the_attempt_as_reason(db, world):
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    assert attempt.number == 1
    assert attempt.status == AttemptStatus.IN_PROGRESS
    assert ops.save_answers(attempt, correct_responses(world), actor=attempt.user) == {}
    ops.submit_attempt(attempt, actor=attempt.user)

    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == Decimal("100.00")
    assert attempt.points == Decimal("5.00")
    grade = get_grade(world.quiz.assessment, world.trainee)
    assert grade.points == Decimal("100.00")
    assert grade.status == GradeStatus.RELEASED
    change = db.session.scalars(
        sa.select(GradeChange).where(GradeChange.grade_id == grade.id)
    ).one()
    assert change.reason == "quiz attempt 1"


def test_partial_credit_and_grade_scaled_to_the_assessment_points(db, world, make_quiz):
    q = world.questions["multiple"]
    quiz = make_quiz(world.course, questions=[q], max_points=Decimal(20))
    attempt = ops.start_attempt(quiz, world.trainee, actor=world.trainee)
    correct = [str(o.id) for o in q.options if o.correct]
    wrong = [str(o.id) for o in q.options if not o.correct]
    ops.save_answers(attempt, {q.id: [correct[0], wrong[0]]}, actor=attempt.user)  # 1/2 - 1/2 = 0
    ops.submit_attempt(attempt, actor=attempt.user)
    assert attempt.score == Decimal("0.00")

    attempt = ops.start_attempt(quiz, world.trainee, actor=world.trainee)
    ops.save_answers(attempt, {q.id: [correct[0]]}, actor=attempt.user)  # half the points
    ops.submit_attempt(attempt, actor=attempt.user)
    assert attempt.score == Decimal("50.00")
    assert get_grade(quiz.assessment, world.trainee).points == Decimal("10.00")


def test_a_numeric_answer_that_is_not_a_number_is_kept_with_a_message_and_scores_zero(db, world):
    numeric = world.questions["numeric"]
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    warnings = ops.save_answers(attempt, {numeric.id: "nine point six"}, actor=attempt.user)
    assert "is not a number" in warnings[numeric.id]
    assert _answers(db, attempt)[numeric.id].response == "nine point six"
    ops.submit_attempt(attempt, actor=attempt.user)
    assert _answers(db, attempt)[numeric.id].awarded == Decimal("0.00")
    assert attempt.score == Decimal("0.00")


def test_answers_to_questions_outside_the_attempt_are_refused_and_nothing_is_saved(
    db, world, make_question, make_quiz, make_course
):
    other_quiz_question = make_question(world.course, "true_false")
    make_quiz(world.course, questions=[other_quiz_question])
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    single = world.questions["single"]
    mixed = {single.id: str(single.options[0].id), other_quiz_question.id: "true"}
    with pytest.raises(ops.AnswerRefused, match="not part of this attempt"):
        ops.save_answers(attempt, mixed, actor=attempt.user)
    assert _answers(db, attempt) == {}


def test_an_option_of_another_question_is_refused(db, world):
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    single, multiple = world.questions["single"], world.questions["multiple"]
    with pytest.raises(ops.AnswerRefused, match="not one of the question's options"):
        ops.save_answers(attempt, {single.id: str(multiple.options[0].id)}, actor=attempt.user)
    assert _answers(db, attempt) == {}


def test_a_second_submit_is_refused_and_grades_nothing_more(db, world):
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    ops.save_answers(attempt, correct_responses(world), actor=attempt.user)
    ops.submit_attempt(attempt, actor=attempt.user)
    with pytest.raises(ops.AttemptClosed, match="already been submitted"):
        ops.submit_attempt(attempt, actor=attempt.user)
    with pytest.raises(ops.AttemptClosed):
        ops.save_answers(attempt, {world.questions["true_false"].id: "true"}, actor=attempt.user)
    grade = get_grade(world.quiz.assessment, world.trainee)
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(GradeChange.grade_id == grade.id)) == 1
    )
    assert _answers(db, attempt)[world.questions["true_false"].id].response == "false"


def test_the_attempt_limit_is_enforced_and_an_open_attempt_is_resumed(db, world):
    first = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    assert (
        ops.start_attempt(world.quiz, world.trainee, actor=world.trainee).id == first.id
    )  # resumed
    for expected in (1, 2, 3):
        attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
        assert attempt.number == expected
        ops.submit_attempt(attempt, actor=attempt.user)
    with pytest.raises(ops.AttemptLimitReached, match="all 3 attempts"):
        ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 3


def test_starting_before_the_quiz_opens_or_after_it_closes_is_refused(db, world, make_quiz):
    now = utcnow()
    q = [world.questions["single"]]
    later = make_quiz(world.course, questions=q, opens_at=now + timedelta(days=1))
    with pytest.raises(ops.QuizNotOpen, match="opens on"):
        ops.start_attempt(later, world.trainee, actor=world.trainee)
    closed = make_quiz(
        world.course,
        questions=q,
        opens_at=now - timedelta(days=2),
        closes_at=now - timedelta(days=1),
    )
    with pytest.raises(ops.QuizNotOpen, match="closed on"):
        ops.start_attempt(closed, world.trainee, actor=world.trainee)
    hidden = make_quiz(world.course, questions=q, published=False)
    with pytest.raises(ops.QuizNotOpen, match="not published"):
        ops.start_attempt(hidden, world.trainee, actor=world.trainee)


def test_only_enrolled_trainees_start_attempts(db, world, make_user, make_enrolment):
    stranger = make_user()
    with pytest.raises(ops.QuizError, match="Only trainees enrolled"):
        ops.start_attempt(world.quiz, stranger, actor=stranger)
    waiting = make_user()
    make_enrolment(world.cohort, waiting, status=EnrolmentStatus.WAITLISTED)
    with pytest.raises(ops.QuizError, match="Only trainees enrolled"):
        ops.start_attempt(world.quiz, waiting, actor=waiting)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attempt)) == 0


def test_deadline_is_the_earlier_of_time_limit_and_close(db, world, make_quiz):
    now = utcnow()
    q = [world.questions["single"]]
    timed = make_quiz(world.course, questions=q, time_limit_minutes=20)
    assert ops.start_attempt(
        timed, world.trainee, now=now, actor=world.trainee
    ).deadline == now + timedelta(minutes=20)
    closing = make_quiz(
        world.course, questions=q, time_limit_minutes=20, closes_at=now + timedelta(minutes=5)
    )
    assert ops.start_attempt(
        closing, world.trainee, now=now, actor=world.trainee
    ).deadline == now + timedelta(minutes=5)


def test_answers_within_grace_count_and_later_ones_are_refused_and_the_attempt_expires(
    app, db, world, make_quiz
):
    app.config["QUIZ_GRACE_SECONDS"] = 30
    tf, short = world.questions["true_false"], world.questions["short"]
    quiz = make_quiz(world.course, questions=[tf, short], time_limit_minutes=10)
    start = utcnow() - timedelta(minutes=30)
    attempt = ops.start_attempt(quiz, world.trainee, now=start, actor=world.trainee)
    deadline = attempt.deadline
    ops.save_answers(
        attempt, {tf.id: "false"}, now=deadline + timedelta(seconds=29), actor=attempt.user
    )
    with pytest.raises(ops.AttemptClosed, match="time is up"):
        ops.save_answers(
            attempt,
            {short.id: "NetZeroCities"},
            now=deadline + timedelta(seconds=31),
            actor=attempt.user,
        )

    assert attempt.status == AttemptStatus.EXPIRED
    assert attempt.submitted_at == deadline
    assert short.id not in _answers(db, attempt)
    assert attempt.score == Decimal("50.00")  # the true/false answer saved within the grace
    assert get_grade(quiz.assessment, world.trainee).points == Decimal("50.00")


def test_an_answer_stored_after_the_deadline_and_grace_is_not_counted(app, db, world, make_quiz):
    app.config["QUIZ_GRACE_SECONDS"] = 30
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=10)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(minutes=5), actor=world.trainee
    )
    ops.save_answers(attempt, {tf.id: "false"}, actor=attempt.user)
    # Whatever stored it (a request that raced the clock), a late answer does not count.
    _answers(db, attempt)[tf.id].saved_at = attempt.deadline + timedelta(seconds=31)
    db.session.flush()
    ops.submit_attempt(attempt, now=attempt.deadline + timedelta(seconds=10), actor=attempt.user)
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.score == Decimal("0.00")


def test_a_submit_after_the_grace_grades_the_attempt_at_its_deadline(db, world, make_quiz):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=10)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    ops.save_answers(
        attempt, {tf.id: "false"}, now=attempt.started_at + timedelta(minutes=1), actor=attempt.user
    )
    with pytest.raises(ops.AttemptClosed, match="time was up"):
        ops.submit_attempt(attempt, actor=attempt.user)
    assert attempt.status == AttemptStatus.EXPIRED
    assert attempt.score == Decimal("100.00")
    assert attempt.submitted_at == attempt.deadline


def test_expired_attempts_are_graded_when_the_quiz_is_next_touched(db, world, make_quiz):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=10)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(minutes=9), actor=world.trainee
    )
    assert ops.expire_due_attempts(quiz) == 0
    assert ops.expire_due_attempts(quiz, now=utcnow() + timedelta(minutes=2)) == 1
    assert attempt.status == AttemptStatus.EXPIRED
    assert get_grade(quiz.assessment, world.trainee).points == Decimal("0.00")
    # Starting again first grades nothing twice and gives attempt 2.
    assert ops.start_attempt(quiz, world.trainee, actor=world.trainee).number == 2


@pytest.mark.parametrize(
    ("method", "expected"),
    [("highest", "100.00"), ("last", "50.00"), ("first", "0.00"), ("average", "50.00")],
)
def test_grading_method_picks_the_quiz_grade(db, world, make_quiz, method, expected):
    tf, single = world.questions["true_false"], world.questions["single"]
    quiz = make_quiz(world.course, questions=[tf, single], grading_method=method)
    right = str(next(o.id for o in single.options if o.correct))
    for answers in ({}, {tf.id: "false", single.id: right}, {tf.id: "false"}):
        attempt = ops.start_attempt(quiz, world.trainee, actor=world.trainee)
        ops.save_answers(attempt, answers, actor=attempt.user)
        ops.submit_attempt(attempt, actor=attempt.user)
    assert get_grade(quiz.assessment, world.trainee).points == Decimal(expected)


def test_a_withdrawn_trainee_keeps_the_score_but_gets_no_grade(db, world, make_quiz):
    tf = world.questions["true_false"]
    quiz = make_quiz(world.course, questions=[tf], time_limit_minutes=5)
    attempt = ops.start_attempt(
        quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    enrolment.status = EnrolmentStatus.WITHDRAWN
    db.session.flush()
    assert ops.expire_due_attempts(quiz) == 1
    assert attempt.score == Decimal("0.00")
    assert get_grade(quiz.assessment, world.trainee) is None


def test_shuffled_attempts_keep_their_order(db, world, make_quiz):
    questions = list(world.questions.values())
    quiz = make_quiz(world.course, questions=questions, shuffle_questions=True)
    attempt = ops.start_attempt(quiz, world.trainee, actor=world.trainee)
    assert sorted(attempt.question_ids) == sorted(q.id for q in questions)
    assert [q.id for q in ops.attempt_questions(attempt)] == attempt.question_ids


def test_feedback_timing(db, world, make_quiz):
    now = utcnow()
    quiz = make_quiz(
        world.course,
        questions=[world.questions["single"]],
        closes_at=now + timedelta(days=1),
        feedback="after_close",
    )
    assert not quiz.feedback_visible(now)
    assert quiz.feedback_visible(now + timedelta(days=1))
    assert world.quiz.feedback_visible(now)


# --- authoring -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "overrides", "message"),
    [
        (
            "single",
            {"options": [ops.OptionData("A", correct=True), ops.OptionData("B", correct=True)]},
            "exactly one correct option",
        ),
        ("single", {"options": [ops.OptionData("A", correct=True)]}, "at least two options"),
        ("multiple", {"options": [ops.OptionData("A"), ops.OptionData("B")]}, "at least one"),
        ("true_false", {"truth": None}, "true or false"),
        ("numeric", {"value": None}, "correct value"),
        ("numeric", {"tolerance": Decimal(-1)}, "cannot be negative"),
        ("short", {"accepted": ["  "]}, "accepted answer"),
        ("short", {"points": Decimal(0)}, "Points must be"),
    ],
)
def test_bad_questions_are_refused(db, world, kind, overrides, message):
    from courses.assessments.quizzes.models import Question

    before = db.session.scalar(sa.select(sa.func.count()).select_from(Question))
    with pytest.raises(ops.QuizError, match=message):
        ops.create_question(world.course, question_data(kind, **overrides), actor=world.instructor)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Question)) == before


def test_questions_in_use_cannot_be_deleted(db, world, make_question):
    with pytest.raises(ops.QuestionInUse):
        ops.delete_question(world.questions["single"], actor=world.instructor)
    spare = make_question(world.course, "numeric")
    ops.delete_question(spare, actor=world.instructor)


def test_reordering_questions_keeps_positions_unique(db, world):
    ids = [q.id for q in world.questions.values()]
    ops.set_questions(world.quiz, list(reversed(ids)), actor=world.instructor)
    db.session.commit()
    assert [i.question_id for i in world.quiz.items] == list(reversed(ids))
    with pytest.raises(ops.QuizError, match="only once"):
        ops.set_questions(world.quiz, [ids[0], ids[0]], actor=world.instructor)
    with pytest.raises(ops.QuizError, match="at least one question"):
        ops.set_questions(world.quiz, [], actor=world.instructor)


def test_questions_of_another_course_cannot_join_a_quiz(db, world, make_course, make_question):
    other = make_question(make_course(), "single")
    with pytest.raises(ops.QuizError, match="this course's bank"):
        ops.set_questions(world.quiz, [other.id], actor=world.instructor)


def test_quiz_settings_that_do_not_hold_together_are_refused(db, world, make_user):
    now = utcnow()
    bad = [
        ({"closes_at": now, "opens_at": now + timedelta(hours=1)}, "close after it opens"),
        ({"feedback": "after_close"}, "needs a closing date"),
        ({"pass_percent": Decimal(101)}, "between 0 and 100"),
        ({"attempt_limit": 0}, "attempt limit"),
        ({"title_en": " "}, "title"),
    ]
    for settings, message in bad:
        settings.setdefault("title_en", "Quiz")
        with pytest.raises(ops.QuizError, match=message):
            ops.create_quiz(world.course, ops.QuizSettings(**settings), actor=world.instructor)
    assert make_user(roles=[Role.TRAINEE])  # the session is still usable
