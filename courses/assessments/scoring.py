"""Score quiz questions and attempts, pick the final grade, enforce timing and shuffle.

Plain rules on plain data, with no database: a later layer loads questions and
responses from models, calls these functions and stores the results.

Numbers
    Points and percentages are ``decimal.Decimal``. Intermediate values are kept
    exact (``fractions.Fraction``) and rounded once, ROUND_HALF_UP to 2 places,
    by :func:`round_half_up`. A question's awarded points are rounded to 2 places;
    an attempt's points are the sum of those, so the total shown always equals
    the sum of the per-question values shown.

Question types and their scoring
    single choice   full points for the one correct option, else 0.
    multiple choice partial credit with a cost for wrong picks. With ``k`` correct
                    and ``m`` wrong options, each correct pick earns ``1/k`` and
                    each wrong pick costs ``1/m`` of the points; the sum is
                    floored at 0. Selecting every option therefore scores 0
                    whenever wrong options exist (``k/k - m/m``).
    true/false      full points when the answer matches, else 0.
    numeric         full points when ``|answer - value| <= tolerance`` (absolute,
                    inclusive), else 0. "3,5" and "3.5" are both accepted; text
                    that is not a finite number raises :class:`InvalidAnswer`.
    short answer    full points when the answer equals one of the accepted
                    answers after normalisation: Unicode NFC, runs of whitespace
                    collapsed to one space and trimmed, case folded.

An unanswered question (``None``, an empty string or an empty selection) scores 0.
A response that cannot belong to the question (an unknown option, a wrong type)
raises :class:`InvalidAnswer`, so a caller saving answers as the trainee goes can
reject it before storing anything.
"""

from __future__ import annotations

import enum
import math
import random
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from flask_babel import gettext as _

T = TypeVar("T")

#: Longest short-answer or numeric response accepted, in characters.
MAX_RESPONSE_LENGTH = 500
#: Numeric answers beyond 10**±30 are refused as typing mistakes.
MAX_NUMERIC_EXPONENT = 30

_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_TRUE_WORDS = frozenset({"true", "1", "yes"})
_FALSE_WORDS = frozenset({"false", "0", "no"})


class QuestionKind(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"
    NUMERIC = "numeric"
    SHORT = "short"


class GradingMethod(enum.StrEnum):
    HIGHEST = "highest"
    LAST = "last"
    FIRST = "first"
    AVERAGE = "average"


class InvalidQuestion(ValueError):
    """A question definition that cannot be scored (an authoring error)."""


class InvalidAnswer(ValueError):
    """A response that cannot be accepted for a question; ``message`` says why."""

    def __init__(self, message: str, question_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.question_id = question_id


def round_half_up(value: Fraction | Decimal | int) -> Decimal:
    """Round exactly to 2 decimal places, halves away from zero (ROUND_HALF_UP)."""
    scaled = Fraction(value) * 100
    cents = (abs(scaled) * 2 + 1) // 2
    if scaled < 0:
        cents = -cents
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))


