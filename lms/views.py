"""Home page and language choice."""

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_login import current_user

from lms.extensions import db
from lms.urls import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("enrolment.dashboard"))
    return redirect(url_for("courses.catalogue"))


@bp.post("/language")
def set_language():
    """Remember the chosen language in the session, and for a signed-in user, on the account."""
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["locale"] = language
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.get("/healthz")
def health():
    return {"status": "ok"}
