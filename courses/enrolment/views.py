"""Cohorts, enrolment, waiting lists, progress and the trainee dashboard."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from courses.access import staff_course, study_course, visible_course
from courses.enrolment import operations, queries
from courses.enrolment.csv_import import CsvFileError, CsvRow, parse_enrolment_csv
from courses.enrolment.forms import CohortForm, CsvUploadForm, EnrolUserForm
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus, Lesson
from courses.permissions import can_manage_course, can_view_course
from lms import web
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.home import learns
from lms.models import Role
from lms.permissions import roles_required

bp = Blueprint("enrolment", __name__, template_folder="../templates")


def _course_page(course: Course) -> str:
    if can_view_course(current_user, course):
        return url_for("courses.detail", code=course.code)
    return url_for("enrolment.dashboard")


def _me():
    return current_user._get_current_object()


# --- cohorts (course staff) ------------------------------------------------


@bp.get("/courses/<code>/cohorts")
@login_required
def cohorts(code: str):
    course = staff_course(code, current_user)
    summaries = queries.cohort_summaries(course)
    return render_template("enrolment/cohorts.html", course=course, summaries=summaries)


@bp.route("/courses/<code>/cohorts/new", methods=["GET", "POST"])
@login_required
def cohort_new(code: str):
    course = staff_course(code, current_user)
    form = CohortForm(course=course)
    if form.validate_on_submit():
        try:
            cohort = operations.create_cohort(course, form.to_data(), actor=_me())
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Cohort %(name)s created.", name=cohort.tr("name")), "success")
            return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))
    return render_template("enrolment/cohort_form.html", course=course, form=form, cohort=None)


@bp.route("/courses/<code>/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@login_required
def cohort_edit(code: str, cohort_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    form = CohortForm(obj=cohort, course=course, cohort=cohort)
    if form.validate_on_submit():
        try:
            operations.update_cohort(cohort, form.to_data(), actor=_me())
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("Cohort %(name)s saved.", name=cohort.tr("name")), "success")
            return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))
    return render_template("enrolment/cohort_form.html", course=course, form=form, cohort=cohort)


@bp.get("/courses/<code>/cohorts/<int:cohort_id>")
@login_required
def roster(code: str, cohort_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    return render_template(
        "enrolment/roster.html",
        course=course,
        cohort=cohort,
        roster=queries.roster(cohort),
        enrol_form=EnrolUserForm(),
        action_form=ConfirmForm(),
    )


@bp.post("/courses/<code>/cohorts/<int:cohort_id>/enrolments")
@login_required
def staff_enrol(code: str, cohort_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    form = EnrolUserForm()
    if form.validate_on_submit():
        try:
            enrolment = operations.enrol(cohort, form.user, actor=_me(), by_staff=True)
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            if enrolment.status == EnrolmentStatus.ACTIVE:
                flash(_("%(name)s is enrolled.", name=form.user.display_name), "success")
            else:
                flash(
                    _(
                        "The cohort is full: %(name)s is on the waiting list.",
                        name=form.user.display_name,
                    ),
                    "warning",
                )
            return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
    return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))


@bp.post("/courses/<code>/cohorts/<int:cohort_id>/enrolments/<int:enrolment_id>/withdraw")
@login_required
def staff_withdraw(code: str, cohort_id: int, enrolment_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.cohort_id != cohort.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            operations.withdraw(enrolment, actor=_me())
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("%(name)s is withdrawn.", name=enrolment.user.display_name), "success")
    return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))


@bp.get("/courses/<code>/cohorts/<int:cohort_id>/progress")
@login_required
def cohort_progress(code: str, cohort_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    return render_template(
        "enrolment/cohort_progress.html",
        course=course,
        cohort=cohort,
        trainees=queries.cohort_progress(cohort),
    )


# --- CSV bulk enrolment (course staff) ---------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_IMPORT_MAX_AGE = 24 * 3600  # seconds an uploaded, unconfirmed file is kept


def _imports_folder() -> Path:
    folder = Path(current_app.instance_path) / "enrolment-imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _forget_old_imports(folder: Path) -> None:
    cutoff = time.time() - _IMPORT_MAX_AGE
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # removed by another worker


def _store_import(cohort: Cohort, filename: str, rows: list[CsvRow]) -> str:
    """Keep the parsed rows on the server under a random name; the client only gets the name."""
    folder = _imports_folder()
    _forget_old_imports(folder)
    token = secrets.token_urlsafe(24)
    payload = {
        "cohort_id": cohort.id,
        "user_id": current_user.id,
        "filename": filename,
        "rows": [row.to_dict() for row in rows],
    }
    fd = os.open(folder / f"{token}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    return token


def _load_import(cohort: Cohort, token: str) -> tuple[Path, dict]:
    """The stored upload for ``token``, only for the cohort and person who uploaded it."""
    if not _TOKEN.match(token):
        abort(404)
    path = _imports_folder() / f"{token}.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        abort(404)
    if payload.get("cohort_id") != cohort.id or payload.get("user_id") != current_user.id:
        abort(404)
    return path, payload


@bp.route("/courses/<code>/cohorts/<int:cohort_id>/import", methods=["GET", "POST"])
@login_required
def csv_upload(code: str, cohort_id: int):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    form = CsvUploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        max_bytes = current_app.config.get("ENROLMENT_CSV_MAX_BYTES", 1024 * 1024)
        data = upload.stream.read(max_bytes + 1)
        try:
            rows = parse_enrolment_csv(
                data,
                max_rows=current_app.config["ENROLMENT_CSV_MAX_ROWS"],
                max_bytes=max_bytes,
            )
        except CsvFileError as error:
            form.file.errors.append(str(error))
            status = 400
        else:
            token = _store_import(cohort, upload.filename or "", rows)
            return redirect(
                url_for("enrolment.csv_preview", code=course.code, cohort_id=cohort.id, token=token)
            )
    elif form.is_submitted():
        status = 400
    return (
        render_template("enrolment/csv_upload.html", course=course, cohort=cohort, form=form),
        status,
    )


@bp.route("/courses/<code>/cohorts/<int:cohort_id>/import/<token>", methods=["GET", "POST"])
@login_required
def csv_preview(code: str, cohort_id: int, token: str):
    course = staff_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    path, payload = _load_import(cohort, token)
    rows = [CsvRow.from_dict(row) for row in payload["rows"]]
    form = ConfirmForm()
    status = 200
    if form.validate_on_submit():
        try:
            enrolments = operations.import_csv_rows(cohort, rows, actor=_me())
        except operations.CsvImportRefused as error:
            web.refuse()
            flash(str(error), "danger")
            status = 409
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
            status = 409
        else:
            path.unlink(missing_ok=True)
            waitlisted = sum(1 for e in enrolments if e.status == EnrolmentStatus.WAITLISTED)
            flash(
                _(
                    "%(count)s trainees imported, %(waitlisted)s of them on the waiting list.",
                    count=len(enrolments),
                    waitlisted=waitlisted,
                ),
                "success",
            )
            if skipped := len(rows) - len(enrolments):
                flash(
                    ngettext(
                        "%(num)s person was already in this cohort and was skipped.",
                        "%(num)s people were already in this cohort and were skipped.",
                        skipped,
                    ),
                    "info",
                )
            return redirect(url_for("enrolment.roster", code=course.code, cohort_id=cohort.id))
    checks = operations.check_csv_rows(cohort, rows)
    return (
        render_template(
            "enrolment/csv_preview.html",
            course=course,
            cohort=cohort,
            checks=checks,
            problems=sum(1 for c in checks if c.problem),
            skipped=sum(1 for c in checks if c.skipped),
            importable=sum(1 for c in checks if c.imports),
            filename=payload.get("filename", ""),
            form=form,
        ),
        status,
    )


# --- self-enrolment (trainees) -------------------------------------------------


@bp.post("/courses/<code>/cohorts/<int:cohort_id>/enrol")
@roles_required(Role.TRAINEE)
def self_enrol(code: str, cohort_id: int):
    course = visible_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    if ConfirmForm().validate_on_submit():
        try:
            enrolment = operations.enrol(cohort, _me(), actor=_me())
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            if enrolment.status == EnrolmentStatus.ACTIVE:
                flash(_("You are enrolled in %(name)s.", name=cohort.tr("name")), "success")
            else:
                position = queries.waitlist_positions(_me(), [cohort.id]).get(cohort.id)
                flash(
                    _(
                        "The cohort is full: you are number %(position)s on the waiting list. "
                        "You will be enrolled automatically when a place frees up.",
                        position=position,
                    ),
                    "warning",
                )
    return redirect(_course_page(course))


@bp.post("/courses/<code>/cohorts/<int:cohort_id>/withdraw")
@login_required
def self_withdraw(code: str, cohort_id: int):
    course = visible_course(code, current_user)
    cohort = queries.cohort_or_404(course, cohort_id)
    enrolment = db.session.scalar(
        db.select(Enrolment).where(
            Enrolment.cohort_id == cohort.id, Enrolment.user_id == current_user.id
        )
    )
    if enrolment is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            operations.withdraw(enrolment, actor=_me())
        except operations.EnrolmentError as error:
            web.refuse()
            flash(str(error), "danger")
        else:
            flash(_("You have left %(name)s.", name=cohort.tr("name")), "success")
    return redirect(_course_page(course))


# --- studying ------------------------------------------------------------------


def _lesson_of(course: Course, lesson_id: int) -> Lesson:
    """The lesson of ``course``; a draft only for the course's staff."""
    lesson = db.session.get(Lesson, lesson_id, options=[joinedload(Lesson.module)])
    if lesson is None or lesson.module.course_id != course.id:
        abort(404)
    if not lesson.published and not can_manage_course(current_user, course):
        abort(404)
    return lesson


