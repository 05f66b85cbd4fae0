"""Studying over the API: lesson progress, quiz attempts and assignment submissions."""

from __future__ import annotations

import math

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload

from courses.access import study_course
from courses.assessments import scoring
from courses.assessments.assignments import operations as assignment_ops
from courses.assessments.assignments import queries as assignment_queries
from courses.assessments.assignments import storage
from courses.assessments.assignments.models import MarkingStatus, Submission
from courses.assessments.models import Assessment, AssessmentKind
from courses.assessments.quizzes import operations as quiz_ops
from courses.assessments.quizzes import queries as quiz_queries
from courses.assessments.quizzes.models import Attempt, AttemptStatus, Quiz
from courses.enrolment import operations as enrolment_ops
from courses.enrolment import queries as enrolment_queries
from courses.models import Course, Lesson
from courses.permissions import can_manage_course, can_view_course
from lms import web
from lms.api import ApiSchema, abort, api_blueprint, current_api_user, idempotent, require_scope
from lms.api.loading import MAX_ID, load
from lms.db import utcnow
from lms.extensions import db
from lms.permissions import require

bp = api_blueprint(
    "api_learning", __name__, description="Lesson progress, quiz attempts and assignment work"
)

DECIMAL = {"description": 'A decimal number written as a string, e.g. "9.60"'}


def _decimal(value) -> str | None:
    return None if value is None else str(value)


# --- lesson progress -------------------------------------------------------------------------


class LessonStateLinksSchema(ApiSchema):
    done = ma.fields.String(
        required=True, metadata={"description": "PUT marks done, DELETE not done"}
    )
    page = ma.fields.String(required=True)


class LessonStateSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    module = ma.fields.String(required=True)
    required = ma.fields.Boolean(required=True)
    workload_minutes = ma.fields.Integer(required=True)
    done = ma.fields.Boolean(required=True)
    links = ma.fields.Nested(LessonStateLinksSchema, required=True)


class ProgressLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)


class CourseProgressSchema(ApiSchema):
    course_code = ma.fields.String(required=True)
    required_done = ma.fields.Integer(required=True)
    required_total = ma.fields.Integer(required=True)
    percent = ma.fields.Integer(required=True)
    lessons = ma.fields.List(ma.fields.Nested(LessonStateSchema), required=True)
    links = ma.fields.Nested(ProgressLinksSchema, required=True)


def _lesson_state(course: Course, lesson: Lesson, done: bool) -> dict:
    return {
        "id": lesson.id,
        "title": lesson.tr("title"),
        "module": lesson.module.tr("title"),
        "required": lesson.required,
        "workload_minutes": lesson.workload_minutes,
        "done": done,
        "links": {
            "done": url_for("api_learning.lesson_done", code=course.code, lesson_id=lesson.id),
            "page": url_for("enrolment.lesson", code=course.code, lesson_id=lesson.id),
        },
    }


@bp.route("/courses/<code>/progress")
@require_scope("read", "learn")
@bp.response(200, CourseProgressSchema)
@bp.alt_response(404, response="NOT_FOUND")
def course_progress(code: str):
    """Return the token user's lessons of a course in study order, each done or not."""
    course = study_course(code, current_api_user)
    outline = enrolment_queries.course_outline(course)
    done = enrolment_queries.done_lesson_ids(current_api_user, [lesson.id for lesson in outline])
    required = [lesson for lesson in outline if lesson.required]
    required_done = sum(1 for lesson in required if lesson.id in done)
    return {
        "course_code": course.code,
        "required_done": required_done,
        "required_total": len(required),
        "percent": enrolment_queries.percent(required_done, len(required)),
        "lessons": [_lesson_state(course, lesson, lesson.id in done) for lesson in outline],
        "links": {"self": url_for("api_learning.course_progress", code=course.code)},
    }


