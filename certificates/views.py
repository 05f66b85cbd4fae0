"""Certification pages: schemes (admins), decisions (certifiers), my certificates, downloads."""

from __future__ import annotations

import io
import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
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
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from certificates import operations as ops
from certificates import queries
from certificates.forms import (
    ConfirmForm,
    DesignForm,
    OptionalReasonForm,
    ReasonForm,
    RequirementForm,
    SchemeForm,
    WaiverForm,
)
from certificates.models import Certificate, CertificateStatus, Scheme, SchemeRequirement
from courses.assessments.models import Assessment
from courses.competencies.models import Competency, Framework
from courses.models import Course, Programme
from lms.auth.operations import find_user_by_email
from lms.extensions import db, limiter
from lms.models import Role, User
from lms.permissions import roles_required

logger = logging.getLogger(__name__)

bp = Blueprint("certificates", __name__, template_folder="templates")


def _download_limit() -> str:
    return current_app.config.get("CERTIFICATE_DOWNLOAD_LIMIT", "60 per minute")


def _fail(error: ops.CertificationError) -> None:
    db.session.rollback()
    flash(error.message, "danger")


def _scheme_or_404(code: str) -> Scheme:
    scheme = queries.scheme_by_code(code)
    if scheme is None:
        abort(404)
    return scheme


def _certificate_or_404(code: str) -> Certificate:
    cert = queries.certificate_by_code(code)
    if cert is None:
        abort(404)
    return cert


# --- admin: schemes ---------------------------------------------------------------


def _programme_choices(form: SchemeForm) -> None:
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.code))
    form.programme.choices = [SelectChoice(0, _("None"))] + [
        SelectChoice(p.id, f"{p.code} — {p.tr('title')}") for p in programmes
    ]


def _scheme_values(form: SchemeForm) -> dict:
    values = form.values()
    values["programme"] = (
        db.session.get(Programme, form.programme.data) if form.programme.data else None
    )
    return values


@bp.get("/admin/schemes")
@roles_required(Role.ADMIN)
def schemes():
    return render_template("certificates/schemes.html", schemes=queries.all_schemes())


@bp.route("/admin/schemes/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def scheme_new():
    form = SchemeForm()
    _programme_choices(form)
    if form.validate_on_submit():
        try:
            scheme = ops.create_scheme(
                code=form.code.data, actor=current_user, **_scheme_values(form)
            )
        except ops.CertificationError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("Scheme %(code)s created.", code=scheme.code), "success")
            return redirect(url_for(".requirements", code=scheme.code))
    return render_template("certificates/scheme_form.html", form=form, scheme=None)


@bp.route("/admin/schemes/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def scheme_edit(code: str):
    scheme = _scheme_or_404(code)
    form = SchemeForm(obj=scheme, scheme=scheme)
    _programme_choices(form)
    if request.method == "GET":
        form.programme.data = scheme.programme_id or 0
        form.esco_uris.data = "\n".join(scheme.esco_uris.split())
    form.code.data = scheme.code  # the code is part of issued credentials: it never changes
    if form.validate_on_submit():
        try:
            ops.update_scheme(scheme, actor=current_user, **_scheme_values(form))
        except ops.CertificationError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("Scheme %(code)s saved.", code=scheme.code), "success")
            return redirect(url_for(".schemes"))
    return render_template("certificates/scheme_form.html", form=form, scheme=scheme)


def _requirement_choices(form: RequirementForm) -> None:
    courses = db.session.scalars(sa.select(Course).order_by(Course.code)).all()
    form.course.choices = [SelectChoice(0, "—")] + [
        SelectChoice(c.id, f"{c.code} — {c.tr('title')}") for c in courses
    ]
    competencies = db.session.execute(
        sa.select(Competency, Framework.code)
        .join(Framework, Framework.id == Competency.framework_id)
        .order_by(Framework.code, Competency.code)
    ).all()
    form.competency.choices = [SelectChoice(0, "—")] + [
        SelectChoice(c.id, f"{fw} {c.code} — {c.tr('title')}") for c, fw in competencies
    ]
    exams = db.session.execute(
        sa.select(Assessment, Course.code)
        .join(Course, Course.id == Assessment.course_id)
        .where(Assessment.kind == "quiz")
        .order_by(Course.code, Assessment.position, Assessment.id)
    ).all()
    form.assessment.choices = [SelectChoice(0, "—")] + [
        SelectChoice(a.id, f"{code}: {a.tr('title')}") for a, code in exams
    ]


