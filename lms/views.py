"""Home pages (the visitors' landing page, each role's home), language and role choice."""

from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from lms import home
from lms.db import read_only, writing
from lms.extensions import db
from lms.models import AuditLog, Role, UserRole
from lms.permissions import roles_required
from lms.urls import safe_next

bp = Blueprint("main", __name__)

RECENT_AUDIT_ROWS = 15


@bp.get("/")
def index():
    """Visitors see the centre and its programmes; people who log in go to their work."""
    if current_user.is_authenticated:
        return redirect(url_for(home.home_endpoint(home.acting_role(current_user))))
    return render_template("landing.html", programmes=home.landing_programmes())


@bp.post("/role")
@login_required
def switch_role():
    """Act in another of one's roles: the navigation follows, and the role's home opens."""
    role = home.choose_role(current_user, request.form.get("role", ""))
    if role is None:
        abort(400)
    return redirect(url_for(home.home_endpoint(role)))


@bp.get("/overview")
@roles_required(Role.ADMIN)
def overview():
    """The administrator's home: who uses the centre, what it holds, what changed lately."""
    counts = dict(
        db.session.execute(sa.select(UserRole.role, sa.func.count()).group_by(UserRole.role)).all()
    )
    recent = db.session.scalars(
        sa.select(AuditLog)
        .options(sa.orm.selectinload(AuditLog.actor))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(RECENT_AUDIT_ROWS)
    ).all()
    return render_template(
        "overview.html",
        role_counts=[(role, home.ROLE_LABELS[role], counts.get(str(role), 0)) for role in Role],
        figures=home.overview_figures(),
        recent=recent,
    )


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for at the root, whatever page they show."""
    icon = Path(current_app.static_folder, "favicon.ico").read_bytes()
    response = Response(icon, mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.post("/language")
@read_only
def set_language():
    """Remember the chosen language in the session, and for a signed-in user, on the account.

    Choosing the language already kept writes nothing, so it takes no write lock.
    """
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["locale"] = language
        if current_user.is_authenticated and current_user.locale != language:
            with writing(db.session):
                current_user.locale = language
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.get("/healthz")
def health():
    return {"status": "ok"}


@bp.get("/readyz")
def ready():
    """Check the database, Redis (when configured) and the instance folder: 200 or 503."""
    from lms.health import readiness

    checks, ok = readiness()
    return {"status": "ok" if ok else "down", "checks": checks}, 200 if ok else 503
