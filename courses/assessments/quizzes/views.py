"""Question banks and quiz authoring for course staff; quiz taking for enrolled trainees."""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

import courses.assessments.models as assessment_models
from courses.access import staff_course, visible_course
from courses.assessments import scoring
from courses.assessments.queries import quizzes_and_assignments
from courses.assessments.quizzes import operations as ops
from courses.assessments.quizzes import queries
from courses.assessments.quizzes.forms import (
    FEEDBACK_LABELS,
    GRADING_LABELS,
    KIND_LABELS,
    PublishForm,
    QuestionForm,
    QuizForm,
    QuizQuestionsForm,
    field_name,
    responses_from_form,
)
from courses.assessments.quizzes.models import Attempt, AttemptStatus, Quiz
from courses.assessments.scoring import QuestionKind
from courses.enrolment.queries import has_active_enrolment
from courses.models import Course, CourseState
from courses.permissions import can_manage_course, can_view_course
from lms import web
from lms.db import utcnow
from lms.extensions import db
from lms.permissions import require

bp = Blueprint(
    "quizzes",
    __name__,
    template_folder="../../templates",
    static_folder="static",
    static_url_path="/static/quizzes",
)


@bp.app_context_processor
def section_helpers():
    """Let course pages include ``quizzes/_course_section.html``; format numbers."""
    return {"quiz_section": _course_section, "fmt_number": _number}


def _number(value) -> str:
    """Format a number in the current locale without trailing zeros (1, 2.5, 0.25)."""
    if value is None:
        return ""
    return format_decimal(Decimal(str(value)).normalize(), format="#,##0.##########")


def _course_section(course: Course) -> dict:
    staff = can_manage_course(current_user, course)
    if staff:
        return {"staff": True, "quizzes": quizzes_and_assignments(course, published_only=False)[0]}
    # The published quizzes, for those who may take them (asked before loading them).
    if course.state == CourseState.DRAFT or not has_active_enrolment(current_user, course):
        return {"staff": False, "quizzes": []}
    return {"staff": False, "quizzes": quizzes_and_assignments(course, published_only=True)[0]}


def _me():
    return current_user._get_current_object()


def _labels() -> dict:
    return {
        "kind_labels": KIND_LABELS,
        "grading_labels": GRADING_LABELS,
        "feedback_labels": FEEDBACK_LABELS,
    }


def _fail(error: Exception) -> None:
    web.refuse()
    flash(str(error), "danger")


def _categories(course: Course):
    return db.session.scalars(
        db.select(assessment_models.GradeCategory)
        .where(assessment_models.GradeCategory.course_id == course.id)
        .order_by(assessment_models.GradeCategory.position, assessment_models.GradeCategory.id)
    ).all()


# --- question bank ---------------------------------------------------------


@bp.get("/courses/<code>/questions")
@login_required
def bank(code: str):
    course = staff_course(code, current_user)
    return render_template(
        "quizzes/bank.html", course=course, entries=queries.bank(course), **_labels()
    )


@bp.route("/courses/<code>/questions/new/<kind>", methods=["GET", "POST"])
@login_required
def question_new(code: str, kind: str):
    course = staff_course(code, current_user)
    try:
        kind = QuestionKind(kind)
    except ValueError:
        abort(404)
    form = QuestionForm(kind)
    if form.validate_on_submit():
        try:
            question = ops.create_question(course, form.to_data(), actor=_me())
        except ops.QuizError as error:
            _fail(error)
        else:
            flash(_("Question added to the bank."), "success")
            return redirect(url_for("quizzes.bank", code=course.code, _anchor=f"q-{question.id}"))
    return render_template(
        "quizzes/question_form.html",
        course=course,
        form=form,
        kind=kind,
        question=None,
        **_labels(),
    )


