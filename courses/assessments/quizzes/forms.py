"""Forms for question banks and quiz settings, and reading answers from a posted attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes.models import FeedbackTiming, Question
from courses.assessments.scoring import GradingMethod, QuestionKind
from lms.forms import strip

OPTION_ROWS = 6

KIND_LABELS = {
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
    QuestionKind.TRUE_FALSE: _l("True or false"),
    QuestionKind.NUMERIC: _l("Numeric"),
    QuestionKind.SHORT: _l("Short answer"),
}
GRADING_LABELS = {
    GradingMethod.HIGHEST: _l("Highest attempt"),
    GradingMethod.LAST: _l("Last attempt"),
    GradingMethod.FIRST: _l("First attempt"),
    GradingMethod.AVERAGE: _l("Average of attempts"),
}
FEEDBACK_LABELS = {
    FeedbackTiming.AFTER_SUBMISSION: _l("Right after the attempt is graded"),
    FeedbackTiming.AFTER_CLOSE: _l("After the quiz closes"),
}


def to_utc(local: datetime | None) -> datetime | None:
    """Read a date and time typed in the centre's time zone as UTC."""
    if local is None:
        return None
    zone = get_timezone()
    aware = zone.localize(local) if hasattr(zone, "localize") else local.replace(tzinfo=zone)
    return aware.astimezone(UTC)


def to_local(moment: datetime | None) -> datetime | None:
    """Show a UTC moment as a date and time in the centre's time zone."""
    if moment is None:
        return None
    return moment.astimezone(get_timezone()).replace(tzinfo=None)


# --- questions ---------------------------------------------------------------


class OptionEntry(Form):
    """One option row; rows left blank are ignored."""

    text_en = StringField(
        _l("Option (English)"), [Optional(), Length(max=ops.OPTION_MAX)], filters=[strip]
    )
    text_bg = StringField(
        _l("Option (Bulgarian)"), [Optional(), Length(max=ops.OPTION_MAX)], filters=[strip]
    )
    correct = BooleanField(_l("Correct"))