def _set_done(code: str, lesson_id: int, done: bool) -> dict:
    course = study_course(code, current_api_user)
    lesson = load(Lesson, lesson_id)
    if lesson is None or lesson.module.course_id != course.id or not lesson.published:
        abort(404, "This course has no lesson with this id.")
    if done:
        enrolment_ops.mark_lesson_done(current_api_user, lesson, actor=current_api_user)
    else:
        enrolment_ops.mark_lesson_not_done(current_api_user, lesson, actor=current_api_user)
    return _lesson_state(course, lesson, done)


@bp.route("/courses/<code>/lessons/<int:lesson_id>/done", methods=["PUT"])
@require_scope("learn")
@bp.response(200, LessonStateSchema)
@bp.alt_response(404, response="NOT_FOUND")
def lesson_done(code: str, lesson_id: int):
    """Mark a lesson done (doing it again changes nothing)."""
    return _set_done(code, lesson_id, True)


@bp.route("/courses/<code>/lessons/<int:lesson_id>/done", methods=["DELETE"])
@require_scope("learn")
@bp.response(200, LessonStateSchema)
@bp.alt_response(404, response="NOT_FOUND")
def lesson_not_done(code: str, lesson_id: int):
    """Mark a lesson not done (doing it again changes nothing)."""
    return _set_done(code, lesson_id, False)


# --- quiz attempts ---------------------------------------------------------------------------

ANSWER_TYPES = {
    "anyOf": [
        {"type": "string", "maxLength": scoring.MAX_RESPONSE_LENGTH},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        {"type": "null"},
    ],
    "description": (
        "single choice: an option id; multiple choice: a list of option ids; "
        "true/false: a boolean; numeric: a number or its text; short answer: text; "
        "null clears the answer"
    ),
}


class AnswerValue(ma.fields.Field):
    """An answer as JSON: text, a number, a boolean, a list of option ids, or null."""

    default_error_messages = {
        "invalid": "Send text, a number, a boolean or a list of option ids.",
        "too_long": "The answer is too long.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise self.make_error("invalid")
            return str(value)
        if isinstance(value, str):
            if len(value) > scoring.MAX_RESPONSE_LENGTH:
                raise self.make_error("too_long")
            return value
        if isinstance(value, list):
            if len(value) > 50:
                raise self.make_error("too_long")
            items = []
            for item in value:
                if isinstance(item, bool) or not isinstance(item, str | int):
                    raise self.make_error("invalid")
                items.append(str(item)[: scoring.MAX_RESPONSE_LENGTH])
            return items
        raise self.make_error("invalid")


class AnswerInSchema(ApiSchema):
    question_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_ID))
    response = AnswerValue(required=True, allow_none=True, metadata=ANSWER_TYPES)


class SaveAnswersSchema(ApiSchema):
    answers = ma.fields.List(
        ma.fields.Nested(AnswerInSchema), required=True, validate=ma.validate.Length(max=200)
    )


class OptionSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    text = ma.fields.String(required=True)


class QuestionSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(
        required=True, metadata={"enum": [str(k) for k in scoring.QuestionKind]}
    )
    text = ma.fields.String(required=True)
    points = ma.fields.String(required=True, metadata=DECIMAL)
    options = ma.fields.List(ma.fields.Nested(OptionSchema))


class AnswerOutSchema(ApiSchema):
    question_id = ma.fields.Integer(required=True)
    response = ma.fields.Raw(required=True, allow_none=True, metadata=ANSWER_TYPES)
    warning = ma.fields.String(required=True, allow_none=True)
    awarded = ma.fields.String(
        required=True, allow_none=True, metadata={**DECIMAL, "description": "Points, once graded"}
    )


class AttemptLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    answers = ma.fields.String(required=True)
    submit = ma.fields.String(required=True)
    quiz = ma.fields.String(required=True)


class AttemptSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    quiz_id = ma.fields.Integer(required=True)
    number = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"enum": [str(s) for s in AttemptStatus]})
    started_at = ma.fields.DateTime(required=True)
    deadline = ma.fields.DateTime(required=True, allow_none=True)
    submitted_at = ma.fields.DateTime(required=True, allow_none=True)
    points = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    possible = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    score = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={**DECIMAL, "description": "Percentage, once graded"},
    )
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema), required=True)
    answers = ma.fields.List(ma.fields.Nested(AnswerOutSchema), required=True)
    links = ma.fields.Nested(AttemptLinksSchema, required=True)


class AttemptListSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(AttemptSchema), required=True)


class SavedSchema(ApiSchema):
    saved = ma.fields.Integer(required=True, metadata={"description": "Answers received"})
    warnings = ma.fields.List(ma.fields.Nested(AnswerOutSchema), required=True)
    attempt = ma.fields.Nested(AttemptSchema, required=True)


def serialise_attempt(attempt: Attempt) -> dict:
    """Return an attempt as its trainee may see it: never a correct answer or the key."""
    questions = quiz_ops.attempt_questions(attempt)
    scored = [quiz_ops.scoring_question(q) for q in questions]
    seed = attempt.seed if attempt.quiz.shuffle_options else None
    answers = quiz_queries.attempt_answers(attempt)
    answer_rows = []
    for question in scored:
        answer = answers.get(int(question.id))
        if answer is None:
            continue
        warning = None
        try:
            scoring.normalise_response(question, answer.response)
        except scoring.InvalidAnswer as error:
            warning = str(error.message)
        answer_rows.append(
            {
                "question_id": int(question.id),
                "response": answer.response,
                "warning": warning,
                "awarded": _decimal(answer.awarded) if attempt.graded else None,
            }
        )
    return {
        "id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "number": attempt.number,
        "status": str(attempt.status),
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "points": _decimal(attempt.points),
        "possible": _decimal(attempt.possible),
        "score": _decimal(attempt.score),
        "questions": [scoring.public_question(q, seed) for q in scored],
        "answers": answer_rows,
        "links": {
            "self": url_for("api_learning.attempt", attempt_id=attempt.id),
            "answers": url_for("api_learning.save_answers", attempt_id=attempt.id),
            "submit": url_for("api_learning.submit_attempt", attempt_id=attempt.id),
            "quiz": url_for(
                "quizzes.quiz", code=attempt.quiz.assessment.course.code, quiz_id=attempt.quiz_id
            ),
        },
    }


def _takeable_quiz(quiz_id: int) -> Quiz:
    """Load a quiz as the quiz page does: hidden ones 404, others need an active place (403)."""
    quiz = load(Quiz, quiz_id)
    if quiz is None:
        abort(404, "No quiz has this id.")
    course = quiz.assessment.course
    staff = can_manage_course(current_api_user, course)
    if not can_view_course(current_api_user, course) or (
        not staff and not quiz.assessment.published
    ):
        abort(404, "No quiz has this id.")
    require(quiz_queries.can_take(current_api_user, quiz))
    return quiz


def _own_attempt(attempt_id: int) -> Attempt:
    """Load an attempt of the token user; anyone else's is 404, as if it did not exist."""
    attempt = load(Attempt, attempt_id)
    if (
        attempt is None
        or attempt.user_id != current_api_user.id
        or not attempt.quiz.assessment.published
        or not can_view_course(current_api_user, attempt.quiz.assessment.course)
    ):
        abort(404, "You have no quiz attempt with this id.")
    return attempt


@bp.route("/quizzes/<int:quiz_id>/attempts")
@require_scope("read", "learn")
@bp.response(200, AttemptListSchema)
@bp.alt_response(404, response="NOT_FOUND")
def my_attempts(quiz_id: int):
    """List the token user's attempts at a quiz, by number."""
    quiz = _takeable_quiz(quiz_id)
    attempts = quiz_queries.user_attempts(quiz, current_api_user)
    quiz_ops.show_as_expired(attempts)
    return {"items": [serialise_attempt(a) for a in attempts]}