@bp.route("/courses/<code>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def question_edit(code: str, question_id: int):
    course = staff_course(code, current_user)
    question = queries.question_or_404(course, question_id)
    form = QuestionForm.for_question(question)
    if form.validate_on_submit():
        try:
            ops.update_question(question, form.to_data(), actor=_me())
        except ops.QuizError as error:
            _fail(error)
        else:
            flash(_("Question saved."), "success")
            return redirect(url_for("quizzes.bank", code=course.code, _anchor=f"q-{question.id}"))
    return render_template(
        "quizzes/question_form.html",
        course=course,
        form=form,
        kind=QuestionKind(question.kind),
        question=question,
        in_use=ops.question_in_use(question),
        **_labels(),
    )


@bp.post("/courses/<code>/questions/<int:question_id>/delete")
@login_required
def question_delete(code: str, question_id: int):
    course = staff_course(code, current_user)
    question = queries.question_or_404(course, question_id)
    try:
        ops.delete_question(question, actor=_me())
    except ops.QuizError as error:
        _fail(error)
    else:
        flash(_("Question deleted."), "success")
    return redirect(url_for("quizzes.bank", code=course.code))


# --- quizzes (staff) -------------------------------------------------------


@bp.get("/courses/<code>/quizzes/manage")
@login_required
def manage(code: str):
    course = staff_course(code, current_user)
    return render_template(
        "quizzes/manage.html",
        course=course,
        quizzes=queries.course_quizzes(course, published_only=False),
        **_labels(),
    )


@bp.route("/courses/<code>/quizzes/new", methods=["GET", "POST"])
@login_required
def quiz_new(code: str):
    course = staff_course(code, current_user)
    form = QuizForm(_categories(course))
    if form.validate_on_submit():
        try:
            quiz = ops.create_quiz(course, form.to_settings(), actor=_me())
        except ops.QuizError as error:
            _fail(error)
        else:
            flash(_("Quiz created. Now choose its questions."), "success")
            return redirect(url_for("quizzes.quiz_questions", code=course.code, quiz_id=quiz.id))
    return render_template("quizzes/quiz_form.html", course=course, form=form, quiz=None)


@bp.route("/courses/<code>/quizzes/<int:quiz_id>/edit", methods=["GET", "POST"])
@login_required
def quiz_edit(code: str, quiz_id: int):
    course = staff_course(code, current_user)
    quiz = queries.quiz_or_404(course, quiz_id)
    form = QuizForm(_categories(course))
    if not form.is_submitted():
        form.fill(quiz)
    if form.validate_on_submit():
        try:
            ops.update_quiz(quiz, form.to_settings(), actor=_me())
        except ops.QuizError as error:
            _fail(error)
        else:
            flash(_("Quiz settings saved."), "success")
            return redirect(url_for("quizzes.manage", code=course.code))
    return render_template("quizzes/quiz_form.html", course=course, form=form, quiz=quiz)


@bp.route("/courses/<code>/quizzes/<int:quiz_id>/questions", methods=["GET", "POST"])
@login_required
def quiz_questions(code: str, quiz_id: int):
    course = staff_course(code, current_user)
    quiz = queries.quiz_or_404(course, quiz_id)
    entries = queries.bank(course)
    form = QuizQuestionsForm([e.question.id for e in entries])
    if not form.is_submitted():
        positions = {item.question_id: item.position for item in quiz.items}
        for entry in entries:
            form.entries.append_entry(
                {
                    "question_id": str(entry.question.id),
                    "position": positions.get(entry.question.id),
                }
            )
    if form.validate_on_submit():
        try:
            ops.set_questions(quiz, form.ordered_ids(), actor=_me())
        except ops.QuizError as error:
            _fail(error)
        else:
            flash(_("The quiz's questions were saved."), "success")
            return redirect(url_for("quizzes.manage", code=course.code))
    questions = {str(e.question.id): e.question for e in entries}
    return render_template(
        "quizzes/quiz_questions.html",
        course=course,
        quiz=quiz,
        form=form,
        questions=questions,
        **_labels(),
    )


@bp.post("/courses/<code>/quizzes/<int:quiz_id>/publish")
@login_required
def quiz_publish(code: str, quiz_id: int):
    course = staff_course(code, current_user)
    quiz = queries.quiz_or_404(course, quiz_id)
    form = PublishForm()
    if not form.validate_on_submit() or form.published.data not in ("1", "0"):
        abort(400)
    published = form.published.data == "1"
    try:
        ops.set_published(quiz, published, actor=_me())
    except ops.QuizError as error:
        _fail(error)
    else:
        flash(_("Quiz published.") if published else _("Quiz hidden from trainees."), "success")
    return redirect(url_for("quizzes.manage", code=course.code))


@bp.get("/courses/<code>/quizzes/<int:quiz_id>/attempts")
@login_required
def attempts(code: str, quiz_id: int):
    course = staff_course(code, current_user)
    quiz = queries.quiz_or_404(course, quiz_id)
    rows = queries.attempts_by_trainee(quiz)
    for row in rows:
        if ops.show_as_expired(row.attempts) and row.enrolled:
            row.grade_points = ops.shown_grade_points(quiz, row.attempts)
    return render_template(
        "quizzes/attempts.html",
        course=course,
        quiz=quiz,
        rows=rows,
        **_labels(),
    )


# --- taking a quiz ---------------------------------------------------------


def _visible_quiz(code: str, quiz_id: int) -> tuple[Course, Quiz, bool]:
    """Load a quiz its staff or its trainees may see; return (course, quiz, is_staff)."""
    course = visible_course(code, current_user)
    quiz = queries.quiz_or_404(course, quiz_id)
    if can_manage_course(current_user, course):
        return course, quiz, True
    if not quiz.assessment.published:
        abort(404)
    require(queries.can_take(current_user, quiz))
    return course, quiz, False


@bp.get("/courses/<code>/quizzes/<int:quiz_id>")
@login_required
def quiz(code: str, quiz_id: int):
    course, quiz, staff = _visible_quiz(code, quiz_id)
    now = utcnow()
    attempts, grade_points = [], None
    if not staff:
        attempts = queries.user_attempts(quiz, _me())
        grade = queries.quiz_grade(quiz, _me())
        if ops.show_as_expired(attempts, now=now):
            flash(_("An attempt ran out of time and was graded."), "info")
            grade_points = ops.shown_grade_points(quiz, attempts)
        elif grade is not None and grade.status == assessment_models.GradeStatus.RELEASED:
            grade_points = grade.points
    used = len(attempts)
    in_progress = next((a for a in attempts if a.status == AttemptStatus.IN_PROGRESS), None)
    return render_template(
        "quizzes/quiz.html",
        course=course,
        quiz=quiz,
        staff=staff,
        attempts=attempts,
        grade_points=grade_points,
        in_progress=in_progress,
        left=scoring.attempts_left(used, quiz.attempt_limit),
        is_open=scoring.is_open(now, quiz.opens_at, quiz.closes_at),
        opens_later=quiz.opens_at is not None and now < quiz.opens_at,
        **_labels(),
    )


@bp.post("/courses/<code>/quizzes/<int:quiz_id>/start")
@login_required
def start(code: str, quiz_id: int):
    course, quiz, _staff = _visible_quiz(code, quiz_id)
    require(queries.can_take(current_user, quiz))
    try:
        attempt = ops.start_attempt(quiz, _me(), actor=_me())
    except ops.QuizError as error:
        _fail(error)
        return redirect(url_for("quizzes.quiz", code=course.code, quiz_id=quiz.id))
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


def _own_attempt(attempt_id: int) -> Attempt:
    """Load an attempt of the current user at a quiz they may still take."""
    attempt = queries.attempt_or_404(attempt_id)
    require(attempt.user_id == current_user.id)
    if not attempt.quiz.assessment.published or not can_view_course(
        current_user, attempt.quiz.assessment.course
    ):
        abort(404)
    return attempt


def _review_url(attempt: Attempt) -> str:
    return url_for("quizzes.review", attempt_id=attempt.id)


@bp.get("/quiz-attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if ops.show_as_expired([attempt]):
        flash(_("The time is up: the attempt was graded with the answers saved in time."), "info")
    if attempt.graded:
        return redirect(_review_url(attempt))
    return _render_attempt(attempt)


def _render_attempt(attempt: Attempt):
    questions = ops.attempt_questions(attempt)
    seed = attempt.seed if attempt.quiz.shuffle_options else None
    scored = [ops.scoring_question(q) for q in questions]
    public = [scoring.public_question(q, seed) for q in scored]
    answers = {qid: a.response for qid, a in queries.attempt_answers(attempt).items()}
    # A kept answer that is not valid (a numeric answer that is not a number) says why.
    warnings = {}
    for question in scored:
        try:
            scoring.normalise_response(question, answers.get(int(question.id)))
        except scoring.InvalidAnswer as error:
            warnings[question.id] = error.message
    now = utcnow()
    remaining = None
    if attempt.deadline is not None:
        remaining = max(int((attempt.deadline - now).total_seconds()), 0)
    return render_template(
        "quizzes/attempt.html",
        attempt=attempt,
        quiz=attempt.quiz,
        course=attempt.quiz.assessment.course,
        questions=public,
        answers=answers,
        warnings=warnings,
        remaining=remaining,
        field_name=field_name,
        grace_seconds=int(ops.grace().total_seconds()),
    )


@bp.post("/quiz-attempts/<int:attempt_id>")
@login_required
def attempt_post(attempt_id: int):
    """Save every answer of the form (works without JavaScript); submit if asked."""
    attempt = _own_attempt(attempt_id)
    submit = request.form.get("action") == "submit"
    try:
        responses = responses_from_form(request.form, ops.attempt_questions(attempt))
        warnings = ops.save_answers(attempt, responses, actor=_me())
    except ops.AttemptClosed as error:
        flash(str(error), "warning")
        return redirect(_review_url(attempt))
    except ops.QuizError as error:
        _fail(error)
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    if not submit:
        if warnings:
            flash(_("Your answers were saved, but some need your attention."), "warning")
        else:
            flash(_("Your answers were saved."), "success")
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    try:
        ops.submit_attempt(attempt, actor=_me())
    except ops.AttemptClosed as error:
        flash(str(error), "warning")
    else:
        flash(_("Your attempt was submitted and graded."), "success")
    return redirect(_review_url(attempt))


@bp.post("/quiz-attempts/<int:attempt_id>/answer")
@login_required
def save_answer(attempt_id: int):
    """Save one question's answer as the trainee goes (the page's fetch); reply in JSON."""
    attempt = _own_attempt(attempt_id)
    question_id = request.form.get("question", type=int)
    try:
        if question_id is None:
            raise ops.AnswerRefused(_("Say which question this answer is for."))
        responses = responses_from_form(
            request.form, ops.attempt_questions(attempt), only=question_id
        )
        warnings = ops.save_answers(attempt, responses, actor=_me())
    except ops.AttemptClosed as error:
        web.keep_changes()  # keep the grading the expired attempt received
        return jsonify(
            saved=False, closed=True, message=str(error), review=_review_url(attempt)
        ), 409
    except ops.QuizError as error:
        web.refuse()
        return jsonify(saved=False, message=str(error)), 400
    return jsonify(
        saved=True,
        warning=warnings.get(question_id),
        message=_("Saved."),
    )


@bp.get("/quiz-attempts/<int:attempt_id>/review")
@login_required
def review(attempt_id: int):
    attempt = queries.attempt_or_404(attempt_id)
    quiz = attempt.quiz
    course = quiz.assessment.course
    staff = can_manage_course(current_user, course)
    if not staff:
        require(attempt.user_id == current_user.id)
        if not quiz.assessment.published or not can_view_course(current_user, course):
            abort(404)
    ops.show_as_expired([attempt])
    if not attempt.graded:
        if staff and attempt.user_id != current_user.id:
            flash(_("This attempt is still in progress."), "info")
            return redirect(url_for("quizzes.attempts", code=course.code, quiz_id=quiz.id))
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    questions = ops.attempt_questions(attempt)
    answers = queries.attempt_answers(attempt)
    show_key = staff or quiz.feedback_visible(utcnow())
    return render_template(
        "quizzes/review.html",
        attempt=attempt,
        quiz=quiz,
        course=course,
        staff=staff,
        questions=questions,
        answers=answers,
        show_key=show_key,
        **_labels(),
    )