class QuestionForm(FlaskForm):
    """Add or edit a bank question; which fields count depends on the question's kind."""

    text_en = TextAreaField(
        _l("Question (English)"),
        [DataRequired(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    text_bg = TextAreaField(
        _l("Question (Bulgarian)"),
        [Optional(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    points = DecimalField(
        _l("Points"),
        [InputRequired(), NumberRange(min=Decimal("0.01"), max=ops.POINTS_MAX)],
        default=Decimal(1),
    )
    options = FieldList(FormField(OptionEntry), label=_l("Options"), min_entries=OPTION_ROWS)
    truth = RadioField(
        _l("The statement is"),
        choices=[SelectChoice("true", _l("True")), SelectChoice("false", _l("False"))],
        validators=[Optional()],
    )
    value = DecimalField(_l("Correct value"), [Optional()])
    tolerance = DecimalField(
        _l("Tolerance (±)"),
        [Optional(), NumberRange(min=0)],
        default=Decimal(0),
        description=_l("Answers this far from the value, or closer, are correct."),
    )
    accepted = TextAreaField(
        _l("Accepted answers"),
        [Optional(), Length(max=ops.ACCEPTED_MAX * 20)],
        description=_l("One per line. Case and extra spaces do not matter."),
        render_kw={"rows": 3},
    )
    feedback_en = TextAreaField(
        _l("Feedback (English)"),
        [Optional(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        description=_l("Shown with the correct answer when feedback is released."),
        render_kw={"rows": 2},
    )
    feedback_bg = TextAreaField(
        _l("Feedback (Bulgarian)"),
        [Optional(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        render_kw={"rows": 2},
    )

    def __init__(self, kind: QuestionKind | str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = QuestionKind(kind)
        while len(self.options) < OPTION_ROWS:
            self.options.append_entry()

    @classmethod
    def for_question(cls, question: Question) -> QuestionForm:
        """Return the form filled from a bank question (on GET)."""
        form = cls(question.kind, obj=question)
        if not form.is_submitted():
            form.truth.data = None if question.truth is None else str(question.truth).lower()
            form.accepted.data = "\n".join(question.accepted or [])
            for entry, option in zip(form.options, question.options, strict=False):
                entry.form.text_en.data = option.text_en
                entry.form.text_bg.data = option.text_bg
                entry.form.correct.data = option.correct
        return form

    def accepted_answers(self) -> list[str]:
        return [line.strip() for line in (self.accepted.data or "").splitlines() if line.strip()]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        kind = self.kind
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            filled = [e.form for e in self.options if e.form.text_en.data]
            stray = [
                e.form for e in self.options if not e.form.text_en.data and e.form.correct.data
            ]
            correct = sum(bool(f.correct.data) for f in filled)
            message = None
            if stray:
                message = _l("An option marked correct needs its English text.")
            elif len(filled) < 2:
                message = _l("Write at least two options.")
            elif len(filled) > ops.MAX_OPTIONS:
                message = _l("A question has at most %(max)s options.", max=ops.MAX_OPTIONS)
            elif kind is QuestionKind.SINGLE and correct != 1:
                message = _l("A single-choice question needs exactly one correct option.")
            elif kind is QuestionKind.MULTIPLE and correct < 1:
                message = _l("Mark at least one option as correct.")
            if message:
                self.options.errors = [
                    *self.options.errors,
                    str(message),
                ]  # str: the template tells it from row errors
                valid = False
        elif kind is QuestionKind.TRUE_FALSE and self.truth.data not in ("true", "false"):
            self.truth.errors = [*self.truth.errors, _l("Choose true or false.")]
            valid = False
        elif kind is QuestionKind.NUMERIC and self.value.data is None and not self.value.errors:
            self.value.errors = [*self.value.errors, _l("Enter the correct value.")]
            valid = False
        elif kind is QuestionKind.SHORT:
            answers = self.accepted_answers()
            if not answers:
                self.accepted.errors = [*self.accepted.errors, _l("Enter at least one answer.")]
                valid = False
            elif any(len(a) > ops.ACCEPTED_MAX for a in answers):
                self.accepted.errors = [
                    *self.accepted.errors,
                    _l("Each answer has at most %(max)s characters.", max=ops.ACCEPTED_MAX),
                ]
                valid = False
        return valid

    def to_data(self) -> ops.QuestionData:
        return ops.QuestionData(
            kind=self.kind,
            text_en=self.text_en.data or "",
            text_bg=self.text_bg.data or "",
            points=self.points.data,
            feedback_en=self.feedback_en.data or "",
            feedback_bg=self.feedback_bg.data or "",
            options=[
                ops.OptionData(e.form.text_en.data, e.form.text_bg.data or "", e.form.correct.data)
                for e in self.options
                if e.form.text_en.data
            ],
            truth={"true": True, "false": False}.get(self.truth.data),
            value=self.value.data,
            tolerance=self.tolerance.data,
            accepted=self.accepted_answers(),
        )


# --- quizzes -----------------------------------------------------------------


class QuizForm(FlaskForm):
    """Create or edit a quiz: its gradebook column and its settings."""

    title_en = StringField(
        _l("Title (English)"), [DataRequired(), Length(max=ops.TITLE_MAX)], filters=[strip]
    )
    title_bg = StringField(
        _l("Title (Bulgarian)"), [Optional(), Length(max=ops.TITLE_MAX)], filters=[strip]
    )
    description_en = TextAreaField(
        _l("Instructions (English)"),
        [Optional(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    description_bg = TextAreaField(
        _l("Instructions (Bulgarian)"),
        [Optional(), Length(max=ops.TEXT_MAX)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    category_id = SelectField(_l("Grade category"), coerce=int, default=0)
    max_points = DecimalField(
        _l("Points in the gradebook"),
        [InputRequired(), NumberRange(min=Decimal("0.01"), max=ops.POINTS_MAX)],
        default=Decimal(100),
    )
    pass_percent = DecimalField(
        _l("Pass mark (%)"),
        [Optional(), NumberRange(min=0, max=100)],
        description=_l("Leave empty if the quiz has no pass mark."),
    )
    required = BooleanField(_l("Must be passed to complete the course"))
    attempt_limit = IntegerField(
        _l("Attempts allowed"),
        [Optional(), NumberRange(min=1, max=ops.ATTEMPT_LIMIT_MAX)],
        description=_l("Leave empty for no limit."),
    )
    opens_at = DateTimeLocalField(
        _l("Opens"), [Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )
    closes_at = DateTimeLocalField(
        _l("Closes"), [Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )
    time_limit_minutes = IntegerField(
        _l("Time limit (minutes)"),
        [Optional(), NumberRange(min=1, max=ops.TIME_LIMIT_MAX)],
        description=_l("Leave empty for no time limit."),
    )
    grading_method = SelectField(
        _l("Grade from"),
        choices=[SelectChoice(str(k), v) for k, v in GRADING_LABELS.items()],
        default=str(GradingMethod.HIGHEST),
    )
    feedback = SelectField(
        _l("Show correct answers and feedback"),
        choices=[SelectChoice(str(k), v) for k, v in FEEDBACK_LABELS.items()],
        default=str(FeedbackTiming.AFTER_SUBMISSION),
    )
    shuffle_questions = BooleanField(_l("Shuffle the questions in each attempt"))
    shuffle_options = BooleanField(_l("Shuffle the options in each attempt"))

    def __init__(self, categories: Sequence = (), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = [SelectChoice(0, _l("No category"))] + [
            SelectChoice(c.id, c.tr("name")) for c in categories
        ]

    def fill(self, quiz) -> None:
        """Fill the form from a quiz (on GET)."""
        a = quiz.assessment
        for name in ("title_en", "title_bg", "description_en", "description_bg"):
            getattr(self, name).data = getattr(a, name)
        self.category_id.data = a.category_id or 0
        self.max_points.data = a.max_points
        self.pass_percent.data = a.pass_percent
        self.required.data = a.required
        self.attempt_limit.data = quiz.attempt_limit
        self.opens_at.data = to_local(quiz.opens_at)
        self.closes_at.data = to_local(quiz.closes_at)
        self.time_limit_minutes.data = quiz.time_limit_minutes
        self.grading_method.data = quiz.grading_method
        self.feedback.data = quiz.feedback
        self.shuffle_questions.data = quiz.shuffle_questions
        self.shuffle_options.data = quiz.shuffle_options

    def validate_closes_at(self, field) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The quiz must close after it opens."))

    def validate_feedback(self, field) -> None:
        if field.data == FeedbackTiming.AFTER_CLOSE and not self.closes_at.data:
            raise ValidationError(_l("Feedback after the quiz closes needs a closing date."))

    def to_settings(self) -> ops.QuizSettings:
        return ops.QuizSettings(
            title_en=self.title_en.data,
            title_bg=self.title_bg.data or "",
            description_en=self.description_en.data or "",
            description_bg=self.description_bg.data or "",
            category_id=self.category_id.data or None,
            max_points=self.max_points.data,
            pass_percent=self.pass_percent.data,
            required=self.required.data,
            attempt_limit=self.attempt_limit.data,
            opens_at=to_utc(self.opens_at.data),
            closes_at=to_utc(self.closes_at.data),
            time_limit_minutes=self.time_limit_minutes.data,
            grading_method=GradingMethod(self.grading_method.data),
            feedback=FeedbackTiming(self.feedback.data),
            shuffle_questions=self.shuffle_questions.data,
            shuffle_options=self.shuffle_options.data,
        )


class PositionEntry(Form):
    """A bank question and its position in the quiz (empty: not in the quiz)."""

    question_id = HiddenField()
    position = IntegerField(
        _l("Position"), [Optional(), NumberRange(min=1, max=1000)], render_kw={"min": 1}
    )


class QuizQuestionsForm(FlaskForm):
    """Choose and order a quiz's questions by giving each chosen one a position."""

    entries = FieldList(FormField(PositionEntry), label=_l("Questions"))

    def __init__(self, allowed_ids: Sequence[int] = (), *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_ids = {str(i) for i in allowed_ids}

    def validate_entries(self, field) -> None:
        seen: set[int] = set()
        for entry in field:
            if entry.form.question_id.data not in self.allowed_ids:
                raise ValidationError(str(_l("Choose questions from this course's bank.")))
            position = entry.form.position.data
            if position is None:
                continue
            if position in seen:
                raise ValidationError(str(_l("Give each chosen question its own position.")))
            seen.add(position)

    def ordered_ids(self) -> list[int]:
        chosen = [
            (e.form.position.data, int(e.form.question_id.data))
            for e in self.entries
            if e.form.position.data is not None
        ]
        return [question_id for _position, question_id in sorted(chosen)]


class PublishForm(FlaskForm):
    """Publish or unpublish a quiz (CSRF and the wanted state)."""

    published = HiddenField(validators=[DataRequired()])


# --- answers -----------------------------------------------------------------


def field_name(question_id: int) -> str:
    return f"q{question_id}"


def responses_from_form(
    formdata: MultiDict, questions: Sequence[Question], *, only: int | None = None
) -> dict[int, Any]:
    """Read the answers in a posted attempt form, by question id.

    Every ``q<id>`` field must belong to one of ``questions`` (the attempt's);
    a field for any other question raises ops.AnswerRefused, so nothing is saved.
    With ``only``, just that question's answer is read (an autosave).
    """
    by_id = {q.id: q for q in questions}
    for name in formdata:
        if name.startswith("q") and name[1:].isdigit() and int(name[1:]) not in by_id:
            raise ops.AnswerRefused(
                _l(
                    "An answer was sent for a question that is not part of this attempt. "
                    "Nothing was saved."
                )
            )
    if only is not None:
        if only not in by_id:
            raise ops.AnswerRefused(
                _l(
                    "An answer was sent for a question that is not part of this attempt. "
                    "Nothing was saved."
                )
            )
        by_id = {only: by_id[only]}
    responses: dict[int, Any] = {}
    for question_id, question in by_id.items():
        name = field_name(question_id)
        if question.kind == QuestionKind.MULTIPLE:
            responses[question_id] = [v for v in formdata.getlist(name) if v]
        else:
            responses[question_id] = formdata.get(name)
    return responses
