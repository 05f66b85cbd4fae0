"""Changes to question banks and quizzes, and the life of an attempt.

Every function changes state, flushes, writes the audit log and returns the
object; none commits. Concurrency:

- attempt numbers are unique per (quiz, trainee); two starts racing for the same
  number meet the unique constraint inside a savepoint and the loser is told;
- saving an answer locks the attempt row (``SELECT ... FOR UPDATE``), so a save
  and a submit of the same attempt never interleave;
- an attempt is graded once: a conditional ``UPDATE ... WHERE status =
  'in_progress'`` decides who grades, by its row count.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm.attributes import set_committed_value

from courses.access import require_manager, require_self
from courses.assessments import scoring
from courses.assessments.grades import is_enrolled, set_grade
from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from courses.assessments.quizzes.models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    FeedbackTiming,
    Question,
    QuestionOption,
    Quiz,
    QuizItem,
)
from courses.assessments.scoring import GradingMethod, QuestionKind
from courses.models import Course
from lms import audit
from lms.db import affected_rows, utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.i18n import format_moment
from lms.models import User

logger = logging.getLogger(__name__)

TITLE_MAX = 200
TEXT_MAX = 5000
OPTION_MAX = 500
ACCEPTED_MAX = 200
MAX_OPTIONS = 10
POINTS_MAX = Decimal(1000)
ATTEMPT_LIMIT_MAX = 100
TIME_LIMIT_MAX = 24 * 60  # minutes
DEFAULT_GRACE_SECONDS = 30


class QuizError(UserError):
    """A change to a bank, a quiz or an attempt that is not allowed; the message says why."""


class QuestionInUse(QuizError):
    """The question is part of a quiz or has answers, so it cannot be deleted."""


class QuizNotOpen(QuizError):
    """The quiz is not open for attempts now."""


class AttemptLimitReached(QuizError):
    """The trainee has used every attempt allowed."""


class AttemptConflict(QuizError):
    """Another attempt was started at the same moment."""


class AttemptClosed(QuizError):
    """The attempt is already graded: submitted, or expired at its deadline."""


class AnswerRefused(QuizError):
    """An answer that cannot belong to this attempt; nothing was saved."""


def grace() -> timedelta:
    """Return how long after the deadline answers still count (QUIZ_GRACE_SECONDS)."""
    seconds = DEFAULT_GRACE_SECONDS
    if has_app_context():
        seconds = current_app.config.get("QUIZ_GRACE_SECONDS", DEFAULT_GRACE_SECONDS)
    return timedelta(seconds=int(seconds))


# --- question bank ---------------------------------------------------------


@dataclass
class OptionData:
    text_en: str
    text_bg: str = ""
    correct: bool = False


@dataclass
class QuestionData:
    """A question as authored: what each kind needs, plain values only."""

    kind: QuestionKind
    text_en: str
    text_bg: str = ""
    points: Decimal = Decimal(1)
    feedback_en: str = ""
    feedback_bg: str = ""
    options: list[OptionData] = field(default_factory=list)
    truth: bool | None = None
    value: Decimal | None = None
    tolerance: Decimal | None = None
    accepted: list[str] = field(default_factory=list)


def check_question(data: QuestionData) -> None:
    """Raise QuizError with a clear message unless ``data`` is a complete question."""
    kind = QuestionKind(data.kind)
    if not data.text_en.strip():
        raise QuizError(_("The question text in English is required."))
    if len(data.text_en) > TEXT_MAX or len(data.text_bg) > TEXT_MAX:
        raise QuizError(_("A question text has at most %(max)s characters.", max=TEXT_MAX))
    if not (Decimal(0) < data.points <= POINTS_MAX):
        raise QuizError(_("Points must be more than 0 and at most %(max)s.", max=POINTS_MAX))
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        options = [o for o in data.options if o.text_en.strip()]
        if len(options) < 2:
            raise QuizError(_("A choice question needs at least two options."))
        if len(options) > MAX_OPTIONS:
            raise QuizError(_("A question has at most %(max)s options.", max=MAX_OPTIONS))
        correct = sum(o.correct for o in options)
        if kind is QuestionKind.SINGLE and correct != 1:
            raise QuizError(_("A single-choice question needs exactly one correct option."))
        if kind is QuestionKind.MULTIPLE and correct < 1:
            raise QuizError(_("A multiple-choice question needs at least one correct option."))
    elif kind is QuestionKind.TRUE_FALSE:
        if data.truth is None:
            raise QuizError(_("Say whether the statement is true or false."))
    elif kind is QuestionKind.NUMERIC:
        if data.value is None or not data.value.is_finite():
            raise QuizError(_("A numeric question needs the correct value."))
        if data.tolerance is not None and (not data.tolerance.is_finite() or data.tolerance < 0):
            raise QuizError(_("The tolerance cannot be negative."))
    elif not [a for a in data.accepted if scoring.normalise_text(a)]:
        raise QuizError(_("A short-answer question needs at least one accepted answer."))


def _apply(question: Question, data: QuestionData) -> None:
    kind = QuestionKind(data.kind)
    question.text_en = data.text_en.strip()
    question.text_bg = data.text_bg.strip()
    question.points = data.points
    question.feedback_en = data.feedback_en.strip()
    question.feedback_bg = data.feedback_bg.strip()
    question.truth = data.truth if kind is QuestionKind.TRUE_FALSE else None
    numeric = kind is QuestionKind.NUMERIC
    question.value = data.value if numeric else None
    question.tolerance = (data.tolerance or Decimal(0)) if numeric else None
    question.accepted = (
        [a.strip() for a in data.accepted if a.strip()] if kind is QuestionKind.SHORT else []
    )
    wanted = []
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        wanted = [o for o in data.options if o.text_en.strip()]
    # Keep option rows by position, so option ids in saved answers stay meaningful.
    existing = list(question.options)
    for position, option in enumerate(wanted, start=1):
        if position <= len(existing):
            row = existing[position - 1]
        else:
            row = QuestionOption(position=position)
            question.options.append(row)
        row.text_en = option.text_en.strip()
        row.text_bg = option.text_bg.strip()
        row.correct = bool(option.correct)
    for row in existing[len(wanted) :]:
        question.options.remove(row)


def create_question(course: Course, data: QuestionData, *, actor: User) -> Question:
    """Add a question to the course's bank."""
    require_manager(actor, course)
    check_question(data)
    question = Question(course=course, kind=str(QuestionKind(data.kind)))
    _apply(question, data)
    db.session.add(question)
    db.session.flush()
    audit.record("quiz.question_created", question, actor=actor, course=course.id, kind=data.kind)
    logger.info("question %s (%s) added to course %s", question.id, question.kind, course.id)
    return question


