"""Certifier pages: start a bulk issuance job, watch it, cancel and resume it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certificates import operations as ops
from certificates.bulk import operations as bulk_ops
from certificates.bulk.models import BulkIssueJob
from certificates.models import Scheme
from lms import web
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.models import Role
from lms.permissions import roles_required

bp = Blueprint(
    "bulk",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/bulk",
)


def _scheme_or_404(code: str) -> Scheme:
    scheme = db.session.scalar(db.select(Scheme).where(Scheme.code == code))
    if scheme is None:
        abort(404)
    return scheme


def _job_or_404(job_id: int) -> BulkIssueJob:
    return db.get_or_404(BulkIssueJob, job_id)


@bp.post("/certification/schemes/<code>/bulk")
@roles_required(Role.CERTIFIER)
def start(code: str):
    scheme = _scheme_or_404(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        job = bulk_ops.start(scheme, actor=current_user)
    except ops.CertificationError as error:
        web.refuse()
        flash(error.message, "danger")
        return redirect(url_for("certificates.queue", code=scheme.code))
    return redirect(url_for(".progress_page", job_id=job.id))


@bp.get("/certification/bulk/<int:job_id>")
@roles_required(Role.CERTIFIER)
def progress_page(job_id: int):
    job = _job_or_404(job_id)
    return render_template(
        "bulk/progress.html", job=job, progress=bulk_ops.progress(job), confirm=ConfirmForm()
    )


@bp.get("/certification/bulk/<int:job_id>.json")
@roles_required(Role.CERTIFIER)
def progress_json(job_id: int):
    return bulk_ops.progress(_job_or_404(job_id))


@bp.post("/certification/bulk/<int:job_id>/cancel")
@roles_required(Role.CERTIFIER)
def cancel(job_id: int):
    job = _job_or_404(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bulk_ops.cancel(job, actor=current_user)
    flash(_("The bulk run stops after the chunk in progress."), "info")
    return redirect(url_for(".progress_page", job_id=job.id))


@bp.post("/certification/bulk/<int:job_id>/resume")
@roles_required(Role.CERTIFIER)
def resume(job_id: int):
    job = _job_or_404(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bulk_ops.resume(job, actor=current_user)
    return redirect(url_for(".progress_page", job_id=job.id))
