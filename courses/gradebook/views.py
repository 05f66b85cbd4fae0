"""Gradebook pages: setup, instructor grid, manual grades, overrides, history, CSV, my grades."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

import courses.assessments.models
import courses.gradebook.models  # noqa: F401 - register the gradebook tables
from courses.access import staff_course, visible_course
from courses.assessments.grades import GradeError, StaleGrade, get_grade
from courses.assessments.grading_rules import GradebookError
from courses.assessments.models import Assessment, AssessmentKind, GradeCategory
from courses.enrolment.queries import cohort_or_404
from courses.gradebook import operations, queries
from courses.gradebook.forms import (
    AssessmentCategoryForm,
    CategoryForm,
    GradeForm,
    ManualAssessmentForm,
    OverrideForm,
    PassMarkForm,
    RemoveOverrideForm,
)
from courses.gradebook.models import CourseGradeOverride
from courses.models import Cohort, Course
from courses.permissions import can_manage_course
from lms import csvsafe, web
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.models import User
from lms.permissions import require

bp = Blueprint("gradebook", __name__, template_folder="../templates")


def number(value) -> str:
    """Show a decimal without trailing zeros: 85, 85.5, 85.25."""
    if value is None:
        return ""
    text = f"{Decimal(value):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


bp.add_app_template_filter(number, "gradebook_number")


@bp.app_context_processor
def gradebook_helpers():
    """Let pages of other packages include ``gradebook/_course_links.html``."""
    return {"gradebook_links": _links}


def _links(course: Course) -> dict:
    if not current_user.is_authenticated:
        return {"staff": False, "trainee": False}
    if can_manage_course(current_user, course):
        return {"staff": True, "trainee": False}
    return {"staff": False, "trainee": queries.is_member(course, current_user)}


def _me() -> User:
    return current_user._get_current_object()


def _assessment_of(course: Course, assessment_id: int) -> Assessment:
    assessment = db.get_or_404(Assessment, assessment_id)
    if assessment.course_id != course.id:
        abort(404)
    return assessment


def _category_of(course: Course, category_id: int) -> GradeCategory:
    category = db.get_or_404(GradeCategory, category_id)
    if category.course_id != course.id:
        abort(404)
    return category


def _trainee_of(course: Course, user_id: int) -> User:
    """A person who is or was enrolled in the course; anybody else is not found here."""
    if not queries.ever_enrolled(course, user_id):
        abort(404)
    return db.get_or_404(User, user_id)


def _selected_cohort(course: Course) -> Cohort | None:
    cohort_id = request.args.get("cohort", type=int)
    return cohort_or_404(course, cohort_id) if cohort_id else None


def _flash_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")


# --- the instructor gradebook ------------------------------------------------------------


def _roster(course: Course) -> queries.Roster:
    """The trainees the request asks for: ``cohort``, ``q`` (name or e-mail), ``completion``."""
    try:
        completion = queries.CompletionFilter(request.args.get("completion", "all"))
    except ValueError:
        completion = queries.CompletionFilter.ALL
    search = request.args.get("q", "").strip()[:MAX_SEARCH_LENGTH]
    return queries.Roster(_selected_cohort(course), search, completion)


#: Longest search text read; more is cut off.
MAX_SEARCH_LENGTH = 200


def _per_page() -> int:
    """The page size asked for, if it is one offered; the first choice otherwise."""
    value = request.args.get("per_page", type=int)
    return value if value in queries.PER_PAGE_CHOICES else queries.PER_PAGE_CHOICES[0]


def _list_args(roster: queries.Roster, per_page: int | None = None) -> dict:
    """Query arguments that keep a roster (and page size) in a link; defaults left out."""
    args = {
        "cohort": roster.cohort.id if roster.cohort else None,
        "q": roster.search or None,
        "completion": None
        if roster.completion is queries.CompletionFilter.ALL
        else roster.completion.value,
    }
    if per_page is not None and per_page != queries.PER_PAGE_CHOICES[0]:
        args["per_page"] = per_page
    return {key: value for key, value in args.items() if value is not None}


@bp.get("/courses/<code>/gradebook")
@login_required
def index(code: str):
    course = staff_course(code, current_user)
    roster = _roster(course)
    per_page = _per_page()
    pager = queries.load_page(
        course, roster, page=request.args.get("page", 1, type=int), per_page=per_page
    )
    book = pager.book
    list_args = _list_args(roster, per_page)
    # Grading a cell or releasing drafts comes back to this very page.
    back = {**list_args, **({"page": pager.page} if pager.page > 1 else {})}
    cell_base = {
        a.id: url_for("gradebook.grade_cell", code=course.code, assessment_id=a.id, user_id=0)[:-1]
        for a in book.assessments
        if a.kind == AssessmentKind.MANUAL
    }
    return render_template(
        "gradebook/index.html",
        course=course,
        book=book,
        pager=pager,
        roster=roster,
        per_page=per_page,
        per_page_choices=queries.PER_PAGE_CHOICES,
        list_args=list_args,
        export_args=_list_args(roster),
        back=back,
        cell_query=f"?{urlencode(back)}" if back else "",
        cohorts=course.cohorts,
        cohort=roster.cohort,
        cell_base=cell_base,
        history_base=url_for("gradebook.history", code=course.code, user_id=0)[: -len("0/history")],
        form=ConfirmForm(),
    )


@bp.get("/courses/<code>/gradebook.csv")
@login_required
def export(code: str):
    """Stream every listed trainee's row as CSV: the header at once, then rows in batches."""
    course = staff_course(code, current_user)
    roster = _roster(course)
    delimiter = ";" if request.args.get("delimiter") == "semicolon" else ","
    book = queries.load_frame(course, cohort=roster.cohort)
    lines = csvsafe.iter_csv(
        (_csv_row(book, row) for row in queries.iter_rows(book, roster)),
        _csv_header(book),
        delimiter=delimiter,
    )
    cohort = roster.cohort
    filename = f"gradebook-{course.code}" + (f"-cohort-{cohort.id}" if cohort else "") + ".csv"
    return Response(
        stream_with_context(_chunks(line.encode("utf-8") for line in lines)),
        mimetype=csvsafe.CSV_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


#: Bytes gathered before a chunk of a streamed export is sent.
CHUNK_SIZE = 64 * 1024


def _chunks(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Send the first piece (the header) at once, then the rest in chunks of CHUNK_SIZE."""
    first = next(pieces, b"")
    yield first
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_SIZE:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _csv_header(book: queries.Gradebook) -> list[str]:
    header = [_("Name"), _("E-mail"), _("Cohort")]
    header += [
        _("%(title)s (of %(max)s)", title=a.tr("title"), max=number(a.max_points))
        for a in book.assessments
    ]
    header += [_("%(category)s (%%)", category=c.tr("name")) for c in book.categories]
    header += [
        _("Computed grade"),
        _("Override"),
        _("Course grade"),
        _("Completed"),
        _("Completed on"),
    ]
    return header


def _csv_row(book: queries.Gradebook, row: queries.TraineeRow) -> list:
    cells: list[object] = [row.user.name, row.user.email, row.cohort.name]
    for assessment in book.assessments:
        grade = row.grades.get(assessment.id)
        if grade is None:
            cells.append(None)
        elif grade.excused:
            cells.append(_("excused"))
        elif grade.status == "released":
            cells.append(grade.points)
        else:
            cells.append(_("draft: %(points)s", points=number(grade.points)))
    percentages = row.category_percentages
    cells += [percentages.get(str(c.id)) for c in book.categories]
    override = row.override.value if row.override is not None else None
    record = row.record
    cells += [
        row.result.computed,
        override,
        row.result.grade,
        _("yes") if row.completion.complete else _("no"),
        record.completed_at.date() if record and record.completed_at else None,
    ]
    return cells


@bp.post("/courses/<code>/gradebook/recompute")
@login_required
def recompute(code: str):
    course = staff_course(code, current_user)
    if ConfirmForm().validate_on_submit():
        changed = operations.recompute_course(
            course,
            _("Recomputed by %(name)s.", name=current_user.name),
            actor=current_user._get_current_object(),
        )
        flash(_("Completion recomputed: %(count)s trainees changed.", count=changed), "success")
    return redirect(url_for("gradebook.index", code=course.code))


# --- setup ---------------------------------------------------------------------------------


@bp.get("/courses/<code>/gradebook/setup")
@login_required
def setup(code: str):
    course = staff_course(code, current_user)
    return _render_setup(course, PassMarkForm(pass_mark=course.pass_mark))


def _render_setup(course: Course, pass_form: PassMarkForm, status: int = 200):
    categories = queries.categories_of(course)
    assessments = queries.assessments_of(course)
    used = {a.category_id for a in assessments}
    return (
        render_template(
            "gradebook/setup.html",
            course=course,
            categories=categories,
            assessments=assessments,
            used=used,
            pass_form=pass_form,
            category_form=AssessmentCategoryForm(course=course, formdata=None),
            form=ConfirmForm(),
        ),
        status,
    )


@bp.post("/courses/<code>/gradebook/pass-mark")
@login_required
def pass_mark(code: str):
    course = staff_course(code, current_user)
    form = PassMarkForm()
    if form.validate_on_submit():
        try:
            operations.set_pass_mark(course, form.pass_mark.data, actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Pass mark saved."), "success")
            return redirect(url_for("gradebook.setup", code=course.code))
    _flash_errors(form)
    return _render_setup(course, form, 422)


@bp.route("/courses/<code>/gradebook/categories/new", methods=["GET", "POST"])
@login_required
def category_new(code: str):
    course = staff_course(code, current_user)
    form = CategoryForm(course=course)
    if form.validate_on_submit():
        try:
            category = operations.create_category(course, form.to_data(), actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Category %(name)s added.", name=category.name_en), "success")
            return redirect(url_for("gradebook.setup", code=course.code))
    return render_template("gradebook/category_form.html", course=course, form=form, category=None)


@bp.route("/courses/<code>/gradebook/categories/<int:category_id>/edit", methods=["GET", "POST"])
@login_required
def category_edit(code: str, category_id: int):
    course = staff_course(code, current_user)
    category = _category_of(course, category_id)
    form = CategoryForm(obj=category, course=course, category=category)
    if form.validate_on_submit():
        try:
            operations.update_category(category, form.to_data(), actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Category %(name)s saved.", name=category.name_en), "success")
            return redirect(url_for("gradebook.setup", code=course.code))
    return render_template(
        "gradebook/category_form.html", course=course, form=form, category=category
    )


@bp.post("/courses/<code>/gradebook/categories/<int:category_id>/delete")
@login_required
def category_delete(code: str, category_id: int):
    course = staff_course(code, current_user)
    category = _category_of(course, category_id)
    if ConfirmForm().validate_on_submit():
        name = category.name_en
        try:
            operations.delete_category(category, actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Category %(name)s deleted.", name=name), "success")
    return redirect(url_for("gradebook.setup", code=course.code))


@bp.route("/courses/<code>/gradebook/assessments/new", methods=["GET", "POST"])
@login_required
def assessment_new(code: str):
    course = staff_course(code, current_user)
    form = ManualAssessmentForm(course=course)
    if form.validate_on_submit():
        try:
            assessment = operations.save_manual_assessment(course, form.to_data(), actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Assessment %(title)s added.", title=assessment.tr("title")), "success")
            return redirect(url_for("gradebook.setup", code=course.code))
    return render_template(
        "gradebook/assessment_form.html", course=course, form=form, assessment=None
    )


@bp.route("/courses/<code>/gradebook/assessments/<int:assessment_id>/edit", methods=["GET", "POST"])
@login_required
def assessment_edit(code: str, assessment_id: int):
    course = staff_course(code, current_user)
    assessment = _assessment_of(course, assessment_id)
    if assessment.kind != AssessmentKind.MANUAL:
        abort(404)
    form = ManualAssessmentForm.for_assessment(assessment)
    if form.validate_on_submit():
        try:
            operations.save_manual_assessment(
                course, form.to_data(), actor=_me(), assessment=assessment
            )
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Assessment %(title)s saved.", title=assessment.tr("title")), "success")
            return redirect(url_for("gradebook.setup", code=course.code))
    return render_template(
        "gradebook/assessment_form.html", course=course, form=form, assessment=assessment
    )


@bp.post("/courses/<code>/gradebook/assessments/<int:assessment_id>/category")
@login_required
def assessment_category(code: str, assessment_id: int):
    course = staff_course(code, current_user)
    assessment = _assessment_of(course, assessment_id)
    form = AssessmentCategoryForm(course=course)
    if form.validate_on_submit():
        category = db.session.get(GradeCategory, form.category.data) if form.category.data else None
        try:
            operations.set_assessment_category(assessment, category, actor=_me())
        except operations.SetupError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Category of %(title)s saved.", title=assessment.tr("title")), "success")
    else:
        _flash_errors(form)
    return redirect(url_for("gradebook.setup", code=course.code))


# --- manual grades ---------------------------------------------------------------------------


@bp.route(
    "/courses/<code>/gradebook/assessments/<int:assessment_id>/trainees/<int:user_id>",
    methods=["GET", "POST"],
)
@login_required
def grade_cell(code: str, assessment_id: int, user_id: int):
    course = staff_course(code, current_user)
    assessment = _assessment_of(course, assessment_id)
    if assessment.kind != AssessmentKind.MANUAL:
        abort(404)
    trainee = _trainee_of(course, user_id)
    grade = get_grade(assessment, trainee)
    form = GradeForm()
    if not form.is_submitted() and grade is not None:
        form.points.data = grade.points
        form.excused.data = grade.excused
        form.release.data = grade.status == "released"
        form.version.data = str(grade.version)
    status = 200
    if form.validate_on_submit():
        try:
            operations.grade_manual(
                assessment,
                trainee,
                form.points.data,
                actor=_me(),
                reason=form.reason.data or "",
                excused=form.excused.data,
                release=form.release.data,
                expected_version=form.expected_version,
            )
        except StaleGrade as error:
            web.refuse()
            # Keep what this person typed; the next save, made knowingly, overwrites.
            grade = get_grade(assessment, trainee)
            form.version.data = str(grade.version if grade else 0)
            flash(
                _(
                    "%(message)s Your entry is kept below; check the current grade "
                    "and save again to replace it.",
                    message=str(error),
                ),
                "warning",
            )
            status = 409
        except GradeError as error:
            web.refuse()
            form.points.errors.append(str(error))
            flash(str(error), "danger")
            status = 422
        else:
            flash(_("Grade saved for %(name)s.", name=trainee.display_name), "success")
            return redirect(_gradebook_url(course))
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "gradebook/grade_form.html",
            course=course,
            assessment=assessment,
            trainee=trainee,
            grade=grade,
            form=form,
            back_url=_gradebook_url(course),
        ),
        status,
    )


def _gradebook_url(course: Course) -> str:
    """The gradebook page the request came from: its filters, page size and page number."""
    kept: dict[str, Any] = {key: request.args.get(key) for key in GRADEBOOK_LIST_ARGS}
    return url_for("gradebook.index", code=course.code, **{k: v for k, v in kept.items() if v})


#: Query arguments of the gradebook page that grading and releasing carry back to it.
GRADEBOOK_LIST_ARGS = ("cohort", "q", "completion", "per_page", "page")


@bp.post("/courses/<code>/gradebook/assessments/<int:assessment_id>/release")
@login_required
def release(code: str, assessment_id: int):
    course = staff_course(code, current_user)
    assessment = _assessment_of(course, assessment_id)
    if assessment.kind != AssessmentKind.MANUAL:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            count = operations.release_manual_grades(assessment, actor=_me())
        except GradeError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(
                _(
                    "%(count)s grades of %(title)s released.",
                    count=count,
                    title=assessment.tr("title"),
                ),
                "success",
            )
    return redirect(_gradebook_url(course))


# --- overrides and history -------------------------------------------------------------------


def _categories_by_key(book: queries.Gradebook) -> dict:
    return {str(c.id): c for c in book.categories}


def _trainee_page(course: Course, trainee: User, override_form, remove_form, status=200):
    book = queries.compute_gradebook(course, user_ids=[trainee.id])
    row = book.row_for(trainee.id)
    override = db.session.scalar(
        sa.select(CourseGradeOverride).where(
            CourseGradeOverride.course_id == course.id, CourseGradeOverride.user_id == trainee.id
        )
    )
    return (
        render_template(
            "gradebook/override.html",
            course=course,
            trainee=trainee,
            row=row,
            categories_by_key=_categories_by_key(book),
            override=override,
            override_form=override_form,
            remove_form=remove_form,
        ),
        status,
    )


@bp.route("/courses/<code>/gradebook/trainees/<int:user_id>/override", methods=["GET", "POST"])
@login_required
def override(code: str, user_id: int):
    course = staff_course(code, current_user)
    trainee = _trainee_of(course, user_id)
    form = OverrideForm()
    status = 200
    if form.validate_on_submit():
        try:
            operations.set_override(course, trainee, form.value.data, form.reason.data, actor=_me())
        except GradebookError as error:
            web.refuse()
            flash(str(error), "danger")
            status = 422
        else:
            flash(_("Course grade of %(name)s overridden.", name=trainee.display_name), "success")
            return redirect(url_for("gradebook.history", code=course.code, user_id=trainee.id))
    elif form.is_submitted():
        _flash_errors(form)
        status = 422
    return _trainee_page(course, trainee, form, RemoveOverrideForm(formdata=None), status)


@bp.post("/courses/<code>/gradebook/trainees/<int:user_id>/override/remove")
@login_required
def override_remove(code: str, user_id: int):
    course = staff_course(code, current_user)
    trainee = _trainee_of(course, user_id)
    form = RemoveOverrideForm()
    if form.validate_on_submit():
        try:
            operations.remove_override(course, trainee, form.remove_reason.data, actor=_me())
        except GradebookError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Override of %(name)s removed.", name=trainee.display_name), "success")
            return redirect(url_for("gradebook.history", code=course.code, user_id=trainee.id))
    else:
        _flash_errors(form)
    return _trainee_page(course, trainee, OverrideForm(formdata=None), form, 422)


@bp.get("/courses/<code>/gradebook/trainees/<int:user_id>/history")
@login_required
def history(code: str, user_id: int):
    course = staff_course(code, current_user)
    trainee = _trainee_of(course, user_id)
    book = queries.compute_gradebook(course, user_ids=[trainee.id])
    return render_template(
        "gradebook/history.html",
        course=course,
        trainee=trainee,
        row=book.row_for(trainee.id),
        categories_by_key=_categories_by_key(book),
        entries=queries.history(course, trainee),
    )


# --- the trainee's own grades ----------------------------------------------------------------


@bp.get("/courses/<code>/grades")
@login_required
def my_grades(code: str):
    course = visible_course(code, current_user)
    if can_manage_course(current_user, course):
        return redirect(url_for("gradebook.index", code=course.code))
    me = _me()
    book = queries.compute_gradebook(course, user_ids=[me.id])
    row = book.row_for(me.id)
    require(row is not None)
    return render_template(
        "gradebook/my_grades.html",
        course=course,
        book=book,
        row=row,
        categories_by_key=_categories_by_key(book),
    )