@bp.route("/quizzes/<int:quiz_id>/attempts", methods=["POST"])
@require_scope("learn")
@idempotent
@bp.response(201, AttemptSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def start_attempt(quiz_id: int):
    """Start the next attempt, or return the one in progress (with its questions, no answers)."""
    quiz = _takeable_quiz(quiz_id)
    try:
        attempt = quiz_ops.start_attempt(quiz, current_api_user, actor=current_api_user)
    except quiz_ops.QuizError as error:
        abort(409, str(error))
    location = url_for(".attempt", attempt_id=attempt.id)
    return serialise_attempt(attempt), 201, {"Location": location}


@bp.route("/quiz-attempts/<int:attempt_id>")
@require_scope("read", "learn")
@bp.response(200, AttemptSchema)
@bp.alt_response(404, response="NOT_FOUND")
def attempt(attempt_id: int):
    """Return one of the token user's attempts; past its deadline it shows as graded."""
    attempt = _own_attempt(attempt_id)
    quiz_ops.show_as_expired([attempt])
    return serialise_attempt(attempt)


def _closed(error: Exception):
    # Keep the grading an expired attempt received before saying no. Its own commit:
    # the 409 is raised (the problem document, and an idempotency key released), and
    # a raised error rolls the request back.
    db.session.commit()
    abort(409, str(error))


@bp.route("/quiz-attempts/<int:attempt_id>/answers", methods=["PUT"])
@require_scope("learn")
@bp.arguments(SaveAnswersSchema)
@bp.response(200, SavedSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def save_answers(data, attempt_id: int):
    """Save answers by question id; any answer that cannot belong to its question saves nothing."""
    attempt = _own_attempt(attempt_id)
    responses = {}
    for item in data["answers"]:
        responses[item["question_id"]] = item["response"]
    try:
        warnings = quiz_ops.save_answers(attempt, responses, actor=current_api_user, now=utcnow())
    except quiz_ops.AttemptClosed as error:
        _closed(error)
    except quiz_ops.QuizError as error:
        abort(422, str(error), errors=[{"field": "answers", "message": str(error)}])
    body = serialise_attempt(attempt)
    return {
        "saved": len(responses),
        "warnings": [a for a in body["answers"] if a["question_id"] in warnings],
        "attempt": body,
    }


@bp.route("/quiz-attempts/<int:attempt_id>/submit", methods=["POST"])
@require_scope("learn")
@bp.response(200, AttemptSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def submit_attempt(attempt_id: int):
    """Submit the attempt; the server grades it once and returns the score."""
    attempt = _own_attempt(attempt_id)
    try:
        quiz_ops.submit_attempt(attempt, actor=current_api_user)
    except quiz_ops.AttemptClosed as error:
        _closed(error)
    return serialise_attempt(attempt)


# --- assignment submissions ------------------------------------------------------------------


class SubmissionInSchema(ApiSchema):
    text = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=assignment_ops.MAX_TEXT_LENGTH),
    )


class SubmissionLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    assignment = ma.fields.String(required=True)


class SubmissionSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    assignment_id = ma.fields.Integer(required=True)
    attempt = ma.fields.Integer(required=True)
    text = ma.fields.String(required=True)
    files = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "File names"}
    )
    submitted_at = ma.fields.DateTime(required=True)
    days_late = ma.fields.Integer(required=True)
    released = ma.fields.Boolean(required=True, metadata={"description": "Marks released"})
    points = ma.fields.String(required=True, allow_none=True, metadata=DECIMAL)
    feedback = ma.fields.String(required=True, allow_none=True)
    links = ma.fields.Nested(SubmissionLinksSchema, required=True)


class SubmissionListSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(SubmissionSchema), required=True)