@bp.route("/admin/schemes/<code>/requirements", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def requirements(code: str):
    scheme = _scheme_or_404(code)
    form = RequirementForm()
    _requirement_choices(form)
    if form.validate_on_submit():
        try:
            ops.add_requirement(
                scheme,
                kind=form.kind.data,
                actor=current_user,
                course=db.session.get(Course, form.course.data) if form.course.data else None,
                competency=db.session.get(Competency, form.competency.data)
                if form.competency.data
                else None,
                assessment=db.session.get(Assessment, form.assessment.data)
                if form.assessment.data
                else None,
                min_grade=form.min_grade.data,
                min_level=form.min_level.data,
            )
        except ops.CertificationError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("Requirement added."), "success")
            return redirect(url_for(".requirements", code=scheme.code))
    rules = queries.scheme_rules([scheme])[scheme.id]
    return render_template(
        "certificates/requirements.html",
        scheme=scheme,
        rules=rules,
        form=form,
        confirm=ConfirmForm(),
        achievement=_achievement(scheme),
    )


def _achievement(scheme: Scheme):
    import json

    from certificates.achievements import achievement_json

    return json.dumps(achievement_json(scheme), ensure_ascii=False, indent=2)


@bp.post("/admin/schemes/<code>/requirements/<int:requirement_id>/delete")
@roles_required(Role.ADMIN)
def requirement_delete(code: str, requirement_id: int):
    scheme = _scheme_or_404(code)
    row = db.get_or_404(SchemeRequirement, requirement_id)
    if row.scheme_id != scheme.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        ops.remove_requirement(row, actor=current_user)
        db.session.commit()
        flash(_("Requirement removed."), "success")
    return redirect(url_for(".requirements", code=scheme.code))


@bp.route("/admin/schemes/<code>/design", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def design(code: str):
    scheme = _scheme_or_404(code)
    form = DesignForm()
    if request.method == "GET":
        form.colour.data = scheme.design_colour
        form.signatory_name.data = scheme.signatory_name
        form.signatory_title.data = scheme.signatory_title
    if form.validate_on_submit():
        try:
            ops.set_design(
                scheme,
                colour=form.colour.data,
                signatory_name=form.signatory_name.data or "",
                signatory_title=form.signatory_title.data or "",
                logo=form.logo.data,
                remove_logo=form.remove_logo.data,
                actor=current_user,
            )
        except ops.CertificationError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("Design of %(code)s saved.", code=scheme.code), "success")
            return redirect(url_for(".design", code=scheme.code))
    return render_template("certificates/design.html", scheme=scheme, form=form)


@bp.get("/admin/schemes/<code>/logo")
@roles_required(Role.ADMIN)
def logo(code: str):
    scheme = _scheme_or_404(code)
    if not scheme.design_logo:
        abort(404)
    mimetype = "image/png" if scheme.design_logo.startswith(b"\x89PNG") else "image/jpeg"
    response = Response(scheme.design_logo, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/admin/waivers", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def waivers():
    form = WaiverForm()
    if form.validate_on_submit():
        certifier = find_user_by_email(form.certifier_email.data)
        trainee = find_user_by_email(form.trainee_email.data)
        if certifier is None:
            form.certifier_email.errors.append(_("No account has this e-mail."))
        if trainee is None:
            form.trainee_email.errors.append(_("No account has this e-mail."))
        if certifier and trainee:
            try:
                ops.grant_waiver(certifier, trainee, reason=form.reason.data, actor=current_user)
            except ops.CertificationError as error:
                _fail(error)
            else:
                db.session.commit()
                flash(_("Waiver granted."), "success")
                return redirect(url_for(".waivers"))
    return render_template("certificates/waivers.html", form=form, waivers=queries.waivers())


# --- certifiers ----------------------------------------------------------------------


@bp.get("/certification")
@roles_required(Role.CERTIFIER)
def certification():
    return render_template(
        "certificates/certification.html",
        schemes=queries.active_schemes(),
        expiring=queries.nearing_expiry(),
        review=queries.review_list(),
        counts=queries.status_counts(),
    )


@bp.get("/certification/schemes/<code>")
@roles_required(Role.CERTIFIER)
def queue(code: str):
    scheme = _scheme_or_404(code)
    return render_template(
        "certificates/queue.html",
        scheme=scheme,
        rows=queries.eligible_queue(scheme),
        batch=queries.running_batch(scheme),
        confirm=ConfirmForm(),
    )


@bp.post("/certification/schemes/<code>/issue/<int:user_id>")
@roles_required(Role.CERTIFIER)
def issue(code: str, user_id: int):
    scheme = _scheme_or_404(code)
    trainee = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        cert = ops.issue_certificate(scheme, trainee, actor=current_user)
    except ops.CertificationError as error:
        _fail(error)
        return redirect(url_for(".queue", code=scheme.code))
    db.session.commit()
    flash(
        _("Certificate %(code)s issued to %(name)s.", code=cert.code, name=trainee.name), "success"
    )
    return redirect(url_for(".certificate", code=cert.code))


#: Schemes with more eligible trainees than this are issued from the command line.
SYNC_BATCH_LIMIT = 200


@bp.post("/certification/schemes/<code>/batch")
@roles_required(Role.CERTIFIER)
def batch(code: str):
    scheme = _scheme_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pending = queries.running_batch(scheme)
    size = (
        len(pending.user_ids) - pending.position if pending else len(queries.eligible_ids(scheme))
    )
    if size > SYNC_BATCH_LIMIT:
        flash(
            _(
                "%(n)s trainees are too many to issue here; run"
                " “lms certificates issue-batch --scheme %(code)s”.",
                n=size,
                code=scheme.code,
            ),
            "warning",
        )
        return redirect(url_for(".queue", code=scheme.code))
    try:
        result = ops.issue_batch(scheme, current_user, on_chunk=lambda _b: db.session.commit())
    except ops.CertificationError as error:
        _fail(error)
        return redirect(url_for(".queue", code=scheme.code))
    db.session.commit()
    flash(
        _(
            "%(issued)s certificates issued, %(skipped)s skipped.",
            issued=result.issued,
            skipped=result.skipped,
        ),
        "success",
    )
    return redirect(url_for(".queue", code=scheme.code))


@bp.get("/certification/register")
@roles_required(Role.CERTIFIER)
def register():
    status = request.args.get("status", "", type=str)
    if status not in {s.value for s in CertificateStatus}:
        status = ""
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template(
        "certificates/register.html",
        pagination=queries.register_page(page=page, status=status or None),
        status=status,
        statuses=[s.value for s in CertificateStatus],
    )


@bp.get("/certification/certificates/<code>")
@roles_required(Role.CERTIFIER)
def certificate(code: str):
    cert = _certificate_or_404(code)
    return render_template(
        "certificates/certificate.html",
        cert=cert,
        reason_form=ReasonForm(),
        note_form=OptionalReasonForm(),
        confirm=ConfirmForm(),
        renewal_problem=ops.renewal_due_reason(cert, ops.utcnow())
        if cert.scheme.renewal_rule
        else None,
    )


def _decide(code: str, form_class, message: str, run):
    """Run a certifier's decision ``run(cert, form)`` on a posted form; commit, flash, go back."""
    cert = _certificate_or_404(code)
    form = form_class()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
        return redirect(url_for(".certificate", code=cert.code))
    try:
        result = run(cert, form)
    except ops.CertificationError as error:
        _fail(error)
        return redirect(url_for(".certificate", code=cert.code))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".certificate", code=(result or cert).code))