def update_question(question: Question, data: QuestionData, *, actor: User) -> Question:
    """Change a bank question; its kind stays."""
    require_manager(actor, question.course)
    data.kind = QuestionKind(question.kind)
    check_question(data)
    _apply(question, data)
    db.session.flush()
    audit.record("quiz.question_updated", question, actor=actor)
    logger.info("question %s updated", question.id)
    return question


def question_in_use(question: Question) -> bool:
    """Return whether a quiz uses the question or an attempt answered it."""
    used = sa.select(QuizItem.quiz_id).where(QuizItem.question_id == question.id)
    answered = sa.select(AttemptAnswer.id).where(AttemptAnswer.question_id == question.id)
    return bool(db.session.scalar(sa.select(sa.or_(sa.exists(used), sa.exists(answered)))))


def delete_question(question: Question, *, actor: User) -> None:
    """Delete a question that no quiz uses and no attempt answered."""
    require_manager(actor, question.course)
    if question_in_use(question):
        raise QuestionInUse(
            _(
                "This question is used in a quiz or was answered in an attempt; "
                "it cannot be deleted."
            )
        )
    audit.record("quiz.question_deleted", question, actor=actor, course=question.course_id)
    db.session.delete(question)
    db.session.flush()
    logger.info("question %s deleted", question.id)


# --- quizzes ---------------------------------------------------------------


@dataclass
class QuizSettings:
    """Everything a quiz's settings page edits, plain values only."""

    title_en: str
    title_bg: str = ""
    description_en: str = ""
    description_bg: str = ""
    category_id: int | None = None
    max_points: Decimal = Decimal(100)
    pass_percent: Decimal | None = None
    required: bool = False
    attempt_limit: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    time_limit_minutes: int | None = None
    grading_method: GradingMethod = GradingMethod.HIGHEST
    feedback: FeedbackTiming = FeedbackTiming.AFTER_SUBMISSION
    shuffle_questions: bool = False
    shuffle_options: bool = False