def serialise_submission(submission: Submission, course: Course) -> dict:
    """Return a submission as its trainee sees it: marks only once released."""
    released = submission.marking_status == MarkingStatus.RELEASED
    return {
        "id": submission.id,
        "assignment_id": submission.assignment.assessment_id,
        "attempt": submission.attempt,
        "text": submission.text,
        "files": [f.original_name for f in submission.files],
        "submitted_at": submission.submitted_at,
        "days_late": submission.days_late,
        "released": released,
        "points": _decimal(submission.points) if released else None,
        "feedback": submission.feedback if released else None,
        "links": {
            "self": url_for(
                "api_learning.my_submissions", assessment_id=submission.assignment.assessment_id
            ),
            "assignment": url_for(
                "assignments.detail",
                code=course.code,
                assessment_id=submission.assignment.assessment_id,
            ),
        },
    }


def _study_assignment(assessment_id: int):
    """Load an assignment as its page does: staff, or trainees who may study the course."""
    assessment = load(Assessment, assessment_id)
    if assessment is None or assessment.kind != AssessmentKind.ASSIGNMENT:
        abort(404, "No assignment has this id.")
    course = assessment.course
    staff = can_manage_course(current_api_user, course)
    require(staff or enrolment_queries.can_study(current_api_user, course))
    assignment = assignment_queries.assignment_or_404(course, assessment_id)
    if not staff and not assessment.published:
        abort(404, "No assignment has this id.")
    return course, assignment


@bp.route("/assignments/<int:assessment_id>/submissions")
@require_scope("read", "learn")
@bp.response(200, SubmissionListSchema)
@bp.alt_response(404, response="NOT_FOUND")
def my_submissions(assessment_id: int):
    """List the token user's submissions to an assignment, newest first."""
    course, assignment = _study_assignment(assessment_id)
    rows = assignment_queries.my_submissions(assignment, current_api_user)
    return {"items": [serialise_submission(s, course) for s in rows]}


@bp.route("/assignments/<int:assessment_id>/submissions", methods=["POST"])
@require_scope("learn")
@idempotent
@bp.arguments(SubmissionInSchema)
@bp.response(201, SubmissionSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def submit(data, assessment_id: int):
    """Hand in a text as the next attempt (files: use the assignment page)."""
    course, assignment = _study_assignment(assessment_id)
    refusal = assignment_ops.submission_refusal(assignment, current_api_user)
    if refusal:
        abort(409, refusal)
    try:
        submission = assignment_ops.submit(
            assignment, current_api_user, text=data["text"], actor=current_api_user
        )
    except assignment_ops.AssignmentError as error:
        abort(422, str(error), errors=[{"field": "text", "message": str(error)}])
    return serialise_submission(submission, course), 201


class FileUploadSchema(ApiSchema):
    file = Upload(required=True, metadata={"description": "The file to hand in"})


@bp.route("/assignments/<int:assessment_id>/submissions/file", methods=["POST"])
@require_scope("learn")
@idempotent
@bp.arguments(FileUploadSchema, location="files")
@bp.response(201, SubmissionSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
def submit_file(files, assessment_id: int):
    """Hand in a file (multipart/form-data, field ``file``) as the next attempt."""
    course, assignment = _study_assignment(assessment_id)
    refusal = assignment_ops.submission_refusal(assignment, current_api_user)
    if refusal:
        abort(409, refusal)
    if not assignment.allow_files:
        message = "This assignment accepts text only, not files."
        abort(422, message, errors=[{"field": "file", "message": message}])
    upload = files["file"]
    stored: list[storage.StoredFile] = []
    try:
        stored.append(
            storage.receive(
                upload.stream,
                upload.filename,
                allowed=assignment.type_keys,
                max_bytes=assignment.max_file_bytes,
            )
        )
        submission = assignment_ops.submit(
            assignment, current_api_user, files=stored, actor=current_api_user
        )
        db.session.flush()  # constraints checked here, before the file goes to the store
        storage.keep(stored)  # written before the rows commit (after the view)
    except (storage.UploadRefused, assignment_ops.AssignmentError) as error:
        web.refuse()
        abort(422, str(error), errors=[{"field": "file", "message": str(error)}])
    except BaseException:
        web.refuse()
        raise
    finally:
        storage.discard(stored)
    return serialise_submission(submission, course), 201
