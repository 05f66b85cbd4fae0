"""Competency frameworks (admins), course mappings and evidence (course staff), trainee records."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

import courses.gradebook.models  # noqa: F401 - the transcript reads completions
from courses.access import staff_course
from courses.assessments.models import Assessment
from courses.competencies import operations as ops
from courses.competencies import queries
from courses.competencies.forms import (
    MAX_LEVELS,
    CompetencyForm,
    EvidenceForm,
    FrameworkForm,
    ImportConfirmForm,
    ImportForm,
    MappingForm,
    ScaleForm,
    WithdrawForm,
)
from courses.competencies.models import (
    AssessmentCompetency,
    Competency,
    Evidence,
    Framework,
    OutcomeCompetency,
)
from courses.models import Course, LearningOutcome
from courses.transcript_pdf import TranscriptPDF
from lms import web
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.home import learns
from lms.models import Role, User
from lms.pdfsign import sign_pdf
from lms.permissions import require, roles_required

logger = logging.getLogger(__name__)

bp = Blueprint("competencies", __name__, template_folder="../templates")


def _me() -> User:
    return current_user._get_current_object()


def _fail(error: ops.CompetencyError) -> None:
    web.refuse()
    flash(error.message, "danger")


def _framework_or_404(framework_id: int) -> Framework:
    framework = queries.framework_or_none(framework_id)
    if framework is None:
        abort(404)
    return framework


# --- frameworks (admins) ---------------------------------------------------


@bp.get("/competencies/frameworks")
@roles_required(Role.ADMIN)
def frameworks():
    return render_template("competencies/frameworks.html", frameworks=queries.frameworks())


@bp.route("/competencies/frameworks/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def framework_new():
    form = FrameworkForm()
    if form.validate_on_submit():
        try:
            framework = ops.create_framework(
                code=form.code.data,
                name_en=form.name_en.data,
                name_bg=form.name_bg.data,
                description_en=form.description_en.data,
                description_bg=form.description_bg.data,
                source=form.source.data,
                actor=_me(),
            )
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(
                _("Framework %(code)s created with a five-level scale.", code=framework.code),
                "success",
            )
            return redirect(url_for("competencies.framework", framework_id=framework.id))
    return render_template("competencies/framework_form.html", form=form, framework=None)


@bp.get("/competencies/frameworks/<int:framework_id>")
@roles_required(Role.ADMIN)
def framework(framework_id: int):
    item = _framework_or_404(framework_id)
    return render_template(
        "competencies/framework.html", framework=item, tree=queries.tree(item.competencies)
    )


@bp.route("/competencies/frameworks/<int:framework_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def framework_edit(framework_id: int):
    item = _framework_or_404(framework_id)
    form = FrameworkForm(obj=item)
    if form.validate_on_submit():
        try:
            ops.update_framework(
                item,
                code=form.code.data,
                name_en=form.name_en.data,
                name_bg=form.name_bg.data,
                description_en=form.description_en.data,
                description_bg=form.description_bg.data,
                source=form.source.data,
                actor=_me(),
            )
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Framework saved."), "success")
            return redirect(url_for("competencies.framework", framework_id=item.id))
    return render_template("competencies/framework_form.html", form=form, framework=item)


@bp.route("/competencies/frameworks/<int:framework_id>/scale", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def scale(framework_id: int):
    item = _framework_or_404(framework_id)
    form = ScaleForm()
    if not form.is_submitted():
        for level in item.levels:
            form.levels.append_entry(
                {"level_id": level.id, "name_en": level.name_en, "name_bg": level.name_bg}
            )
        while len(form.levels.entries) < min(len(item.levels) + 2, MAX_LEVELS):
            form.levels.append_entry()
        form.proficient.data = next(
            (n for n, level in enumerate(item.levels) if level.proficient), None
        )
    form.proficient.choices = [(n, str(n + 1)) for n in range(len(form.levels.entries))]
    if form.validate_on_submit():
        rows = []
        proficient = form.proficient.data
        for n, entry in enumerate(form.levels.entries):
            data = entry.form
            if not (data.name_en.data or data.name_bg.data):
                if n < form.proficient.data:
                    proficient -= 1
                continue  # a spare row left empty, or a level cleared to remove it
            rows.append(ops.LevelInput(data.level_id.data, data.name_en.data, data.name_bg.data))
        try:
            ops.save_scale(item, rows, proficient=proficient, actor=_me())
        except ops.CompetencyError as error:
            _fail(error)
            item = _framework_or_404(framework_id)
        else:
            flash(_("Scale saved."), "success")
            return redirect(url_for("competencies.framework", framework_id=item.id))
    return render_template("competencies/scale.html", form=form, framework=item)


# --- competencies (admins) -------------------------------------------------


def _parent(form: CompetencyForm) -> Competency | None:
    return db.session.get(Competency, form.parent.data) if form.parent.data else None


def _candidates(item: Framework, competency: Competency | None):
    return [
        (c, depth)
        for c, depth in queries.tree(item.competencies)
        if competency is None or c.id != competency.id
    ]


@bp.route("/competencies/frameworks/<int:framework_id>/competencies/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def competency_new(framework_id: int):
    item = _framework_or_404(framework_id)
    form = CompetencyForm(candidates=_candidates(item, None))
    if not form.is_submitted():
        form.parent.data = request.args.get("parent", type=int)
    if form.validate_on_submit():
        try:
            competency = ops.create_competency(
                item,
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                description_en=form.description_en.data,
                description_bg=form.description_bg.data,
                parent=_parent(form),
                esco_uris=ops.split_list(form.esco_text.data),
                ecf_codes=ops.split_list(form.ecf_text.data),
                actor=_me(),
            )
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Competency %(code)s added.", code=competency.code), "success")
            return redirect(
                url_for("competencies.framework", framework_id=item.id)
                + f"#competency-{competency.id}"
            )
    return render_template(
        "competencies/competency_form.html", form=form, framework=item, competency=None
    )


@bp.route("/competencies/<int:competency_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def competency_edit(competency_id: int):
    competency = db.get_or_404(Competency, competency_id)
    item = _framework_or_404(competency.framework_id)
    form = CompetencyForm(obj=competency, candidates=_candidates(item, competency))
    if not form.is_submitted():
        form.parent.data = competency.parent_id
        form.esco_text.data = "\n".join(competency.esco_uris)
        form.ecf_text.data = " ".join(competency.ecf_codes)
    if form.validate_on_submit():
        try:
            ops.update_competency(
                competency,
                code=form.code.data,
                title_en=form.title_en.data,
                title_bg=form.title_bg.data,
                description_en=form.description_en.data,
                description_bg=form.description_bg.data,
                parent=_parent(form),
                esco_uris=ops.split_list(form.esco_text.data),
                ecf_codes=ops.split_list(form.ecf_text.data),
                actor=_me(),
            )
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Competency saved."), "success")
            return redirect(
                url_for("competencies.framework", framework_id=item.id)
                + f"#competency-{competency.id}"
            )
    return render_template(
        "competencies/competency_form.html", form=form, framework=item, competency=competency
    )


@bp.route("/competencies/frameworks/<int:framework_id>/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def import_csv(framework_id: int):
    """Upload a CSV, see every row checked, then import all rows or none."""
    item = _framework_or_404(framework_id)
    upload = ImportForm()
    confirm = ImportConfirmForm()
    if request.method == "POST" and "content" in request.form:
        if confirm.validate_on_submit():
            try:
                data = base64.b64decode(confirm.content.data.encode("ascii"), validate=True)
            except (binascii.Error, ValueError, UnicodeEncodeError):
                flash(_("The upload was damaged on the way. Upload the file again."), "danger")
                return redirect(url_for("competencies.import_csv", framework_id=item.id))
            try:
                created = ops.import_competencies(item, data, actor=_me())
            except ops.ImportRejected as error:
                web.refuse()
                return _preview(item, data, confirm, error.message)
            flash(
                ngettext(
                    "%(num)s competency imported into %(code)s.",
                    "%(num)s competencies imported into %(code)s.",
                    len(created),
                    code=item.code,
                ),
                "success",
            )
            return redirect(url_for("competencies.framework", framework_id=item.id))
        flash(_("The upload was damaged on the way. Upload the file again."), "danger")
    elif upload.validate_on_submit():
        data = upload.file.data.read(ops.framework_csv.MAX_BYTES + 1)
        confirm.content.data = base64.b64encode(data).decode("ascii")
        return _preview(item, data, confirm, None)
    return render_template("competencies/import.html", form=upload, framework=item)


def _preview(item: Framework, data: bytes, confirm: ImportConfirmForm, message: str | None):
    parsed = ops.check_import(item, data)
    if message:
        flash(message, "danger")
    status = 200 if parsed.ok else 422
    return (
        render_template(
            "competencies/import_preview.html",
            framework=item,
            parsed=parsed,
            rows=parsed.rows,
            form=confirm,
            parent_codes={row.code: row.parent_code for row in parsed.rows},
        ),
        status,
    )


# --- course mappings and evidence (course staff) ---------------------------


@bp.route("/courses/<code>/competencies", methods=["GET", "POST"])
@login_required
def course_mappings(code: str):
    course = staff_course(code, current_user)
    data = queries.course_mappings(course)
    form = MappingForm(
        assessments=data.assessments,
        outcomes=data.outcomes,
        competencies=queries.competency_choices(),
        levels=queries.level_choices(),
    )
    if form.validate_on_submit():
        target = form.chosen_target
        try:
            if isinstance(target, LearningOutcome):
                ops.map_outcome(target, form.chosen_competency, form.chosen_level, actor=_me())
            else:
                ops.map_assessment(target, form.chosen_competency, form.chosen_level, actor=_me())
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Mapping saved."), "success")
            return redirect(url_for("competencies.course_mappings", code=course.code))
    return render_template(
        "competencies/course_mappings.html",
        course=course,
        data=data,
        form=form,
        confirm_form=ConfirmForm(),
    )


@bp.post("/courses/<code>/competencies/assessment-mappings/<int:mapping_id>/delete")
@login_required
def unmap_assessment(code: str, mapping_id: int):
    course = staff_course(code, current_user)
    mapping = db.get_or_404(AssessmentCompetency, mapping_id)
    if mapping.assessment.course_id != course.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        ops.unmap_assessment(mapping, actor=_me())
        flash(_("Mapping removed. Evidence already recorded stays."), "success")
    return redirect(url_for("competencies.course_mappings", code=course.code))


@bp.post("/courses/<code>/competencies/outcome-mappings/<int:mapping_id>/delete")
@login_required
def unmap_outcome(code: str, mapping_id: int):
    course = staff_course(code, current_user)
    mapping = db.get_or_404(OutcomeCompetency, mapping_id)
    if mapping.outcome.course_id != course.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        ops.unmap_outcome(mapping, actor=_me())
        flash(_("Mapping removed."), "success")
    return redirect(url_for("competencies.course_mappings", code=course.code))


@bp.route("/courses/<code>/evidence/new", methods=["GET", "POST"])
@login_required
def evidence_new(code: str):
    course = staff_course(code, current_user)
    form = EvidenceForm(
        trainees=queries.trainees(course),
        competencies=queries.competency_choices(),
        levels=queries.level_choices(),
    )
    if not form.is_submitted():
        form.trainee.data = request.args.get("trainee", type=int)
    if form.validate_on_submit():
        trainee = form.trainees[form.trainee.data]
        try:
            ops.record_evidence(
                trainee,
                form.chosen_competency,
                form.chosen_level,
                actor=_me(),
                note=form.note.data,
                course=course,
            )
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Evidence recorded for %(name)s.", name=trainee.display_name), "success")
            return redirect(url_for("competencies.profile", user_id=trainee.id))
    return render_template("competencies/evidence_form.html", course=course, form=form)


@bp.post("/competencies/evidence/<int:evidence_id>/withdraw")
@login_required
def evidence_withdraw(evidence_id: int):
    row = db.get_or_404(Evidence, evidence_id)
    require(ops.can_withdraw(current_user, row))
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            ops.withdraw_evidence(row, actor=_me(), note=form.note.data)
        except ops.CompetencyError as error:
            _fail(error)
        else:
            flash(_("Evidence withdrawn."), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for("competencies.profile", user_id=row.user_id) + f"#evidence-{row.id}")


# --- trainee record --------------------------------------------------------


def _trainee_or_404(user_id: int) -> User:
    trainee = db.get_or_404(User, user_id)
    require(queries.can_view_record(current_user, trainee))
    return trainee


def _render_profile(trainee: User):
    record = queries.profile(trainee)
    withdrawable = {
        line.row.id
        for item in record.frameworks
        for row in item.rows
        for line in row.evidence
        if line.state == queries.EvidenceState.COUNTS and ops.can_withdraw(current_user, line.row)
    }
    return render_template(
        "competencies/profile.html",
        record=record,
        trainee=trainee,
        own=trainee.id == current_user.id,
        withdrawable=withdrawable,
        states=queries.EvidenceState,
    )


@bp.get("/competencies/profile")
@login_required
def my_profile():
    require(learns(_me()))  # only people who learn have a competency profile of their own
    return _render_profile(_me())


@bp.get("/competencies/trainees/<int:user_id>")
@login_required
def profile(user_id: int):
    return _render_profile(_trainee_or_404(user_id))


def _transcript(trainee: User):
    snapshot = queries.transcript_snapshot(trainee)
    snapshot = dataclasses.replace(
        snapshot, centre_name=current_app.config.get("CENTRE_NAME") or snapshot.centre_name
    )
    pdf = sign_pdf(TranscriptPDF(snapshot).render())
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="transcript-{trainee.id}-{snapshot.issued_on.isoformat()}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    logger.info("transcript of user %s rendered for %s", trainee.id, current_user.id)
    return response


@bp.get("/competencies/transcript.pdf")
@login_required
def my_transcript():
    require(learns(_me()))  # an employer or a certifier has no transcript to download
    return _transcript(_me())


@bp.get("/competencies/trainees/<int:user_id>/transcript.pdf")
@login_required
def transcript(user_id: int):
    return _transcript(_trainee_or_404(user_id))


@bp.app_context_processor
def competency_helpers():
    """Let other pages' includes ask whether a course has competency mappings."""
    return {"competency_mapping_count": _mapping_count}


def _mapping_count(course: Course) -> int:
    return (
        db.session.execute(
            sa.select(sa.func.count(AssessmentCompetency.id))
            .join(AssessmentCompetency.assessment)
            .where(Assessment.course_id == course.id)
        ).scalar_one()
        + db.session.execute(
            sa.select(sa.func.count(OutcomeCompetency.id))
            .join(OutcomeCompetency.outcome)
            .where(LearningOutcome.course_id == course.id)
        ).scalar_one()
    )