def check_settings(course: Course, settings: QuizSettings) -> None:
    """Raise QuizError with a clear message unless the settings hold together."""
    if not settings.title_en.strip():
        raise QuizError(_("The title in English is required."))
    if len(settings.title_en) > TITLE_MAX or len(settings.title_bg) > TITLE_MAX:
        raise QuizError(_("A title has at most %(max)s characters.", max=TITLE_MAX))
    if not (Decimal(0) < settings.max_points <= POINTS_MAX):
        raise QuizError(_("Points must be more than 0 and at most %(max)s.", max=POINTS_MAX))
    if settings.pass_percent is not None and not (0 <= settings.pass_percent <= 100):
        raise QuizError(_("The pass mark is a percentage between 0 and 100."))
    if settings.attempt_limit is not None and not (
        1 <= settings.attempt_limit <= ATTEMPT_LIMIT_MAX
    ):
        raise QuizError(_("The attempt limit is between 1 and %(max)s.", max=ATTEMPT_LIMIT_MAX))
    if settings.time_limit_minutes is not None and not (
        1 <= settings.time_limit_minutes <= TIME_LIMIT_MAX
    ):
        raise QuizError(_("The time limit is between 1 and %(max)s minutes.", max=TIME_LIMIT_MAX))
    for moment in (settings.opens_at, settings.closes_at):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("quiz dates must be timezone-aware")
    if settings.opens_at and settings.closes_at and settings.closes_at <= settings.opens_at:
        raise QuizError(_("The quiz must close after it opens."))
    if FeedbackTiming(settings.feedback) is FeedbackTiming.AFTER_CLOSE and not settings.closes_at:
        raise QuizError(_("Feedback after the quiz closes needs a closing date."))
    if settings.category_id is not None:
        category = db.session.get(GradeCategory, settings.category_id)
        if category is None or category.course_id != course.id:
            raise QuizError(_("Choose a grade category of this course."))


def _apply_settings(quiz: Quiz, settings: QuizSettings) -> None:
    assessment = quiz.assessment
    assessment.title_en = settings.title_en.strip()
    assessment.title_bg = settings.title_bg.strip()
    assessment.description_en = settings.description_en.strip()
    assessment.description_bg = settings.description_bg.strip()
    assessment.category_id = settings.category_id
    assessment.max_points = settings.max_points
    assessment.pass_percent = settings.pass_percent
    assessment.required = settings.required
    assessment.due_at = settings.closes_at
    quiz.attempt_limit = settings.attempt_limit
    quiz.opens_at = settings.opens_at
    quiz.closes_at = settings.closes_at
    quiz.time_limit_minutes = settings.time_limit_minutes
    quiz.grading_method = str(GradingMethod(settings.grading_method))
    quiz.feedback = str(FeedbackTiming(settings.feedback))
    quiz.shuffle_questions = settings.shuffle_questions
    quiz.shuffle_options = settings.shuffle_options


def create_quiz(course: Course, settings: QuizSettings, *, actor: User) -> Quiz:
    """Create a quiz (an unpublished gradebook assessment with its settings)."""
    require_manager(actor, course)
    check_settings(course, settings)
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(Assessment.position), 0)).where(
            Assessment.course_id == course.id
        )
    ).scalar_one()
    assessment = Assessment(
        course=course, kind=AssessmentKind.QUIZ, published=False, position=position + 1
    )
    quiz = Quiz(assessment=assessment)
    _apply_settings(quiz, settings)
    db.session.add(quiz)
    db.session.flush()
    audit.record("quiz.created", quiz, actor=actor, course=course.id, assessment=assessment.id)
    logger.info("quiz %s created in course %s", quiz.id, course.id)
    return quiz