@bp.post("/certification/certificates/<code>/suspend")
@roles_required(Role.CERTIFIER)
def suspend(code: str):
    return _decide(
        code,
        ReasonForm,
        _("Certificate suspended."),
        lambda c, f: ops.suspend(c, reason=f.reason.data, actor=current_user),
    )


@bp.post("/certification/certificates/<code>/reinstate")
@roles_required(Role.CERTIFIER)
def reinstate(code: str):
    return _decide(
        code,
        OptionalReasonForm,
        _("Certificate reinstated."),
        lambda c, f: ops.reinstate(c, reason=f.reason.data or "", actor=current_user),
    )


@bp.post("/certification/certificates/<code>/revoke")
@roles_required(Role.CERTIFIER)
def revoke(code: str):
    return _decide(
        code,
        ReasonForm,
        _("Certificate revoked."),
        lambda c, f: ops.revoke(c, reason=f.reason.data, actor=current_user),
    )


@bp.post("/certification/certificates/<code>/renew")
@roles_required(Role.CERTIFIER)
def renew(code: str):
    return _decide(
        code,
        ConfirmForm,
        _("Certificate renewed; the old one is superseded."),
        lambda c, f: ops.renew_certificate(c, actor=current_user),
    )


@bp.post("/certification/certificates/<code>/reviewed")
@roles_required(Role.CERTIFIER)
def reviewed(code: str):
    return _decide(
        code,
        OptionalReasonForm,
        _("Marked as reviewed."),
        lambda c, f: ops.mark_reviewed(c, note=f.reason.data or "", actor=current_user),
    )


# --- trainees ---------------------------------------------------------------------------


@bp.get("/my/certificates")
@login_required
def mine():
    return render_template(
        "certificates/mine.html",
        certificates=queries.certificates_of(current_user),
        progress=queries.trainee_progress(current_user),
        expiring={c.id for c in queries.nearing_expiry(current_user)},
    )


# --- public downloads ---------------------------------------------------------------------


def _download_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/certificates/<code>.pdf")
@limiter.limit(_download_limit)
def pdf(code: str):
    """Return the stored PDF, byte for byte as issued (anyone with the code may download)."""
    cert = _certificate_or_404(code)
    response = send_file(
        io.BytesIO(cert.pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"certificate-{cert.code}.pdf",
        etag=cert.pdf_sha256,
        max_age=300,
    )
    return _download_headers(response)


@bp.get("/credentials/<code>.json")
@limiter.limit(_download_limit)
def credential(code: str):
    """Return the signed credential as issued (the same bytes the PDF carries)."""
    cert = _certificate_or_404(code)
    response = Response(ops.credential_bytes(cert.credential), mimetype="application/ld+json")
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{cert.code}.json"'
    return _download_headers(response)
