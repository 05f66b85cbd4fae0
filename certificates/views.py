"""Certification pages: schemes (admins), decisions (certifiers), my certificates, downloads."""

from __future__ import annotations

import hashlib
import io

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

from certificates import badges, eligibility, queries, reissue, sharing
from certificates import operations as ops
from certificates.design import preview_png, set_signature
from certificates.eligibility import Standing
from certificates.forms import (
    DesignForm,
    OptionalReasonForm,
    ReasonForm,
    RequirementForm,
    RevokeForm,
    SchemeForm,
    WaiverForm,
)
from certificates.models import Certificate, CertificateStatus, Scheme, SchemeRequirement
from courses.assessments.models import Assessment
from courses.competencies.models import Competency, Framework
from courses.models import Course, Programme
from lms import web
from lms.auth.operations import find_user_by_email
from lms.cors import public_read
from lms.db import utcnow
from lms.extensions import db, limiter
from lms.forms import ConfirmForm
from lms.models import Role, User
from lms.paging import page_arg
from lms.permissions import roles_required

bp = Blueprint("certificates", __name__, template_folder="templates")


def _download_limit() -> str:
    return current_app.config.get("CERTIFICATE_DOWNLOAD_LIMIT", "60 per minute")


def _fail(error: ops.CertificationError) -> None:
    web.refuse()
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
            set_signature(
                scheme,
                form.signature.data,
                remove=form.remove_signature.data,
                actor=current_user,
            )
        except ops.CertificationError as error:
            _fail(error)
        else:
            flash(_("Design of %(code)s saved.", code=scheme.code), "success")
            return redirect(url_for(".design", code=scheme.code))
    version = hashlib.sha256(
        "|".join(
            [
                scheme.design_colour,
                scheme.signatory_name,
                scheme.signatory_title,
                # The images' keys in the file store are their sha256.
                scheme.design_logo_key or "",
                scheme.signature_image_key or "",
            ]
        ).encode()
    ).hexdigest()[:16]
    return render_template(
        "certificates/design.html", scheme=scheme, form=form, preview_version=version
    )


@bp.get("/admin/schemes/<code>/design/preview.png")
@roles_required(Role.ADMIN)
def design_preview(code: str):
    """A sample certificate with the scheme's current design, as an image."""
    scheme = _scheme_or_404(code)
    response = Response(preview_png(scheme), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/admin/schemes/<code>/signature")
@roles_required(Role.ADMIN)
def signature(code: str):
    data = _scheme_or_404(code).signature_image  # read from the file store once
    if not data:
        abort(404)
    response = Response(data, mimetype="image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/admin/schemes/<code>/logo")
@roles_required(Role.ADMIN)
def logo(code: str):
    data = _scheme_or_404(code).design_logo  # read from the file store once
    if not data:
        abort(404)
    response = Response(data, mimetype="image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
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
    standing: Standing | str | None = request.args.get("standing", "", type=str)
    standing = Standing(standing) if standing in {s.value for s in Standing} else None
    return render_template(
        "certificates/queue.html",
        scheme=scheme,
        queue=queries.scheme_queue(scheme, standing=standing, page=page_arg()),
        standing=standing.value if standing else "",
        batch=queries.running_batch(scheme),
        reason_form=ReasonForm(),
    )


@bp.get("/certification/schemes/<code>/issue/<int:user_id>")
@roles_required(Role.CERTIFIER)
def issue_confirm(code: str, user_id: int):
    """What issuing will do, requirement by requirement, before the certifier confirms."""
    scheme = _scheme_or_404(code)
    trainee = db.get_or_404(User, user_id)
    item = queries.scheme_rules([scheme])[scheme.id]
    record = queries.load_records([item], [trainee.id])[trainee.id]
    return render_template(
        "certificates/issue_confirm.html",
        scheme=scheme,
        trainee=trainee,
        eligibility=eligibility.evaluate(item.requirements, record),
        block=queries.reissue_block(scheme, trainee),
        live=ops.live_certificate(scheme, trainee),
        confirm=ConfirmForm(),
    )


@bp.get("/certification/schemes/<code>/batch")
@roles_required(Role.CERTIFIER)
def batch_confirm(code: str):
    """Who a bulk run will issue to, before the certifier confirms."""
    scheme = _scheme_or_404(code)
    pending = queries.running_batch(scheme)
    rows = queries.eligible_queue(scheme)
    return render_template(
        "certificates/batch_confirm.html",
        scheme=scheme,
        rows=rows,
        batch=pending,
        confirm=ConfirmForm(),
    )


@bp.post("/certification/certificates/<code>/clear-reissue")
@roles_required(Role.CERTIFIER)
def clear_reissue(code: str):
    cert = _certificate_or_404(code)
    form = ReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "danger")
    else:
        try:
            reissue.clear(cert, reason=form.reason.data, actor=current_user)
        except ops.CertificationError as error:
            _fail(error)
        else:
            flash(
                _("%(name)s may be certified again.", name=cert.user.display_name),
                "success",
            )
    return redirect(url_for(".queue", code=cert.scheme.code))


@bp.post("/certification/schemes/<code>/issue/<int:user_id>")
@roles_required(Role.CERTIFIER)
def issue(code: str, user_id: int):
    scheme = _scheme_or_404(code)
    trainee = db.get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        # Commits its own short writes; the PDF is made in between with no lock held.
        cert, created = ops.issue_or_get(scheme, trainee, actor=current_user)
    except ops.CertificationError as error:
        _fail(error)
        return redirect(url_for(".queue", code=scheme.code))
    if created:
        flash(
            _("Certificate %(code)s issued to %(name)s.", code=cert.code, name=trainee.name),
            "success",
        )
    else:  # issued meanwhile, e.g. by another certifier at the same moment
        flash(
            _(
                "%(name)s already holds certificate %(code)s; nothing new was issued.",
                code=cert.code,
                name=trainee.name,
            ),
            "info",
        )
    return redirect(url_for(".certificate", code=cert.code))


@bp.get("/certification/register")
@roles_required(Role.CERTIFIER)
def register():
    status = request.args.get("status", "", type=str)
    if status not in {s.value for s in CertificateStatus}:
        status = ""
    page = page_arg()
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
        renewal_problem=ops.renewal_due_reason(cert, utcnow())
        if cert.scheme.renewal_rule
        else None,
    )