def update_quiz(quiz: Quiz, settings: QuizSettings, *, actor: User) -> Quiz:
    """Change a quiz's settings; attempts already started keep their deadline."""
    require_manager(actor, quiz.assessment.course)
    check_settings(quiz.assessment.course, settings)
    _apply_settings(quiz, settings)
    db.session.flush()
    audit.record("quiz.updated", quiz, actor=actor)
    logger.info("quiz %s updated", quiz.id)
    return quiz


def set_questions(quiz: Quiz, question_ids: Sequence[int], *, actor: User) -> Quiz:
    """Make the quiz ask these bank questions, in this order."""
    require_manager(actor, quiz.assessment.course)
    ids = list(question_ids)
    if len(set(ids)) != len(ids):
        raise QuizError(_("Each question can be in the quiz only once."))
    if ids:
        found = set(
            db.session.scalars(
                sa.select(Question.id).where(
                    Question.id.in_(ids), Question.course_id == quiz.assessment.course_id
                )
            )
        )
        if found != set(ids):
            raise QuizError(_("Choose questions from this course's bank."))
    if quiz.assessment.published and not ids:
        raise QuizError(_("A published quiz needs at least one question."))
    # Replace the rows wholesale: rewriting positions in place would trip the
    # (quiz, position) unique constraint on PostgreSQL, which checks it row by row.
    db.session.execute(sa.delete(QuizItem).where(QuizItem.quiz_id == quiz.id))
    db.session.expire(quiz, ["items"])
    for position, question_id in enumerate(ids, start=1):
        db.session.add(QuizItem(quiz_id=quiz.id, question_id=question_id, position=position))
    db.session.flush()
    db.session.expire(quiz, ["items"])
    audit.record("quiz.questions_set", quiz, actor=actor, questions=ids)
    logger.info("quiz %s now asks %s questions", quiz.id, len(ids))
    return quiz


def set_published(quiz: Quiz, published: bool, *, actor: User) -> Quiz:
    """Publish a quiz to the course's trainees, or take it back."""
    require_manager(actor, quiz.assessment.course)
    if published and not quiz.items:
        raise QuizError(_("Add at least one question before publishing the quiz."))
    quiz.assessment.published = published
    db.session.flush()
    audit.record("quiz.published" if published else "quiz.unpublished", quiz, actor=actor)
    logger.info("quiz %s published=%s", quiz.id, published)
    return quiz


# --- attempts --------------------------------------------------------------


def scoring_question(question: Question) -> scoring.Question:
    """Return the pure scoring view of a bank question, texts in the current language."""
    return scoring.Question(
        id=str(question.id),
        kind=QuestionKind(question.kind),
        text=question.tr("text"),
        points=question.points,
        options=tuple(scoring.Option(str(o.id), o.tr("text"), o.correct) for o in question.options),
        truth=question.truth,
        value=question.value,
        tolerance=question.tolerance or Decimal(0),
        accepted=tuple(question.accepted or ()),
    )


def attempt_questions(attempt: Attempt) -> list[Question]:
    """Return the attempt's questions with their options, in the order the attempt shows them."""
    rows = db.session.scalars(
        sa.select(Question)
        .where(Question.id.in_(attempt.question_ids))
        .options(sa.orm.selectinload(Question.options))
    ).all()
    by_id = {q.id: q for q in rows}
    return [by_id[qid] for qid in attempt.question_ids if qid in by_id]


