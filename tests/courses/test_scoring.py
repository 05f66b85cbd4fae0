"""Quiz scoring rules: question types, attempts, grading methods, timing, shuffling."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from courses.assessments.scoring import (
    AttemptResult,
    GradingMethod,
    InvalidAnswer,
    InvalidQuestion,
    Option,
    Question,
    QuestionKind,
    answer_counts,
    attempt_deadline,
    attempts_left,
    final_grade,
    is_open,
    normalise_response,
    normalise_text,
    option_seed,
    parse_number,
    public_question,
    round_half_up,
    score_attempt,
    score_question,
    shuffled,
)

D = Decimal
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def single(points="1"):
    return Question(
        "q1",
        QuestionKind.SINGLE,
        "Which body adopts the city budget?",
        points=D(points),
        options=(Option("a", "Mayor"), Option("b", "Council", correct=True), Option("c", "Court")),
    )


def multiple(points="3", correct=("a", "b", "c"), wrong=("d", "e")):
    options = tuple(Option(i, f"option {i}", correct=True) for i in correct)
    options += tuple(Option(i, f"option {i}") for i in wrong)
    return Question(
        "q2", QuestionKind.MULTIPLE, "Pick the sensors", points=D(points), options=options
    )


def true_false(truth=True):
    return Question("q3", QuestionKind.TRUE_FALSE, "LoRaWAN is a LPWAN.", truth=truth)


def numeric(value="3.5", tolerance="0.1", points="2"):
    return Question(
        "q4",
        QuestionKind.NUMERIC,
        "Payback period in years?",
        points=D(points),
        value=D(value),
        tolerance=D(tolerance),
    )


def short(*accepted):
    return Question(
        "q5",
        QuestionKind.SHORT,
        "Name the EU programme",
        accepted=accepted or ("Digital Europe", "DIGITAL"),
    )


# --- rounding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 3), "0.33"),
        (Fraction(2, 3), "0.67"),
        (D("0.125"), "0.13"),
        (D("0.124999"), "0.12"),
        (D("-0.125"), "-0.13"),
        (D("2.675"), "2.68"),  # a float would give 2.67
        (0, "0.00"),
        (100, "100.00"),
    ],
)
def test_round_half_up_is_exact(value, expected):
    assert round_half_up(value) == D(expected)
    assert str(round_half_up(value)) == expected


# --- single choice --------------------------------------------------------------------------


def test_single_choice_scores_full_or_nothing():
    q = single(points="2")
    assert score_question(q, "b").awarded == D("2.00")
    assert score_question(q, "b").correct
    assert score_question(q, "a").awarded == D("0.00")
    assert not score_question(q, "a").correct


def test_single_choice_rejects_unknown_option():
    with pytest.raises(InvalidAnswer, match="not one of the question's options") as err:
        score_question(single(), "z")
    assert err.value.question_id == "q1"


def test_single_choice_definition_needs_one_correct_option():
    with pytest.raises(InvalidQuestion, match="one correct option"):
        Question("x", QuestionKind.SINGLE, "?", options=(Option("a", "A"), Option("b", "B")))
    with pytest.raises(InvalidQuestion, match="unique"):
        Question(
            "x",
            QuestionKind.SINGLE,
            "?",
            options=(Option("a", "A", correct=True), Option("a", "B")),
        )


# --- multiple choice ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("picks", "expected"),
    [
        ({"a", "b", "c"}, "3.00"),  # all correct
        ({"a", "b"}, "2.00"),  # 2/3 of 3 points
        ({"a"}, "1.00"),
        ({"a", "b", "c", "d"}, "1.50"),  # 3/3 - 1/2
        ({"a", "d"}, "0.00"),  # 1/3 - 1/2 floored at 0
        ({"a", "b", "c", "d", "e"}, "0.00"),  # everything selected
        ({"d", "e"}, "0.00"),
    ],
)
def test_multiple_choice_partial_credit_with_cost_for_wrong_picks(picks, expected):
    assert score_question(multiple(), picks).awarded == D(expected)


def test_multiple_choice_thirds_round_half_up():
    q = multiple(points="1")
    assert score_question(q, ["a"]).awarded == D("0.33")
    assert score_question(q, ["a", "b"]).awarded == D("0.67")


def test_multiple_choice_selecting_everything_scores_zero_when_wrong_options_exist():
    q = multiple(points="10", correct=("a",), wrong=("b",))
    assert score_question(q, ["a", "b"]).awarded == D("0.00")


def test_multiple_choice_all_options_correct():
    q = multiple(points="2", correct=("a", "b"), wrong=())
    assert score_question(q, ["a", "b"]).awarded == D("2.00")
    assert score_question(q, ["b"]).awarded == D("1.00")


def test_multiple_choice_duplicate_picks_count_once():
    assert score_question(multiple(), ["a", "a", "a"]).awarded == D("1.00")


def test_multiple_choice_rejects_bad_responses():
    with pytest.raises(InvalidAnswer, match="not one of"):
        score_question(multiple(), ["a", "zz"])
    with pytest.raises(InvalidAnswer, match="Choose options"):
        score_question(multiple(), "a")
    with pytest.raises(InvalidAnswer, match="Choose options"):
        score_question(multiple(), 7)


@settings(max_examples=200, deadline=None)
@given(picks=st.sets(st.sampled_from("abcde")))
def test_multiple_choice_score_is_between_zero_and_points(picks):
    awarded = score_question(multiple(points="3"), picks).awarded
    assert D(0) <= awarded <= D(3)


# --- true / false ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [(True, "1.00"), ("true", "1.00"), (" TRUE ", "1.00"), (False, "0.00"), ("false", "0.00")],
)
def test_true_false(response, expected):
    assert score_question(true_false(True), response).awarded == D(expected)


def test_true_false_when_answer_is_false():
    assert score_question(true_false(False), False).awarded == D("1.00")
    assert score_question(true_false(False), "true").awarded == D("0.00")


def test_true_false_rejects_other_words():
    with pytest.raises(InvalidAnswer, match="true or false"):
        score_question(true_false(), "maybe")


def test_true_false_definition_needs_truth():
    with pytest.raises(InvalidQuestion):
        Question("x", QuestionKind.TRUE_FALSE, "?")


# --- numeric --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("3.5", "2.00"),
        ("3,5", "2.00"),
        (" 3.6 ", "2.00"),  # on the tolerance edge: inclusive
        ("3.4", "2.00"),
        ("3.61", "0.00"),
        ("3.39", "0.00"),
        ("35e-1", "2.00"),
        ("+3.5", "2.00"),
        (D("3.5"), "2.00"),
        (3, "0.00"),
        ("-3.5", "0.00"),
    ],
)
def test_numeric_with_absolute_tolerance(response, expected):
    assert score_question(numeric(), response).awarded == D(expected)


def test_numeric_exact_when_no_tolerance():
    q = numeric(value="0.3", tolerance="0")
    assert score_question(q, "0.3").correct
    assert score_question(q, ",3").correct
    assert not score_question(q, "0.30000000000000000000000000000000001").correct


def test_numeric_negative_answer_and_unicode_minus():
    q = numeric(value="-12", tolerance="0.5")
    assert score_question(q, "\u221212.4").correct
    assert score_question(q, "-11.5").correct


@pytest.mark.parametrize(
    "raw",
    ["abc", "3.5.1", "1,234.5", "1 000", "NaN", "nan", "inf", "-Infinity", "3,5,", "0x10", "½"],
)
def test_numeric_rejects_non_numbers_with_a_clear_message(raw):
    with pytest.raises(InvalidAnswer) as err:
        score_question(numeric(), raw)
    assert "is not a number" in err.value.message
    assert "3.5 or 3,5" in err.value.message
    assert err.value.question_id == "q4"


@pytest.mark.parametrize(
    "raw", [D("NaN"), D("sNaN"), D("Infinity"), float("nan"), float("inf"), float("-inf")]
)
def test_numeric_refuses_nan_and_infinity_values(raw):
    with pytest.raises(InvalidAnswer, match="finite"):
        parse_number(raw)


def test_numeric_refuses_absurd_magnitudes_and_bools():
    with pytest.raises(InvalidAnswer, match="too large"):
        parse_number("1e999999999")
    with pytest.raises(InvalidAnswer, match="too large"):
        parse_number("1e-40")
    assert parse_number("0e-50") == 0
    with pytest.raises(InvalidAnswer):
        parse_number(True)
    with pytest.raises(InvalidAnswer):
        parse_number(["3"])


def test_numeric_definition_is_validated():
    with pytest.raises(InvalidQuestion, match="tolerance"):
        numeric(tolerance="-1")
    with pytest.raises(InvalidQuestion, match="finite"):
        numeric(value="NaN")
    with pytest.raises(InvalidQuestion, match="Decimal"):
        Question("x", QuestionKind.NUMERIC, "?", value=0.1)
    with pytest.raises(InvalidQuestion, match="needs a value"):
        Question("x", QuestionKind.NUMERIC, "?")


# --- short answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    ["Digital Europe", "digital europe", "  DIGITAL   EUROPE ", "Digital\tEurope", "digital"],
)
def test_short_answer_is_case_and_whitespace_insensitive(response):
    assert score_question(short(), response).correct


def test_short_answer_wrong():
    assert not score_question(short(), "Horizon Europe").correct
    assert not score_question(short(), "DigitalEurope").correct


def test_short_answer_unicode_nfc_and_casefold():
    q = short("Straße", "Café", "София")
    assert score_question(q, "STRASSE").correct  # casefold: ß -> ss
    assert score_question(q, "cafe\u0301").correct  # decomposed é
    assert score_question(q, "СОФИЯ").correct
    assert normalise_text("  A\u00a0 b ") == "a b"


def test_short_answer_rejects_non_text_and_overlong():
    with pytest.raises(InvalidAnswer, match="as text"):
        score_question(short(), 42)
    with pytest.raises(InvalidAnswer, match="too long"):
        score_question(short(), "x" * 501)


def test_short_answer_definition_needs_accepted_answers():
    with pytest.raises(InvalidQuestion):
        Question("x", QuestionKind.SHORT, "?", accepted=("  ",))


# --- unanswered and definitions -------------------------------------------------------------


@pytest.mark.parametrize(
    "question", [single(), multiple(), true_false(), numeric(), short()], ids=lambda q: q.kind
)
@pytest.mark.parametrize("blank", [None, "", "   ", [], set()])
def test_unanswered_scores_zero(question, blank):
    result = score_question(question, blank)
    assert result.awarded == D("0.00")
    assert not result.answered
    assert normalise_response(question, blank) is None


def test_question_points_must_be_positive_decimal():
    with pytest.raises(InvalidQuestion, match="positive"):
        single(points="0")
    with pytest.raises(InvalidQuestion, match="Decimal"):
        Question("x", QuestionKind.TRUE_FALSE, "?", points=1.5, truth=True)
    assert Question("x", QuestionKind.TRUE_FALSE, "?", points=2, truth=True).points == D(2)


# --- attempts -------------------------------------------------------------------------------


def test_attempt_score_is_sum_and_percentage():
    questions = [single(points="1"), multiple(points="3"), numeric(points="2"), short()]
    result = score_attempt(questions, {"q1": "b", "q2": ["a", "b"], "q4": "3,5", "q5": "nope"})
    assert result.possible == D("7")
    assert result.points == D("5.00")
    assert result.percentage == D("71.43")
    assert [s.awarded for s in result.questions] == [D("1.00"), D("2.00"), D("2.00"), D("0.00")]
    assert result.points == sum(s.awarded for s in result.questions)


def test_attempt_rejects_answer_to_a_question_of_another_attempt():
    with pytest.raises(InvalidAnswer, match="not in this attempt") as err:
        score_attempt([single()], {"q1": "b", "other": "x"})
    assert err.value.question_id == "other"


def test_attempt_propagates_invalid_answers():
    with pytest.raises(InvalidAnswer, match="not a number"):
        score_attempt([numeric()], {"q4": "three"})


def test_attempt_needs_questions():
    with pytest.raises(InvalidQuestion):
        score_attempt([], {})


# --- grading methods ------------------------------------------------------------------------

ATTEMPTS = [
    AttemptResult(2, D("80")),
    AttemptResult(1, D("60")),
    AttemptResult(3, D("70")),
    AttemptResult(4, None),  # in progress
]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (GradingMethod.HIGHEST, "80"),
        (GradingMethod.FIRST, "60"),
        (GradingMethod.LAST, "70"),
        (GradingMethod.AVERAGE, "70.00"),
        ("average", "70.00"),
    ],
)
def test_grading_methods_use_graded_attempts_only(method, expected):
    assert final_grade(ATTEMPTS, method) == D(expected)


def test_average_rounds_half_up():
    attempts = [AttemptResult(1, D("0")), AttemptResult(2, D("0")), AttemptResult(3, D("100"))]
    assert final_grade(attempts, GradingMethod.AVERAGE) == D("33.33")
    attempts = [AttemptResult(1, D("66.67")), AttemptResult(2, D("66.66"))]
    assert final_grade(attempts, GradingMethod.AVERAGE) == D("66.67")  # 66.665


def test_no_graded_attempt_gives_no_grade():
    for method in GradingMethod:
        assert final_grade([AttemptResult(1, None)], method) is None
        assert final_grade([], method) is None


# --- timing ---------------------------------------------------------------------------------


def test_attempt_deadline_is_the_earlier_of_limit_and_close():
    assert attempt_deadline(T0, timedelta(minutes=30), None) == T0 + timedelta(minutes=30)
    close = T0 + timedelta(minutes=10)
    assert attempt_deadline(T0, timedelta(minutes=30), close) == close
    assert attempt_deadline(T0, None, close) == close
    assert attempt_deadline(T0, None, None) is None


def test_attempt_deadline_validates():
    with pytest.raises(ValueError, match="positive"):
        attempt_deadline(T0, timedelta(0), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        attempt_deadline(datetime(2025, 3, 1), timedelta(minutes=5), None)


def test_answer_counts_until_deadline_plus_grace_inclusive():
    deadline = T0 + timedelta(minutes=30)
    grace = timedelta(seconds=30)
    assert answer_counts(deadline, deadline, grace)
    assert answer_counts(deadline + grace, deadline, grace)
    assert not answer_counts(deadline + grace + timedelta(microseconds=1), deadline, grace)
    assert not answer_counts(deadline + timedelta(seconds=1), deadline)
    assert answer_counts(T0 + timedelta(days=400), None)


def test_answer_counts_compares_across_time_zones():
    from zoneinfo import ZoneInfo

    sofia = ZoneInfo("Europe/Sofia")
    deadline = datetime(2025, 3, 1, 12, 0, tzinfo=sofia)  # 10:00 UTC
    assert answer_counts(datetime(2025, 3, 1, 10, 0, tzinfo=UTC), deadline)
    assert not answer_counts(datetime(2025, 3, 1, 10, 1, tzinfo=UTC), deadline)


def test_answer_counts_validates():
    with pytest.raises(ValueError, match="grace"):
        answer_counts(T0, T0, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        answer_counts(datetime(2025, 1, 1), T0)


def test_is_open_window():
    close = T0 + timedelta(days=1)
    assert not is_open(T0 - timedelta(seconds=1), T0, close)
    assert is_open(T0, T0, close)
    assert not is_open(close, T0, close)
    assert is_open(T0, None, None)


def test_attempts_left():
    assert attempts_left(0, 3) == 3
    assert attempts_left(3, 3) == 0
    assert attempts_left(5, 3) == 0
    assert attempts_left(10, None) is None


# --- shuffling ------------------------------------------------------------------------------


def test_shuffled_is_deterministic_per_seed_and_a_permutation():
    items = list(range(20))
    first = shuffled(items, 1234)
    assert first == shuffled(items, 1234)
    assert sorted(first) == items
    assert first != items
    assert shuffled(items, 1235) != first
    assert items == list(range(20))  # input untouched


def test_shuffled_is_the_same_in_another_process():
    code = (
        "from courses.assessments.scoring import shuffled;"
        "print(shuffled(range(10), 'attempt-7:q1'))"
    )
    outputs = {
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {str(shuffled(range(10), "attempt-7:q1")) + "\n"}


# --- what reaches the browser ---------------------------------------------------------------

SECRET_ANSWERS = ("xyzzy-accepted-one", "plugh-accepted-two")


def _all_questions():
    return [
        single(),
        multiple(),
        true_false(),
        numeric(value="987654.321", tolerance="0.0042"),
        short(*SECRET_ANSWERS),
    ]


@pytest.mark.parametrize("question", _all_questions(), ids=lambda q: q.kind)
def test_public_question_never_includes_the_key(question):
    public = public_question(question, seed=99)
    blob = json.dumps(public)
    assert set(public) <= {"id", "kind", "text", "points", "options"}
    assert "correct" not in blob
    assert "truth" not in blob
    assert "accepted" not in blob
    assert "tolerance" not in blob
    assert "987654" not in blob
    assert "0.0042" not in blob
    for secret in SECRET_ANSWERS:
        assert secret not in blob
    for option in public.get("options", []):
        assert set(option) == {"id", "text"}


def test_public_question_keeps_what_is_needed_to_answer():
    public = public_question(multiple())
    assert public["kind"] == "multiple"
    assert [o["id"] for o in public["options"]] == ["a", "b", "c", "d", "e"]
    assert public["points"] == "3"


def test_public_question_shuffles_options_by_attempt_seed():
    q = multiple()
    ids = [o["id"] for o in public_question(q, seed=7)["options"]]
    assert ids == [o["id"] for o in public_question(q, seed=7)["options"]]
    assert ids == [o.id for o in shuffled(q.options, option_seed(7, q.id))]
    assert sorted(ids) == ["a", "b", "c", "d", "e"]