def _decimal(value: Any, what: str) -> Decimal:
    """Convert an int, str or Decimal to a finite Decimal (floats are refused: they drift)."""
    if isinstance(value, bool | float):
        raise InvalidQuestion(f"{what} must be a Decimal, an int or a string, not {value!r}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise InvalidQuestion(f"{what} is not a number: {value!r}") from None
    if not result.is_finite():
        raise InvalidQuestion(f"{what} must be finite, not {value!r}")
    return result


@dataclass(frozen=True)
class Option:
    """A choice of a single- or multiple-choice question."""

    id: str
    text: str
    correct: bool = False


@dataclass(frozen=True)
class Question:
    """A question definition, answer key included (never send it as is to a browser).

    ``truth`` is the answer of a true/false question; ``value`` and ``tolerance``
    of a numeric one; ``accepted`` lists the accepted short answers.
    """

    id: str
    kind: QuestionKind
    text: str
    points: Decimal = Decimal(1)
    options: tuple[Option, ...] = ()
    truth: bool | None = None
    value: Decimal | None = None
    tolerance: Decimal = Decimal(0)
    accepted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidQuestion("a question needs an id")
        object.__setattr__(self, "kind", QuestionKind(self.kind))
        points = _decimal(self.points, "points")
        if points <= 0:
            raise InvalidQuestion(f"question {self.id}: points must be positive")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "accepted", tuple(self.accepted))
        check = {
            QuestionKind.SINGLE: self._check_choice,
            QuestionKind.MULTIPLE: self._check_choice,
            QuestionKind.TRUE_FALSE: self._check_true_false,
            QuestionKind.NUMERIC: self._check_numeric,
            QuestionKind.SHORT: self._check_short,
        }[self.kind]
        check()

    def _check_choice(self) -> None:
        ids = [option.id for option in self.options]
        if len(ids) < 2:
            raise InvalidQuestion(f"question {self.id}: a choice question needs two options")
        if len(set(ids)) != len(ids) or not all(ids):
            raise InvalidQuestion(f"question {self.id}: option ids must be unique and non-empty")
        correct = sum(option.correct for option in self.options)
        if self.kind is QuestionKind.SINGLE and correct != 1:
            raise InvalidQuestion(f"question {self.id}: single choice needs one correct option")
        if self.kind is QuestionKind.MULTIPLE and correct < 1:
            raise InvalidQuestion(f"question {self.id}: multiple choice needs a correct option")

    def _check_true_false(self) -> None:
        if not isinstance(self.truth, bool):
            raise InvalidQuestion(f"question {self.id}: true/false needs truth True or False")

    def _check_numeric(self) -> None:
        if self.value is None:
            raise InvalidQuestion(f"question {self.id}: numeric needs a value")
        object.__setattr__(self, "value", _decimal(self.value, "value"))
        tolerance = _decimal(self.tolerance, "tolerance")
        if tolerance < 0:
            raise InvalidQuestion(f"question {self.id}: tolerance cannot be negative")
        object.__setattr__(self, "tolerance", tolerance)

    def _check_short(self) -> None:
        if not self.accepted or not all(normalise_text(text) for text in self.accepted):
            raise InvalidQuestion(f"question {self.id}: short answer needs accepted answers")


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    awarded: Decimal
    possible: Decimal
    answered: bool

    @property
    def correct(self) -> bool:
        """Return whether the question earned full points."""
        return self.awarded == self.possible


@dataclass(frozen=True)
class AttemptScore:
    points: Decimal
    possible: Decimal
    percentage: Decimal
    questions: tuple[QuestionScore, ...] = field(default=())


def normalise_text(text: str) -> str:
    """Normalise a short answer: NFC, whitespace collapsed and trimmed, case folded."""
    collapsed = " ".join(unicodedata.normalize("NFC", text).split())
    # Case folding can leave decomposed sequences (e.g. "ǰ"), so normalise again.
    return unicodedata.normalize("NFC", collapsed.casefold())


def parse_number(raw: Any, question_id: str | None = None) -> Decimal:
    """Parse a numeric answer ("3.5", "3,5", "-2e3") into a finite Decimal."""
    if isinstance(raw, bool):
        raise InvalidAnswer(_("Enter a number."), question_id)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float | Decimal):
        finite = math.isfinite(raw) if isinstance(raw, float) else raw.is_finite()
        if not finite:
            raise InvalidAnswer(_("Enter a finite number."), question_id)
        return Decimal(str(raw)) if isinstance(raw, float) else raw
    if not isinstance(raw, str):
        raise InvalidAnswer(_("Enter a number."), question_id)
    text = raw.strip().replace("\u2212", "-")
    if len(text) > 100 or not _NUMBER.fullmatch(text):
        shown = raw.strip()[:30]
        raise InvalidAnswer(
            _("“%(value)s” is not a number. Write it like 3.5 or 3,5.", value=shown), question_id
        )
    number = Decimal(text.replace(",", "."))
    if number and abs(number.adjusted()) > MAX_NUMERIC_EXPONENT:
        raise InvalidAnswer(_("This number is too large or too small."), question_id)
    return number