def _in_progress(quiz: Quiz, user: User) -> Attempt | None:
    return db.session.scalar(
        sa.select(Attempt).where(
            Attempt.quiz_id == quiz.id,
            Attempt.user_id == user.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )


def start_attempt(quiz: Quiz, user: User, *, actor: User, now: datetime | None = None) -> Attempt:
    """Start the trainee's next attempt, or return the one in progress (``actor`` is them)."""
    require_self(actor, user)
    now = now or utcnow()
    if not quiz.assessment.published:
        raise QuizNotOpen(_("This quiz is not published."))
    if not is_enrolled(user, quiz.assessment):
        raise QuizError(_("Only trainees enrolled in this course can take this quiz."))
    expire_due_attempts(quiz, user=user, now=now)
    current = _in_progress(quiz, user)
    if current is not None:
        return current
    if quiz.opens_at is not None and now < quiz.opens_at:
        raise QuizNotOpen(_("This quiz opens on %(when)s.", when=format_moment(quiz.opens_at)))
    if quiz.closes_at is not None and now >= quiz.closes_at:
        raise QuizNotOpen(_("This quiz closed on %(when)s.", when=format_moment(quiz.closes_at)))
    used = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(Attempt.number), 0)).where(
            Attempt.quiz_id == quiz.id, Attempt.user_id == user.id
        )
    ).scalar_one()
    if quiz.attempt_limit is not None and used >= quiz.attempt_limit:
        raise AttemptLimitReached(
            ngettext(
                "You have used the only attempt allowed for this quiz.",
                "You have used all %(num)s attempts allowed for this quiz.",
                quiz.attempt_limit,
            )
        )
    question_ids = [item.question_id for item in quiz.items]
    if not question_ids:
        raise QuizNotOpen(_("This quiz has no questions yet."))
    seed = secrets.randbelow(2**31)
    if quiz.shuffle_questions:
        question_ids = scoring.shuffled(question_ids, seed)
    attempt = Attempt(
        quiz=quiz,
        user=user,
        number=used + 1,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline=scoring.attempt_deadline(now, quiz.time_limit, quiz.closes_at),
        seed=seed,
        question_ids=question_ids,
    )
    try:
        # The unique (quiz, user, number) decides between two starts racing.
        with db.session.begin_nested():
            db.session.add(attempt)
    except sa.exc.IntegrityError:
        raise AttemptConflict(
            _("Another attempt was started at the same moment. Reload the page to continue it.")
        ) from None
    audit.record("quiz.attempt_started", attempt, actor=user, quiz=quiz.id, number=attempt.number)
    logger.info("user %s started attempt %s of quiz %s", user.id, attempt.number, quiz.id)
    return attempt


def is_due(attempt: Attempt, now: datetime) -> bool:
    """Return whether an attempt in progress is past its deadline and the grace."""
    return (
        attempt.status == AttemptStatus.IN_PROGRESS
        and attempt.deadline is not None
        and not scoring.answer_counts(now, attempt.deadline, grace())
    )