def _decide(code: str, form_class, message: str, run):
    """Run a certifier's decision ``run(cert, form)`` on a posted form; flash, go back."""
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


@bp.get("/certification/certificates/<code>/revoke")
@roles_required(Role.CERTIFIER)
def revoke_confirm(code: str):
    """What revoking will do, with the reason to give, before the certifier confirms."""
    cert = _certificate_or_404(code)
    if cert.status == CertificateStatus.REVOKED:
        return redirect(url_for(".certificate", code=cert.code))
    return render_template("certificates/revoke_confirm.html", cert=cert, form=RevokeForm())


@bp.post("/certification/certificates/<code>/revoke")
@roles_required(Role.CERTIFIER)
def revoke(code: str):
    return _decide(
        code,
        RevokeForm,
        _("Certificate revoked."),
        lambda c, f: ops.revoke(
            c, reason=f.reason.data, actor=current_user, in_error=f.in_error.data
        ),
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
        linkedin_url=sharing.linkedin_url,
    )


# --- public downloads ---------------------------------------------------------------------


def _download_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/certificates/<code>.pdf")
@limiter.limit(_download_limit)
def pdf(code: str):
    """Stream the stored PDF, byte for byte as issued (anyone with the code may download)."""
    cert = _certificate_or_404(code)
    response = send_file(
        cert.open_pdf(),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"certificate-{cert.code}.pdf",
        etag=cert.pdf_sha256,
        max_age=300,
    )
    return _download_headers(response)


@bp.get("/credentials/<code>.json")
@public_read
@limiter.limit(_download_limit)
def credential(code: str):
    """Return the signed credential as issued (the same bytes the PDF carries)."""
    cert = _certificate_or_404(code)
    response = Response(ops.credential_bytes(cert.credential), mimetype="application/ld+json")
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{cert.code}.json"'
    return _download_headers(response)


#: How long browsers and displayers may keep a badge image, in seconds.
IMAGE_MAX_AGE = 86400


def _png(data: bytes, *, max_age: int, download_name: str | None = None) -> Response:
    response = send_file(
        io.BytesIO(data),
        mimetype="image/png",
        as_attachment=download_name is not None,
        download_name=download_name,
        etag=hashlib.sha256(data).hexdigest(),
        max_age=max_age,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/achievements/<code>/image.png")
@public_read
def achievement_image(code: str):
    """Return the badge image of a scheme's achievement (drawn once, then cached)."""
    scheme = _scheme_or_404(code)
    response = _png(badges.badge_png(badges.scheme_design(scheme)), max_age=IMAGE_MAX_AGE)
    response.cache_control.public = True
    return response


@bp.get("/issuer/image.png")
@public_read
def issuer_image():
    """Return the issuer's image (drawn once, then cached)."""
    response = _png(badges.badge_png(badges.issuer_design()), max_age=IMAGE_MAX_AGE)
    response.cache_control.public = True
    return response


@bp.get("/credentials/<code>.png")
@public_read
@limiter.limit(_download_limit)
def baked_badge(code: str):
    """Return the scheme's badge image with the signed credential baked into it."""
    cert = _certificate_or_404(code)
    png = badges.badge_png(badges.scheme_design(cert.scheme))
    baked = badges.bake(png, badges.compact_json(cert.credential))
    response = _png(baked, max_age=300, download_name=f"badge-{cert.code}.png")
    return _download_headers(response)
