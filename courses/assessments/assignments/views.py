"""Assignment pages: authoring and rubric builder, handing in, downloads, grading queue, marking."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

import courses.assessments.models as assessment_models  # noqa: F401 - tables for create_all
from courses.access import staff_course, visible_course
from courses.assessments.assignments import operations as ops
from courses.assessments.assignments import queries, storage
from courses.assessments.assignments.forms import (
    AssignmentForm,
    CriterionForm,
    LevelForm,
    SubmitForm,
    grade_form,
)
from courses.assessments.assignments.models import (
    Assignment,
    MarkingScheme,
    RubricCriterion,
    RubricLevel,
    Submission,
    SubmissionFile,
)
from courses.assessments.grades import GradeError, get_grade
from courses.assessments.models import GradeCategory, GradeStatus
from courses.assessments.queries import quizzes_and_assignments
from courses.enrolment.queries import can_study
from courses.models import Course
from courses.permissions import can_manage_course
from lms import web
from lms.db import utcnow
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.paging import page_arg
from lms.permissions import require
from lms.storage import StorageError

logger = logging.getLogger(__name__)

bp = Blueprint(
    "assignments",
    __name__,
    template_folder="../../templates",
    static_folder="static",
    static_url_path="/static/assignments",
)


@bp.record_once
def _remove_unfinished_uploads(state) -> None:
    """At start, delete the temporary files of uploads cut short by a killed worker."""
    with state.app.app_context():
        try:
            storage.remove_stale_parts(storage.upload_dir())
        except OSError:
            logger.exception("could not clean the upload folder")


def _me():
    return current_user._get_current_object()


@bp.app_context_processor
def section_helpers():
    """Let course pages include ``assignments/_course_section.html``."""

    def assignment_section(course: Course) -> dict:
        staff = can_manage_course(current_user, course)
        if not staff and not can_study(current_user, course):
            return {"visible": False}
        return {
            "visible": True,
            "staff": staff,
            "assignments": quizzes_and_assignments(course, published_only=not staff)[1],
        }

    return {"assignment_section": assignment_section}


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    limit = storage.human_size(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    flash(
        _("The upload is too large: the whole submission must stay under %(limit)s.", limit=limit),
        "danger",
    )
    args = request.view_args or {}
    if "code" in args and "assessment_id" in args:
        target = url_for(
            "assignments.detail", code=args["code"], assessment_id=args["assessment_id"]
        )
    else:
        target = url_for("courses.catalogue")
    return redirect(target, 303)


# --- loading and authorising -----------------------------------------------------------------


def _staff_assignment(code: str, assessment_id: int) -> tuple[Course, Assignment]:
    course = staff_course(code, current_user)
    return course, queries.assignment_or_404(course, assessment_id)


def _study_assignment(code: str, assessment_id: int) -> tuple[Course, Assignment, bool]:
    """Course staff, or a trainee enrolled in the course; unpublished work is staff-only."""
    course = visible_course(code, current_user)
    staff = can_manage_course(current_user, course)
    require(staff or can_study(current_user, course))
    assignment = queries.assignment_or_404(course, assessment_id)
    if not staff and not assignment.assessment.published:
        abort(404)
    return course, assignment, staff


def _fail(error: Exception) -> None:
    web.refuse()
    flash(str(error), "danger")


def _categories(course: Course) -> list[GradeCategory]:
    return list(
        db.session.scalars(
            db.select(GradeCategory)
            .where(GradeCategory.course_id == course.id)
            .order_by(GradeCategory.position, GradeCategory.id)
        )
    )


# --- authoring -------------------------------------------------------------------------------


@bp.get("/courses/<code>/assignments")
@login_required
def index(code: str):
    course = staff_course(code, current_user)
    items = queries.course_assignments(course, published_only=False)
    return render_template(
        "assignments/index.html",
        course=course,
        items=[(a, queries.counts(a)) for a in items],
    )


@bp.route("/courses/<code>/assignments/new", methods=["GET", "POST"])
@login_required
def new(code: str):
    course = staff_course(code, current_user)
    form = AssignmentForm(categories=_categories(course))
    if form.validate_on_submit():
        try:
            assignment = ops.create_assignment(course, form.to_data(), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Assignment created. Now build its rubric."), "success")
            if assignment.marking == MarkingScheme.POINTS:
                return redirect(
                    url_for("assignments.detail", code=code, assessment_id=assignment.assessment_id)
                )
            return redirect(
                url_for("assignments.rubric", code=code, assessment_id=assignment.assessment_id)
            )
    return render_template("assignments/form.html", course=course, form=form, assignment=None)


@bp.route("/courses/<code>/assignments/<int:assessment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(code: str, assessment_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    form = AssignmentForm(categories=_categories(course))
    if not form.is_submitted():
        form.fill(assignment)
    if form.validate_on_submit():
        try:
            ops.update_assignment(assignment, form.to_data(), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Assignment saved."), "success")
            return redirect(url_for("assignments.detail", code=code, assessment_id=assessment_id))
    return render_template("assignments/form.html", course=course, form=form, assignment=assignment)


# --- rubric builder --------------------------------------------------------------------------


def _criterion(assignment: Assignment, criterion_id: int) -> RubricCriterion:
    criterion = db.get_or_404(RubricCriterion, criterion_id)
    if criterion.assignment_id != assignment.id:
        abort(404)
    return criterion


def _level(assignment: Assignment, level_id: int) -> RubricLevel:
    level = db.get_or_404(RubricLevel, level_id)
    if level.criterion.assignment_id != assignment.id:
        abort(404)
    return level


def _rubric_url(code: str, assessment_id: int) -> str:
    return url_for("assignments.rubric", code=code, assessment_id=assessment_id)


def _form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")


@bp.get("/courses/<code>/assignments/<int:assessment_id>/rubric")
@login_required
def rubric(code: str, assessment_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    return render_template(
        "assignments/rubric.html",
        course=course,
        assignment=assignment,
        locked=ops.grading_started(assignment),
        problem=ops.rubric_problem(assignment),
        criterion_form=CriterionForm(prefix="new"),
        level_form=LevelForm(prefix="level"),
        confirm_form=ConfirmForm(),
    )


def _criterion_values(form: CriterionForm) -> dict:
    return {
        "title_en": form.title_en.data,
        "title_bg": form.title_bg.data or "",
        "description_en": form.description_en.data or "",
        "description_bg": form.description_bg.data or "",
        "guide_max": form.guide_max.data,
    }


def _level_values(form: LevelForm) -> dict:
    return {
        "title_en": form.title_en.data,
        "title_bg": form.title_bg.data or "",
        "description_en": form.description_en.data or "",
        "description_bg": form.description_bg.data or "",
        "points": form.points.data,
    }


@bp.post("/courses/<code>/assignments/<int:assessment_id>/rubric/criteria")
@login_required
def add_criterion(code: str, assessment_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    form = CriterionForm(prefix="new")
    if form.validate_on_submit():
        try:
            ops.add_criterion(assignment, **_criterion_values(form), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Criterion added."), "success")
    else:
        _form_errors(form)
    return redirect(_rubric_url(code, assessment_id))


@bp.route(
    "/courses/<code>/assignments/<int:assessment_id>/rubric/criteria/<int:criterion_id>",
    methods=["GET", "POST"],
)
@login_required
def edit_criterion(code: str, assessment_id: int, criterion_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    criterion = _criterion(assignment, criterion_id)
    form = CriterionForm(obj=criterion)
    if form.validate_on_submit():
        try:
            ops.update_criterion(criterion, **_criterion_values(form), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Criterion saved."), "success")
            return redirect(_rubric_url(code, assessment_id))
    return render_template(
        "assignments/item_form.html",
        course=course,
        assignment=assignment,
        form=form,
        heading=_("Edit criterion"),
    )


@bp.post(
    "/courses/<code>/assignments/<int:assessment_id>/rubric/criteria/<int:criterion_id>/delete"
)
@login_required
def delete_criterion(code: str, assessment_id: int, criterion_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    criterion = _criterion(assignment, criterion_id)
    if ConfirmForm().validate_on_submit():
        try:
            ops.delete_criterion(criterion, actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Criterion removed."), "success")
    return redirect(_rubric_url(code, assessment_id))


@bp.post(
    "/courses/<code>/assignments/<int:assessment_id>/rubric/criteria/<int:criterion_id>/levels"
)
@login_required
def add_level(code: str, assessment_id: int, criterion_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    criterion = _criterion(assignment, criterion_id)
    form = LevelForm(prefix="level")
    if form.validate_on_submit():
        try:
            ops.add_level(criterion, **_level_values(form), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Level added."), "success")
    else:
        _form_errors(form)
    return redirect(_rubric_url(code, assessment_id))


@bp.route(
    "/courses/<code>/assignments/<int:assessment_id>/rubric/levels/<int:level_id>",
    methods=["GET", "POST"],
)
@login_required
def edit_level(code: str, assessment_id: int, level_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    level = _level(assignment, level_id)
    form = LevelForm(obj=level)
    if form.validate_on_submit():
        try:
            ops.update_level(level, **_level_values(form), actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Level saved."), "success")
            return redirect(_rubric_url(code, assessment_id))
    return render_template(
        "assignments/item_form.html",
        course=course,
        assignment=assignment,
        form=form,
        heading=_("Edit level"),
    )


@bp.post("/courses/<code>/assignments/<int:assessment_id>/rubric/levels/<int:level_id>/delete")
@login_required
def delete_level(code: str, assessment_id: int, level_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    level = _level(assignment, level_id)
    if ConfirmForm().validate_on_submit():
        try:
            ops.delete_level(level, actor=_me())
        except ops.AssignmentError as error:
            _fail(error)
        else:
            flash(_("Level removed."), "success")
    return redirect(_rubric_url(code, assessment_id))


# --- trainee: the assignment page, handing in, downloads --------------------------------------


@bp.get("/courses/<code>/assignments/<int:assessment_id>")
@login_required
def detail(code: str, assessment_id: int):
    course, assignment, staff = _study_assignment(code, assessment_id)
    me = _me()
    submissions = queries.my_submissions(assignment, me)
    grade = get_grade(assignment.assessment, me) if submissions else None
    released = bool(grade is not None and grade.status == GradeStatus.RELEASED)
    refusal = ops.submission_refusal(assignment, me, latest=submissions[0] if submissions else None)
    return render_template(
        "assignments/detail.html",
        course=course,
        assignment=assignment,
        staff=staff,
        submissions=submissions,
        grade=grade if released else None,
        grade_released=released,
        refusal=refusal,
        overdue=bool(assignment.assessment.due_at and utcnow() > assignment.assessment.due_at),
        form=SubmitForm(),
        extensions=storage.allowed_extensions(assignment.type_keys),
        human_size=storage.human_size,
    )


@bp.post("/courses/<code>/assignments/<int:assessment_id>/submit")
@login_required
def submit(code: str, assessment_id: int):
    course, assignment, _staff = _study_assignment(code, assessment_id)
    page = url_for("assignments.detail", code=code, assessment_id=assessment_id)
    me = _me()
    form = SubmitForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(page)
    refusal = ops.submission_refusal(assignment, me)
    if refusal:
        flash(refusal, "danger")
        return redirect(page)
    uploads = [f for f in (form.files.data or []) if f and f.filename]
    if uploads and not assignment.allow_files:
        flash(_("This assignment accepts text only, not files."), "danger")
        return redirect(page)
    if len(uploads) > assignment.max_files:
        flash(_("Attach at most %(n)s files.", n=assignment.max_files), "danger")
        return redirect(page)
    stored: list[storage.StoredFile] = []
    try:
        for upload in uploads:  # a loop: a refusal must leave what was checked to discard
            stored.append(  # noqa: PERF401
                storage.receive(
                    upload.stream,
                    upload.filename,
                    allowed=assignment.type_keys,
                    max_bytes=assignment.max_file_bytes,
                )
            )
        submission = ops.submit(assignment, me, text=form.text.data or "", files=stored, actor=me)
        db.session.flush()  # constraints checked here, before the files go to the store
        storage.keep(stored)  # written before the rows commit (after the view)
    except (storage.UploadRefused, ops.AssignmentError) as error:
        _fail(error)
        return redirect(page)
    except BaseException:
        web.refuse()
        raise
    finally:
        storage.discard(stored)
    if submission.days_late:
        flash(
            ngettext(
                "Handed in, %(num)s day late.",
                "Handed in, %(num)s days late.",
                submission.days_late,
            ),
            "warning",
        )
    else:
        flash(_("Handed in. Thank you."), "success")
    logger.info("submission %s handed in for course %s", submission.id, course.code)
    return redirect(page)


@bp.get("/courses/<code>/assignments/<int:assessment_id>/files/<int:file_id>")
@login_required
def download(code: str, assessment_id: int, file_id: int):
    course = visible_course(code, current_user)
    assignment = queries.assignment_or_404(course, assessment_id)
    item = db.get_or_404(SubmissionFile, file_id)
    if item.submission.assignment_id != assignment.id:
        abort(404)
    require(item.submission.user_id == current_user.id or can_manage_course(current_user, course))
    try:
        stream = item.open()
    except StorageError:
        logger.error("stored file %s of submission file %s is missing", item.file_key, item.id)
        abort(404)
    response = send_file(stream, mimetype=item.content_type, conditional=False, max_age=0)
    response.headers["Content-Disposition"] = storage.content_disposition(item.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- grading ---------------------------------------------------------------------------------


def _filters(assignment_id: int | None = None) -> queries.QueueFilters:
    args = request.args
    return queries.QueueFilters(
        assignment_id=assignment_id or args.get("assignment", None, type=int),
        status=args.get("status", "", type=str),
        late=args.get("late", "") == "1",
        cohort_id=args.get("cohort", None, type=int),
        sort=args.get("sort", "submitted", type=str),
    )


def _queue(course: Course, assignment: Assignment | None):
    filters = _filters(assignment.assessment_id if assignment else None)
    page = queries.grading_queue(course, filters, page=page_arg())
    return render_template(
        "assignments/queue.html",
        course=course,
        assignment=assignment,
        assignments=queries.course_assignments(course, published_only=False),
        cohorts=queries.course_cohorts(course),
        filters=filters,
        page=page,
        release_form=ConfirmForm(),
        counts=queries.counts(assignment) if assignment else None,
        page_args={
            "code": course.code,
            **({"assessment_id": assignment.assessment_id} if assignment else {}),
            **filters.args(),
        },
    )


@bp.get("/courses/<code>/grading")
@login_required
def course_queue(code: str):
    return _queue(staff_course(code, current_user), None)


@bp.get("/courses/<code>/assignments/<int:assessment_id>/grading")
@login_required
def queue(code: str, assessment_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    return _queue(course, assignment)


def _grade_url(code, assignment_id_of, submission_id, filters):
    return url_for(
        "assignments.grade",
        code=code,
        assessment_id=assignment_id_of,
        submission_id=submission_id,
        **filters.args(),
    )


@bp.route(
    "/courses/<code>/assignments/<int:assessment_id>/submissions/<int:submission_id>",
    methods=["GET", "POST"],
)
@login_required
def grade(code: str, assessment_id: int, submission_id: int):
    course, assignment = _staff_assignment(code, assessment_id)
    submission = queries.submission_or_404(assignment, submission_id)
    filters = _filters()
    current = get_grade(assignment.assessment, submission.user)
    form = grade_form(assignment)
    if not form.is_submitted():
        form.grade_version.data = current.version if current else 0
        form.marking_version.data = submission.marking_version
        form.feedback.data = submission.feedback
        if assignment.marking == MarkingScheme.POINTS:
            form.points.data = submission.raw_points
        marks = {m.criterion_id: m for m in submission.marks}
        for criterion, name in form.criterion_fields:
            row = marks.get(criterion.id)
            if row is not None:
                value = row.level_id if assignment.marking == MarkingScheme.RUBRIC else row.points
                getattr(form, name).data = value
    if form.validate_on_submit():
        try:
            ops.mark(
                submission,
                actor=_me(),
                choices=form.choices(),
                points=form.points.data,
                feedback=form.feedback.data or "",
                expected_grade_version=form.version(form.grade_version),
                expected_marking_version=form.version(form.marking_version),
            )
        except (ops.AssignmentError, GradeError) as error:
            _fail(error)
            return redirect(_grade_url(code, assessment_id, submission_id, filters))
        flash(
            _(
                "Saved as a draft: %(name)s cannot see it until you release it.",
                name=submission.user.display_name,
            ),
            "success",
        )
        if form.save_next.data:
            after = queries.neighbours(course, filters, submission)
            if after.next is not None:
                return redirect(_grade_url(code, _assessment_of(after.next), after.next, filters))
            flash(_("That was the last submission in this list."), "info")
            return redirect(_queue_url(code, assignment, filters))
        return redirect(_grade_url(code, assessment_id, submission_id, filters))
    return render_template(
        "assignments/grade.html",
        course=course,
        assignment=assignment,
        submission=submission,
        grade=current,
        form=form,
        filters=filters,
        around=queries.neighbours(course, filters, submission),
        assessment_of=_assessment_of,
        problem=ops.rubric_problem(assignment),
        release_form=ConfirmForm(),
        human_size=storage.human_size,
        late_rule=ops.late_rule(assignment),
    )


def _assessment_of(submission_id: int) -> int:
    """Return the assessment id of a submission (queue neighbours may be of other assignments)."""
    return db.session.scalar(
        db.select(Assignment.assessment_id)
        .join(Submission, Submission.assignment_id == Assignment.id)
        .where(Submission.id == submission_id)
    )


def _queue_url(code: str, assignment: Assignment, filters: queries.QueueFilters) -> str:
    args = filters.args()
    if args.get("assignment") == assignment.assessment_id:
        args.pop("assignment")
        return url_for(
            "assignments.queue", code=code, assessment_id=assignment.assessment_id, **args
        )
    return url_for("assignments.course_queue", code=code, **args)


@bp.post("/courses/<code>/assignments/<int:assessment_id>/submissions/<int:submission_id>/release")
@login_required
def release(code: str, assessment_id: int, submission_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    submission = queries.submission_or_404(assignment, submission_id)
    if ConfirmForm().validate_on_submit():
        try:
            ops.release(submission, actor=_me())
        except (ops.AssignmentError, GradeError) as error:
            _fail(error)
        else:
            flash(_("Released to %(name)s.", name=submission.user.display_name), "success")
    return redirect(_grade_url(code, assessment_id, submission_id, _filters()))


@bp.post("/courses/<code>/assignments/<int:assessment_id>/release")
@login_required
def release_all(code: str, assessment_id: int):
    _course, assignment = _staff_assignment(code, assessment_id)
    if ConfirmForm().validate_on_submit():
        try:
            count = ops.release_all(assignment, actor=_me())
        except (ops.AssignmentError, GradeError) as error:
            _fail(error)
        else:
            flash(ngettext("%(num)s grade released.", "%(num)s grades released.", count), "success")
    return redirect(url_for("assignments.queue", code=code, assessment_id=assessment_id))