def _lock(attempt: Attempt) -> Attempt:
    """Lock the attempt row and reload it, so saves and submits take turns."""
    return db.session.scalars(
        sa.select(Attempt)
        .where(Attempt.id == attempt.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _storable(question: Question, raw: Any) -> Any:
    """Return the raw response as stored: blanks as None, lists sorted."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, list | tuple | set | frozenset):
        values = sorted({str(v) for v in raw})
        return values or None
    return raw


def save_answers(
    attempt: Attempt,
    responses: Mapping[int, Any],
    *,
    actor: User,
    now: datetime | None = None,
) -> dict[int, str]:
    """Save responses by question id; return warnings for answers kept but not valid.

    A numeric answer that is not a number is kept as typed, with a warning, and
    scores 0. Any other response that cannot belong to its question, or a
    question that is not in this attempt, refuses the whole save. Only the
    trainee whose attempt it is (``actor``) answers.
    """
    require_self(actor, attempt.user)
    now = now or utcnow()
    attempt = _lock(attempt)
    if expire_if_due(attempt, now=now):
        raise AttemptClosed(
            _("The time is up: the attempt was graded with the answers saved in time.")
        )
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise AttemptClosed(_("This attempt has already been submitted."))
    stray = set(responses) - set(attempt.question_ids)
    if stray:
        raise AnswerRefused(
            _(
                "An answer was sent for a question that is not part of this attempt. "
                "Nothing was saved."
            )
        )
    questions = {q.id: q for q in attempt_questions(attempt)}
    warnings: dict[int, str] = {}
    cleaned: dict[int, Any] = {}
    for question_id, raw in responses.items():
        question = questions.get(question_id)
        if question is None:
            raise AnswerRefused(_("This question no longer exists. Nothing was saved."))
        try:
            scoring.normalise_response(scoring_question(question), raw)
        except scoring.InvalidAnswer as error:
            numeric_text = (
                question.kind == QuestionKind.NUMERIC
                and isinstance(raw, str)
                and len(raw) <= scoring.MAX_RESPONSE_LENGTH
            )
            if not numeric_text:
                raise AnswerRefused(
                    _("%(message)s Nothing was saved.", message=error.message)
                ) from None
            warnings[question_id] = error.message
        cleaned[question_id] = _storable(question, raw)
    existing = {
        a.question_id: a
        for a in db.session.scalars(
            sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
        )
    }
    for question_id, value in cleaned.items():
        answer = existing.get(question_id)
        if answer is None:
            if value is None:
                continue
            db.session.add(
                AttemptAnswer(
                    attempt_id=attempt.id, question_id=question_id, response=value, saved_at=now
                )
            )
        elif answer.response != value:
            answer.response = value
            answer.saved_at = now
    db.session.flush()
    logger.debug("attempt %s: saved %s answers", attempt.id, len(cleaned))
    return warnings


def _finish(attempt: Attempt, status: AttemptStatus, at: datetime) -> bool:
    """Mark the attempt finished if it is still in progress; return whether this call did."""
    table = cast(sa.Table, Attempt.__table__)  # declared as any FromClause
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == attempt.id, table.c.status == AttemptStatus.IN_PROGRESS)
        .values(status=str(status), submitted_at=at)
    )
    db.session.refresh(attempt)
    return affected_rows(result) == 1


def _score(attempt: Attempt) -> tuple[Decimal, Decimal, Decimal, list[AttemptAnswer], dict]:
    """Score an attempt from the answers that count, changing nothing.

    Return (points, possible, percentage, the attempt's answers, points by question id).
    """
    questions = attempt_questions(attempt)
    answers = list(
        db.session.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
    )
    scored = {q.id: scoring_question(q) for q in questions}
    responses: dict[str, Any] = {}
    for answer in answers:
        question = scored.get(answer.question_id)
        if question is None or not scoring.answer_counts(
            answer.saved_at, attempt.deadline, grace()
        ):
            continue
        try:
            scoring.normalise_response(question, answer.response)
        except scoring.InvalidAnswer:
            continue  # e.g. a numeric answer that is not a number: kept, scores 0
        responses[question.id] = answer.response
    if not scored:  # every question was deleted since the start: nothing to score
        return Decimal(0), Decimal(0), Decimal(0), answers, {}
    result = scoring.score_attempt(list(scored.values()), responses)
    by_id = {int(s.question_id): s.awarded for s in result.questions}
    return result.points, result.possible, result.percentage, answers, by_id


def _grade(attempt: Attempt, *, actor: User | None) -> Attempt:
    """Score a finished attempt from the answers that count, then write the quiz grade."""
    attempt.points, attempt.possible, attempt.score, answers, by_id = _score(attempt)
    for answer in answers:
        answer.awarded = by_id.get(answer.question_id, Decimal(0))
    db.session.flush()
    audit.record(
        "quiz.attempt_graded",
        attempt,
        actor=actor,
        quiz=attempt.quiz_id,
        user=attempt.user_id,
        status=attempt.status,
        score=str(attempt.score),
    )
    logger.info(
        "attempt %s of user %s graded (%s): %s%%",
        attempt.id,
        attempt.user_id,
        attempt.status,
        attempt.score,
    )
    write_quiz_grade(attempt.quiz, attempt.user, reason=f"quiz attempt {attempt.number}")
    return attempt


def write_quiz_grade(quiz: Quiz, user: User, *, reason: str) -> None:
    """Write the quiz grade by its grading method over the graded attempts, released."""
    rows = db.session.execute(
        sa.select(Attempt.number, Attempt.score).where(
            Attempt.quiz_id == quiz.id,
            Attempt.user_id == user.id,
            Attempt.status != AttemptStatus.IN_PROGRESS,
        )
    ).all()
    points = _grade_points(quiz, [scoring.AttemptResult(number, score) for number, score in rows])
    if points is None:
        return
    assessment = quiz.assessment
    if not is_enrolled(user, assessment):
        # A trainee who withdrew keeps the attempt's score but gets no grade.
        logger.warning("user %s no longer enrolled: no grade for quiz %s", user.id, quiz.id)
        return
    set_grade(assessment, user, points, actor=None, release=True, reason=reason)


def submit_attempt(attempt: Attempt, *, actor: User, now: datetime | None = None) -> Attempt:
    """Submit and grade the attempt once (its trainee only); a second submit raises AttemptClosed.

    Past the deadline and the grace, the attempt is graded as expired at its
    deadline instead, and AttemptClosed says so.
    """
    require_self(actor, attempt.user)
    now = now or utcnow()
    if expire_if_due(attempt, now=now):
        raise AttemptClosed(
            _("The time was up: the attempt was graded with the answers saved in time.")
        )
    if not _finish(attempt, AttemptStatus.SUBMITTED, now):
        raise AttemptClosed(_("This attempt has already been submitted."))
    return _grade(attempt, actor=actor)


def expire_if_due(attempt: Attempt, *, now: datetime | None = None) -> bool:
    """Grade an attempt past its deadline and grace, as at its deadline; return whether it did."""
    now = now or utcnow()
    if not is_due(attempt, now):
        return False
    assert attempt.deadline is not None, "is_due: only an attempt with a deadline falls due"
    if not _finish(attempt, AttemptStatus.EXPIRED, attempt.deadline):
        return False  # graded meanwhile by another request
    _grade(attempt, actor=None)
    return True


def due_attempts(
    quiz: Quiz, *, user: User | None = None, now: datetime | None = None
) -> list[Attempt]:
    """Return the attempts of the quiz (or of one trainee) left past deadline and grace."""
    query = _due_query(now or utcnow()).where(Attempt.quiz_id == quiz.id)
    if user is not None:
        query = query.where(Attempt.user_id == user.id)
    return list(db.session.scalars(query).all())


def _due_query(now: datetime) -> sa.Select:
    return sa.select(Attempt).where(
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.deadline.is_not(None),
        Attempt.deadline < now - grace(),
    )


def expire_due_attempts(
    quiz: Quiz, *, user: User | None = None, now: datetime | None = None
) -> int:
    """Grade every attempt of the quiz (or of one trainee) left past its deadline."""
    now = now or utcnow()
    return sum(
        expire_if_due(attempt, now=now) for attempt in due_attempts(quiz, user=user, now=now)
    )


def expire_all_due(*, user: User | None = None, now: datetime | None = None) -> int:
    """Grade every attempt left past its deadline, at any quiz (or of one trainee).

    Reads only show such attempts as expired; this stores them, and the quiz
    grades they give, for what reads stored grades (the gradebook, completion,
    certificates). ``lms quizzes expire`` runs it from cron.
    """
    now = now or utcnow()
    query = _due_query(now).order_by(Attempt.id)
    if user is not None:
        query = query.where(Attempt.user_id == user.id)
    return sum(expire_if_due(attempt, now=now) for attempt in db.session.scalars(query).all())


def show_as_expired(attempts: Sequence[Attempt], *, now: datetime | None = None) -> bool:
    """Show the attempts past their deadline as expired and graded, writing nothing.

    Read-only requests never write: an attempt left past its deadline and grace
    is closed and graded on the next write (the trainee's next start, save or
    submit, or ``lms quizzes expire``), and until then reads see it exactly as
    that grading will store it. The values are set as if loaded, so the session
    never flushes them. Return whether any attempt was due.
    """
    now = now or utcnow()
    shown = False
    for attempt in attempts:
        if not is_due(attempt, now):
            continue
        points, possible, score, answers, by_id = _score(attempt)
        for key, value in (
            ("status", str(AttemptStatus.EXPIRED)),
            ("submitted_at", attempt.deadline),
            ("points", points),
            ("possible", possible),
            ("score", score),
        ):
            set_committed_value(attempt, key, value)
        for answer in answers:
            set_committed_value(answer, "awarded", by_id.get(answer.question_id, Decimal(0)))
        shown = True
    return shown


def shown_grade_points(quiz: Quiz, attempts: Sequence[Attempt]) -> Decimal | None:
    """Return the quiz grade the trainee's graded attempts give, as it will be stored."""
    return _grade_points(
        quiz, [scoring.AttemptResult(a.number, a.score) for a in attempts if a.graded]
    )


def _grade_points(quiz: Quiz, results: list[scoring.AttemptResult]) -> Decimal | None:
    """Turn attempt results into the quiz's points by its grading method (None: no result)."""
    percent = scoring.final_grade(results, quiz.grading_method)
    if percent is None:
        return None
    return scoring.round_half_up(Fraction(percent) * Fraction(quiz.assessment.max_points) / 100)