@bp.get("/courses/<code>/lessons/<int:lesson_id>")
@login_required
def lesson(code: str, lesson_id: int):
    course = study_course(code, current_user)
    lesson = _lesson_of(course, lesson_id)
    outline = queries.course_outline(course, drafts=can_manage_course(current_user, course))
    ids = [item.id for item in outline]
    index = ids.index(lesson.id)
    done = queries.done_lesson_ids(current_user, ids)
    return render_template(
        "enrolment/lesson.html",
        course=course,
        lesson=lesson,
        outline=outline,
        done=done,
        previous=outline[index - 1] if index > 0 else None,
        next=outline[index + 1] if index + 1 < len(outline) else None,
        form=ConfirmForm(),
    )


def _set_done(code: str, lesson_id: int, done: bool):
    course = study_course(code, current_user)
    lesson = _lesson_of(course, lesson_id)
    if ConfirmForm().validate_on_submit():
        if done:
            operations.mark_lesson_done(_me(), lesson, actor=_me())
        else:
            operations.mark_lesson_not_done(_me(), lesson, actor=_me())
        if done:
            flash(_("Lesson marked as done."), "success")
        else:
            flash(_("Lesson marked as not done."), "info")
    return redirect(url_for("enrolment.lesson", code=course.code, lesson_id=lesson.id))


@bp.post("/courses/<code>/lessons/<int:lesson_id>/done")
@login_required
def lesson_done(code: str, lesson_id: int):
    return _set_done(code, lesson_id, True)


@bp.post("/courses/<code>/lessons/<int:lesson_id>/not-done")
@login_required
def lesson_not_done(code: str, lesson_id: int):
    return _set_done(code, lesson_id, False)


# --- dashboard -------------------------------------------------------------------


@bp.get("/dashboard")
@login_required
def dashboard():
    me = _me()
    if me.roles and not learns(me):  # staff and employers have their own home
        return redirect(url_for("main.index"))
    return render_template("enrolment/dashboard.html", dashboard=queries.dashboard(_me()))
