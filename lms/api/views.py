"""Account pages for personal access tokens: list, create (secret shown once), revoke."""

from __future__ import annotations

from datetime import UTC, datetime, time

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from lms import web
from lms.api import operations as ops
from lms.api.auth import allowed_scopes
from lms.api.forms import SCOPE_LABELS, TokenForm
from lms.api.models import ApiToken
from lms.auth import sessions
from lms.db import utcnow
from lms.extensions import db
from lms.urls import safe_next

bp = Blueprint("api_tokens", __name__, url_prefix="/account/tokens")


def _tokens(user):
    return db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def _page(form, status=200):
    user = current_user._get_current_object()
    return (
        render_template(
            "api/tokens.html",
            form=form,
            tokens=_tokens(user),
            now=utcnow(),
            revoke_form=FlaskForm(),
            scope_labels=SCOPE_LABELS,
            confirmed=sessions.recently_confirmed(sessions.current()),
        ),
        status,
    )


@bp.get("")
@login_required
def index():
    """List the user's tokens beside the form that creates one."""
    return _page(TokenForm(allowed=allowed_scopes(current_user)))


@bp.post("")
@login_required
def create():
    """Create a token and show its secret this once, if the password was typed lately.

    A token outlives the session, so a stolen session cookie alone must not be
    enough to make one.
    """
    user = current_user._get_current_object()
    form = TokenForm(allowed=allowed_scopes(user))
    if not form.validate_on_submit():
        return _page(form, 400)
    if not sessions.recently_confirmed(sessions.current()):
        flash(_("Please type your password again to create a token."), "warning")
        return redirect(url_for("auth.confirm_password", next=url_for("api_tokens.index")))
    # The token lasts to the end of the chosen day (UTC).
    expires_at = datetime.combine(form.expires_on.data, time(23, 59, 59), tzinfo=UTC)
    try:
        token, secret = ops.create_token(
            user, name=form.name.data, scopes=form.scopes.data, expires_at=expires_at
        )
    except ops.TokenError as failure:
        web.refuse()
        form.name.errors = [*form.name.errors, str(failure)]
        return _page(form, 400)
    # Rendered, not redirected: the secret must never travel through the session.
    response = make_response(render_template("api/token_created.html", token=token, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the user's own tokens."""
    token = db.get_or_404(ApiToken, token_id)
    if token.user_id != current_user.id:
        abort(404)  # someone else's token: do not confirm it exists
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.revoke_token(token, actor=current_user._get_current_object())
    except ops.TokenError as failure:
        web.refuse()
        flash(str(failure), "warning")
    else:
        flash(_("The token %(name)s is revoked.", name=token.name), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("api_tokens.index"))