def _is_blank(response: Any) -> bool:
    if response is None:
        return True
    if isinstance(response, str):
        return not response.strip()
    if isinstance(response, Collection):
        return len(response) == 0
    return False


def _option_id(question: Question, raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or raw not in {option.id for option in question.options}:
        raise InvalidAnswer(_("This choice is not one of the question's options."), question.id)
    return raw


def normalise_response(question: Question, response: Any) -> Any:
    """Return the response in canonical form, ``None`` if unanswered, or raise InvalidAnswer.

    single -> option id; multiple -> frozenset of option ids; true/false -> bool;
    numeric -> Decimal; short -> the text as typed (trimmed).
    """
    if _is_blank(response):
        return None
    kind = question.kind
    if kind is QuestionKind.SINGLE:
        return _option_id(question, response)
    if kind is QuestionKind.MULTIPLE:
        if isinstance(response, str | bytes) or not isinstance(response, Iterable):
            raise InvalidAnswer(_("Choose options from the list."), question.id)
        return frozenset(_option_id(question, raw) for raw in response)
    if kind is QuestionKind.TRUE_FALSE:
        if isinstance(response, bool):
            return response
        word = response.strip().casefold() if isinstance(response, str) else None
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise InvalidAnswer(_("Answer true or false."), question.id)
    if kind is QuestionKind.NUMERIC:
        return parse_number(response, question.id)
    if not isinstance(response, str):
        raise InvalidAnswer(_("Enter your answer as text."), question.id)
    if len(response) > MAX_RESPONSE_LENGTH:
        raise InvalidAnswer(
            _("The answer is too long (at most %(n)s characters).", n=MAX_RESPONSE_LENGTH),
            question.id,
        )
    return response.strip()


def _fraction_earned(question: Question, answer: Any) -> Fraction:
    kind = question.kind
    if kind is QuestionKind.SINGLE:
        correct = next(option.id for option in question.options if option.correct)
        return Fraction(answer == correct)
    if kind is QuestionKind.MULTIPLE:
        right = {option.id for option in question.options if option.correct}
        wrong_total = len(question.options) - len(right)
        earned = Fraction(len(answer & right), len(right))
        if wrong_total:
            earned -= Fraction(len(answer - right), wrong_total)
        return max(earned, Fraction(0))
    if kind is QuestionKind.TRUE_FALSE:
        return Fraction(answer is question.truth)
    if kind is QuestionKind.NUMERIC:
        assert question.value is not None, "a numeric question is saved with its value"
        assert question.tolerance is not None, "a numeric question is saved with its tolerance"
        distance = abs(Fraction(answer) - Fraction(question.value))
        return Fraction(distance <= Fraction(question.tolerance))
    given = normalise_text(answer)
    return Fraction(any(given == normalise_text(text) for text in question.accepted))


def score_question(question: Question, response: Any) -> QuestionScore:
    """Score one response to a question (see the module docstring for the rules)."""
    answer = normalise_response(question, response)
    if answer is None:
        return QuestionScore(question.id, Decimal("0.00"), question.points, answered=False)
    awarded = round_half_up(Fraction(question.points) * _fraction_earned(question, answer))
    return QuestionScore(question.id, awarded, question.points, answered=True)


def score_attempt(questions: Sequence[Question], responses: Mapping[str, Any]) -> AttemptScore:
    """Score an attempt: the sum over its questions and the percentage of the possible points.

    A response to a question that is not part of the attempt raises InvalidAnswer.
    """
    if not questions:
        raise InvalidQuestion("an attempt needs at least one question")
    known = {question.id for question in questions}
    stray = sorted(set(responses) - known)
    if stray:
        raise InvalidAnswer(_("An answer was sent for a question not in this attempt."), stray[0])
    scores = tuple(score_question(q, responses.get(q.id)) for q in questions)
    points = sum((score.awarded for score in scores), Decimal("0.00"))
    possible = sum((q.points for q in questions), Decimal(0))
    percentage = round_half_up(Fraction(points) * 100 / Fraction(possible))
    return AttemptScore(points, possible, percentage, scores)


@dataclass(frozen=True)
class AttemptResult:
    """An attempt as the grading method sees it: its number and score (None if ungraded)."""

    number: int
    score: Decimal | None


def final_grade(attempts: Iterable[AttemptResult], method: GradingMethod | str) -> Decimal | None:
    """Return the quiz grade from the graded attempts by the method, or None if none is graded.

    Attempts still in progress (score None) are ignored by every method; "first"
    and "last" go by attempt number; "average" is rounded with round_half_up.
    """
    graded = sorted((a for a in attempts if a.score is not None), key=lambda a: a.number)
    if not graded:
        return None
    scores = [a.score for a in graded if a.score is not None]  # all of them, in order
    method = GradingMethod(method)
    if method is GradingMethod.HIGHEST:
        return max(scores)
    if method is GradingMethod.FIRST:
        return graded[0].score
    if method is GradingMethod.LAST:
        return graded[-1].score
    total = sum((Fraction(score) for score in scores), Fraction(0))
    return round_half_up(total / len(graded))


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def attempt_deadline(
    started_at: datetime, time_limit: timedelta | None, close_at: datetime | None
) -> datetime | None:
    """Return when an attempt must end: the earlier of start + limit and the quiz close."""
    _require_aware(started_at, "started_at")
    candidates = []
    if time_limit is not None:
        if time_limit <= timedelta(0):
            raise ValueError("time_limit must be positive")
        candidates.append(started_at + time_limit)
    if close_at is not None:
        _require_aware(close_at, "close_at")
        candidates.append(close_at)
    return min(candidates) if candidates else None


def answer_counts(
    saved_at: datetime, deadline: datetime | None, grace: timedelta = timedelta(0)
) -> bool:
    """Return whether an answer saved (by the server clock) at saved_at still counts.

    It counts up to and including deadline + grace; with no deadline it always counts.
    """
    _require_aware(saved_at, "saved_at")
    if grace < timedelta(0):
        raise ValueError("grace cannot be negative")
    if deadline is None:
        return True
    _require_aware(deadline, "deadline")
    return saved_at <= deadline + grace


def is_open(now: datetime, open_at: datetime | None, close_at: datetime | None) -> bool:
    """Return whether a quiz is open: open_at <= now < close_at (either bound optional)."""
    _require_aware(now, "now")
    if open_at is not None and now < open_at:
        return False
    return close_at is None or now < close_at


def attempts_left(used: int, limit: int | None) -> int | None:
    """Return how many attempts remain (None when unlimited, never negative)."""
    if limit is None:
        return None
    return max(limit - used, 0)


def shuffled(items: Iterable[T], seed: int | str) -> list[T]:
    """Return the items in an order fixed by the seed (same seed, same order, any process).

    Use the attempt's seed for question order and ``option_seed(seed, question_id)``
    for each question's options, so reloading a page never reorders anything.
    """
    result = list(items)
    random.Random(seed).shuffle(result)
    return result


def option_seed(attempt_seed: int | str, question_id: str) -> str:
    """Return the seed for one question's option order within an attempt."""
    return f"{attempt_seed}:{question_id}"


def public_question(question: Question, seed: int | str | None = None) -> dict[str, Any]:
    """Return what may reach the browser before grading: no correct answer of any kind.

    With a seed, choice options come in the attempt's shuffled order.
    """
    data: dict[str, Any] = {
        "id": question.id,
        "kind": str(question.kind),
        "text": question.text,
        "points": str(question.points),
    }
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        options = list(question.options)
        if seed is not None:
            options = shuffled(options, option_seed(seed, question.id))
        data["options"] = [{"id": option.id, "text": option.text} for option in options]
    return data
