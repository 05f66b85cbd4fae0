"""Catalogue, programme and course pages, and curriculum authoring."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from courses import operations as ops
from courses import queries
from courses.access import staff_course
from courses.enrolment.queries import course_panel
from courses.forms import (
    CourseForm,
    LessonForm,
    ModuleForm,
    MoveForm,
    OutcomeForm,
    ProgrammeForm,
    PublishForm,
    StateForm,
    instructor_choice,
)
from courses.models import Course, CourseState, LearningOutcome, Lesson, Module, Programme
from courses.permissions import can_manage_course, can_view_course
from lms import web
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.markdown import render_markdown
from lms.models import Role, User
from lms.paging import page_arg
from lms.permissions import roles_required

bp = Blueprint("courses", __name__, template_folder="templates")


# --- public pages ----------------------------------------------------------


@bp.get("/courses")
def catalogue():
    search = request.args.get("q", "", type=str).strip()[:200]
    programme_code = request.args.get("programme", "", type=str).strip()
    open_only = request.args.get("open", "") == "1"
    programmes = queries.visible_programmes(current_user)
    programme = next((p for p in programmes if p.code == programme_code.upper()), None)
    pagination, open_ids = queries.catalogue_page(
        current_user,
        search=search,
        programme=programme,
        open_only=open_only,
        page=page_arg(),
    )
    return render_template(
        "courses/catalogue.html",
        pagination=pagination,
        open_ids=open_ids,
        programmes=programmes,
        programme=programme,
        search=search,
        open_only=open_only,
    )


@bp.get("/programmes/<code>")
def programme(code: str):
    item = queries.programme_by_code(code)
    admin = current_user.is_authenticated and current_user.has_role(Role.ADMIN)
    if item is None or (item.state == CourseState.DRAFT and not admin):
        abort(404)
    return render_template(
        "courses/programme.html",
        programme=item,
        courses=queries.programme_courses_for(current_user, item),
        state_form=StateForm(),
    )


@bp.get("/courses/<code>")
def detail(code: str):
    course = queries.course_with_contents(code)
    if course is None or not can_view_course(current_user, course):
        abort(404)  # a draft is not admitted to exist
    # First: it learns whether the user studies the course, which the page's parts ask.
    panel = course_panel(course, current_user)
    return render_template(
        "courses/detail.html",
        course=course,
        programmes=queries.programme_for_course(course, current_user),
        can_manage=panel.is_staff,
        # Lesson titles link only for those who may open them (enrolled trainees, staff).
        can_study=panel.can_study,
        panel=panel,
    )


# --- authoring: courses ----------------------------------------------------


def _actor() -> User:
    """The signed-in user, who the curriculum operations check and record."""
    return current_user._get_current_object()


def _fail(error: ops.CurriculumError) -> None:
    web.refuse()
    flash(str(error), "danger")


@bp.get("/teaching")
@roles_required(Role.INSTRUCTOR)
def teaching():
    admin = current_user.has_role(Role.ADMIN)
    return render_template(
        "courses/teaching.html",
        courses=queries.taught_courses(current_user),
        programmes=queries.visible_programmes(current_user) if admin else [],
    )


@bp.route("/teaching/new", methods=["GET", "POST"])
@roles_required(Role.INSTRUCTOR)
def new_course():
    form = CourseForm()
    if form.validate_on_submit():
        try:
            course = ops.create_course(
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                summary_en=form.summary_en.data,
                summary_bg=form.summary_bg.data,
                workload_hours=form.workload_hours.data,
                actor=_actor(),
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Course %(code)s created as a draft.", code=course.code), "success")
            return redirect(url_for("courses.manage", code=course.code))
    return render_template("courses/course_form.html", form=form, course=None)


@bp.get("/courses/<code>/manage")
@login_required
def manage(code: str):
    course = staff_course(code, current_user, contents=True)
    return render_template(
        "courses/manage.html",
        course=course,
        state_form=StateForm(),
        move_form=MoveForm(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/courses/<code>/edit", methods=["GET", "POST"])
@login_required
def edit_course(code: str):
    course = staff_course(code, current_user)
    admin = current_user.has_role(Role.ADMIN)
    form = CourseForm(
        obj=course,
        course=course,
        instructor_choices=queries.instructor_candidates() if admin else None,
    )
    if admin and not form.is_submitted():
        form.instructors.data = [u.id for u in course.instructors]
    if admin:
        # Keep current instructors choosable even if they lost the role since.
        known = {choice.value for choice in form.instructors.choices}
        form.instructors.choices += [
            instructor_choice(u) for u in course.instructors if u.id not in known
        ]
    if form.validate_on_submit():
        instructors = None
        if admin:
            instructors = list(
                db.session.scalars(
                    sa.select(User).where(User.id.in_(form.instructors.data)).order_by(User.id)
                )
            )
        try:
            ops.update_course(
                course,
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                summary_en=form.summary_en.data,
                summary_bg=form.summary_bg.data,
                workload_hours=form.workload_hours.data,
                instructors=instructors,
                actor=_actor(),
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Course saved."), "success")
            if not can_manage_course(current_user, course):
                return redirect(url_for("courses.teaching"))
            return redirect(url_for("courses.manage", code=course.code))
    return render_template("courses/course_form.html", form=form, course=course)


@bp.post("/courses/<code>/state")
@login_required
def course_state(code: str):
    course = staff_course(code, current_user)
    form = StateForm()
    if form.validate_on_submit():
        try:
            ops.set_course_state(course, form.state.data, actor=_actor())
        except ops.CurriculumError as error:
            _fail(error)
        else:
            messages = {
                CourseState.PUBLISHED: _("The course is published."),
                CourseState.ARCHIVED: _("The course is archived."),
                CourseState.DRAFT: _("The course is a draft again."),
            }
            flash(messages[CourseState(form.state.data)], "success")
    else:
        flash(_("Unknown course state."), "danger")
    return redirect(url_for("courses.manage", code=course.code))


# --- authoring: modules ----------------------------------------------------


def _course_module(course: Course, module_id: int) -> Module:
    module = db.get_or_404(Module, module_id)
    if module.course_id != course.id:
        abort(404)
    return module


def _back(course: Course, anchor: str | None = None):
    url = url_for("courses.manage", code=course.code)
    return redirect(f"{url}#{anchor}" if anchor else url)


@bp.route("/courses/<code>/modules/new", methods=["GET", "POST"])
@login_required
def new_module(code: str):
    course = staff_course(code, current_user)
    form = ModuleForm()
    if form.validate_on_submit():
        try:
            module = ops.add_module(
                course, title_en=form.title_en.data, title_bg=form.title_bg.data, actor=_actor()
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Module added."), "success")
            return _back(course, f"module-{module.id}")
    return render_template(
        "courses/item_form.html", form=form, course=course, heading=_("New module")
    )


@bp.route("/courses/<code>/modules/<int:module_id>/edit", methods=["GET", "POST"])
@login_required
def edit_module(code: str, module_id: int):
    course = staff_course(code, current_user)
    module = _course_module(course, module_id)
    form = ModuleForm(obj=module)
    if form.validate_on_submit():
        try:
            ops.update_module(
                module, title_en=form.title_en.data, title_bg=form.title_bg.data, actor=_actor()
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Module saved."), "success")
            return _back(course, f"module-{module.id}")
    return render_template(
        "courses/item_form.html", form=form, course=course, heading=_("Edit module")
    )


@bp.post("/courses/<code>/modules/<int:module_id>/delete")
@login_required
def delete_module(code: str, module_id: int):
    course = staff_course(code, current_user)
    module = _course_module(course, module_id)
    if ConfirmForm().validate_on_submit():
        try:
            ops.delete_module(module, actor=_actor())
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Module deleted."), "success")
    return _back(course)


@bp.post("/courses/<code>/modules/<int:module_id>/move")
@login_required
def move_module(code: str, module_id: int):
    course = staff_course(code, current_user)
    module = _course_module(course, module_id)
    form = MoveForm()
    if form.validate_on_submit():
        ops.move_module(module, form.direction.data, actor=_actor())
    return _back(course, f"module-{module.id}")


# --- authoring: lessons ----------------------------------------------------


def _course_lesson(course: Course, lesson_id: int) -> Lesson:
    lesson = db.get_or_404(Lesson, lesson_id)
    if lesson.module.course_id != course.id:
        abort(404)
    return lesson


def _lesson_preview(form: LessonForm) -> dict | None:
    if not form.preview.data:
        return None
    return {"en": render_markdown(form.body_en.data), "bg": render_markdown(form.body_bg.data)}


@bp.route("/courses/<code>/modules/<int:module_id>/lessons/new", methods=["GET", "POST"])
@login_required
def new_lesson(code: str, module_id: int):
    course = staff_course(code, current_user)
    module = _course_module(course, module_id)
    form = LessonForm()
    preview = None
    if form.validate_on_submit():
        preview = _lesson_preview(form)
        if preview is None:
            try:
                lesson = ops.add_lesson(
                    module,
                    title_en=form.title_en.data,
                    title_bg=form.title_bg.data,
                    body_en=form.body_en.data,
                    body_bg=form.body_bg.data,
                    workload_minutes=form.workload_minutes.data,
                    required=form.required.data,
                    published=form.published.data,
                    actor=_actor(),
                )
            except ops.CurriculumError as error:
                _fail(error)
            else:
                flash(_("Lesson added."), "success")
                return _back(course, f"lesson-{lesson.id}")
    return render_template(
        "courses/lesson_form.html",
        form=form,
        course=course,
        module=module,
        lesson=None,
        preview=preview,
    )


@bp.route("/courses/<code>/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lesson(code: str, lesson_id: int):
    course = staff_course(code, current_user, contents=True)
    lesson = _course_lesson(course, lesson_id)
    form = LessonForm(obj=lesson, modules=course.modules)
    if not form.is_submitted():
        form.module.data = lesson.module_id
    preview = None
    if form.validate_on_submit():
        preview = _lesson_preview(form)
        if preview is None:
            target = next(m for m in course.modules if m.id == form.module.data)
            try:
                ops.update_lesson(
                    lesson,
                    title_en=form.title_en.data,
                    title_bg=form.title_bg.data,
                    body_en=form.body_en.data,
                    body_bg=form.body_bg.data,
                    workload_minutes=form.workload_minutes.data,
                    required=form.required.data,
                    module=target,
                    actor=_actor(),
                )
                ops.set_lesson_published(lesson, form.published.data, actor=_actor())
            except ops.CurriculumError as error:
                _fail(error)
            else:
                flash(_("Lesson saved."), "success")
                return _back(course, f"lesson-{lesson.id}")
    return render_template(
        "courses/lesson_form.html",
        form=form,
        course=course,
        module=lesson.module,
        lesson=lesson,
        preview=preview,
    )


@bp.post("/courses/<code>/lessons/<int:lesson_id>/publish")
@login_required
def publish_lesson(code: str, lesson_id: int):
    course = staff_course(code, current_user)
    lesson = _course_lesson(course, lesson_id)
    form = PublishForm()
    if form.validate_on_submit():
        published = form.published.data == "1"
        if ops.set_lesson_published(lesson, published, actor=_actor()):
            flash(
                _("Lesson published.") if published else _("Lesson returned to draft."),
                "success",
            )
    return _back(course, f"lesson-{lesson.id}")


@bp.post("/courses/<code>/lessons/<int:lesson_id>/move")
@login_required
def move_lesson(code: str, lesson_id: int):
    course = staff_course(code, current_user)
    lesson = _course_lesson(course, lesson_id)
    form = MoveForm()
    if form.validate_on_submit():
        ops.move_lesson(lesson, form.direction.data, actor=_actor())
    return _back(course, f"lesson-{lesson.id}")


@bp.post("/courses/<code>/lessons/<int:lesson_id>/delete")
@login_required
def delete_lesson(code: str, lesson_id: int):
    course = staff_course(code, current_user)
    lesson = _course_lesson(course, lesson_id)
    if ConfirmForm().validate_on_submit():
        try:
            ops.delete_lesson(lesson, actor=_actor())
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Lesson deleted."), "success")
    return _back(course)


# --- authoring: learning outcomes ------------------------------------------


def _course_outcome(course: Course, outcome_id: int) -> LearningOutcome:
    outcome = db.get_or_404(LearningOutcome, outcome_id)
    if outcome.course_id != course.id:
        abort(404)
    return outcome


@bp.route("/courses/<code>/outcomes/new", methods=["GET", "POST"])
@login_required
def new_outcome(code: str):
    course = staff_course(code, current_user)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            ops.add_outcome(
                course, text_en=form.text_en.data, text_bg=form.text_bg.data, actor=_actor()
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Learning outcome added."), "success")
            return _back(course, "outcomes")
    return render_template(
        "courses/item_form.html", form=form, course=course, heading=_("New learning outcome")
    )


@bp.route("/courses/<code>/outcomes/<int:outcome_id>/edit", methods=["GET", "POST"])
@login_required
def edit_outcome(code: str, outcome_id: int):
    course = staff_course(code, current_user)
    outcome = _course_outcome(course, outcome_id)
    form = OutcomeForm(obj=outcome)
    if form.validate_on_submit():
        try:
            ops.update_outcome(
                outcome, text_en=form.text_en.data, text_bg=form.text_bg.data, actor=_actor()
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Learning outcome saved."), "success")
            return _back(course, "outcomes")
    return render_template(
        "courses/item_form.html", form=form, course=course, heading=_("Edit learning outcome")
    )


@bp.post("/courses/<code>/outcomes/<int:outcome_id>/move")
@login_required
def move_outcome(code: str, outcome_id: int):
    course = staff_course(code, current_user)
    outcome = _course_outcome(course, outcome_id)
    form = MoveForm()
    if form.validate_on_submit():
        ops.move_outcome(outcome, form.direction.data, actor=_actor())
    return _back(course, "outcomes")


@bp.post("/courses/<code>/outcomes/<int:outcome_id>/delete")
@login_required
def delete_outcome(code: str, outcome_id: int):
    course = staff_course(code, current_user)
    outcome = _course_outcome(course, outcome_id)
    if ConfirmForm().validate_on_submit():
        ops.delete_outcome(outcome, actor=_actor())
        flash(_("Learning outcome deleted."), "success")
    return _back(course, "outcomes")


# --- authoring: programmes (admins) ----------------------------------------


def _programme_or_404(code: str) -> Programme:
    item = queries.programme_by_code(code)
    if item is None:
        abort(404)
    return item


@bp.route("/teaching/programmes/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_programme():
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            item = ops.create_programme(
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                summary_en=form.summary_en.data,
                summary_bg=form.summary_bg.data,
                courses=form.course_list,
                actor=_actor(),
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Programme %(code)s created as a draft.", code=item.code), "success")
            return redirect(url_for("courses.programme", code=item.code))
    return render_template("courses/programme_form.html", form=form, programme=None)


@bp.route("/programmes/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_programme(code: str):
    item = _programme_or_404(code)
    form = ProgrammeForm(obj=item, programme=item)
    if not form.is_submitted():
        form.courses.data = "\n".join(c.code for c in item.courses)
    if form.validate_on_submit():
        try:
            ops.update_programme(
                item,
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                summary_en=form.summary_en.data,
                summary_bg=form.summary_bg.data,
                courses=form.course_list,
                actor=_actor(),
            )
        except ops.CurriculumError as error:
            _fail(error)
        else:
            flash(_("Programme saved."), "success")
            return redirect(url_for("courses.programme", code=item.code))
    return render_template("courses/programme_form.html", form=form, programme=item)


@bp.post("/programmes/<code>/state")
@roles_required(Role.ADMIN)
def programme_state(code: str):
    item = _programme_or_404(code)
    form = StateForm()
    if form.validate_on_submit():
        ops.set_programme_state(item, form.state.data, actor=_actor())
        flash(_("Programme saved."), "success")
    return redirect(url_for("courses.programme", code=item.code))
