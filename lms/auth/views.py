"""Registration, log-in, log-out, the account page and password reset."""

from __future__ import annotations

import logging
import math
import time

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from lms import web
from lms.api.models import ApiToken
from lms.auth import operations as ops
from lms.auth import sessions, throttle
from lms.auth.forms import (
    ROLE_LABELS,
    AccountForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    RegistrationForm,
    ResetPasswordForm,
)
from lms.db import utcnow
from lms.extensions import db, limiter, remote_address
from lms.i18n import current_language
from lms.models import UserSession
from lms.urls import safe_next

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


# --- rate limits -----------------------------------------------------------
# Log-in attempts are throttled in lms.auth.throttle (failures only, device
# cookies). A password typed again by a logged-in user counts failures per
# account; registration and password links count every attempt per address.


def _per_account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _account_key() -> str:
    return f"account-id:{current_user.id}"


def _address_key() -> str:
    return "address:" + remote_address()


def _attempt_failed(response) -> bool:
    # A password check that succeeds redirects; anything else is a failure.
    return not 300 <= response.status_code < 400


per_account = limiter.limit(
    _per_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_attempt_failed
)
per_address = limiter.limit(_per_address_limit, key_func=_address_key, methods=["POST"])


def _refusal_page(seconds: int | None) -> str:
    """Render the page explaining a refused attempt and how long to wait."""
    web.refuse()
    logger.info("refused %s from %s: too many attempts", request.endpoint, remote_address())
    minutes = max(1, math.ceil(seconds / 60)) if seconds else None
    return render_template("auth/too_many_attempts.html", minutes=minutes)


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded):
    """Explain an attempt Flask-Limiter refused; it adds the Retry-After header itself."""
    window = limiter.current_limit
    seconds = max(1, math.ceil(window.reset_at - time.time())) if window is not None else None
    return _refusal_page(seconds), 429


def _redirect_after_login():
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))


# --- log-in and log-out ----------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return _redirect_after_login()
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        email = form.email.data
        account = ops.find_user_by_email(email)
        wait = throttle.wait_before_login(email, account)
        if wait is not None:
            return _refusal_page(wait), 429, {"Retry-After": str(wait)}
        try:
            user = ops.authenticate(email, form.password.data)
        except ops.AccountError as failure:
            error = str(failure)
            status = 403 if isinstance(failure, ops.AccountInactive) else 200
            if isinstance(failure, ops.LoginFailed):
                throttle.record_failure(email, account)
        else:
            _log_in(user, remember=form.remember.data, password_confirmed=True)
            ops.record_login(user)
            if user.locale:
                session["locale"] = user.locale
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            return throttle.remember_device(_redirect_after_login(), user)
    return render_template("auth/login.html", form=form, error=error), status


def _log_in(user, *, remember: bool = False, password_confirmed: bool = False) -> None:
    """Open a server-side session for ``user`` on this device and set its cookies."""
    sessions.start(
        user,
        address=remote_address(),
        user_agent=request.user_agent.string,
        remember=remember,
        password_confirmed=password_confirmed,
    )
    login_user(user, remember=remember, duration=sessions.lifetime(remember))


@bp.post("/logout")
def logout():
    record = sessions.current()
    if record is not None:
        sessions.end(record, actor=current_user._get_current_object())
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.index"))


# --- registration ----------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@per_address
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            ops.register_trainee(
                email=form.email.data, name=form.name.data, locale=current_language()
            )
        except ops.AccountError as failure:
            web.refuse()
            form.name.errors = [*form.name.errors, str(failure)]
        else:
            # The same answer for a new address and one that has an account.
            flash(
                _(
                    "We have sent a message to %(email)s. Follow the link in it to choose "
                    "your password and finish creating your account.",
                    email=form.email.data,
                ),
                "info",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


# --- the account page ------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    form = AccountForm(obj=user)
    if request.method == "GET" and not user.locale:
        form.locale.data = current_language()
    if form.validate_on_submit():
        try:
            ops.update_profile(
                user,
                name=form.name.data,
                locale=form.locale.data,
                name_latin=form.name_latin.data,
            )
        except ops.AccountError as failure:
            web.refuse()
            flash(str(failure), "danger")
        else:
            session["locale"] = user.locale
            flash(_("Your details have been saved."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form, user=user, role_labels=ROLE_LABELS)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@per_account
def change_password():
    user = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ops.change_password(
                user,
                current=form.current_password.data,
                new=form.password.data,
                keep=sessions.current(),
                revoke_tokens=form.revoke_tokens.data,
            )
        except ops.AccountError as failure:
            web.refuse()
            form.current_password.errors = [*form.current_password.errors, str(failure)]
        else:
            flash(_("Your password has been changed. Your other sessions have ended."), "success")
            if form.revoke_tokens.data:
                flash(_("Your API tokens have been revoked."), "info")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


# --- sessions, devices and tokens ------------------------------------------


@bp.get("/account/sessions")
@login_required
def account_sessions():
    """List where the user is logged in and which API tokens work, each with a way to end it."""
    user = current_user._get_current_object()
    now = utcnow()
    tokens = db.session.scalars(
        sa.select(ApiToken)
        .where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    current = sessions.current()
    # This device first, then the others, most recently used first.
    records = sorted(sessions.open_sessions(user), key=lambda record: record is not current)
    return render_template(
        "auth/sessions.html",
        sessions=records,
        current=current,
        tokens=tokens,
        form=FlaskForm(),
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """End one of the user's sessions; ending this one logs out here."""
    record = db.get_or_404(UserSession, session_id)
    user = current_user._get_current_object()
    if record.user_id != user.id:
        abort(404)  # someone else's session: do not confirm it exists
    if not FlaskForm().validate_on_submit():
        abort(400)
    current = sessions.current()
    this_one = current is not None and record.id == current.id
    sessions.end(record, actor=user, reason="logout" if this_one else "ended")
    if this_one:
        logout_user()
        flash(_("You have logged out."), "info")
        return redirect(url_for("main.index"))
    flash(_("The session has ended: that device is logged out."), "success")
    return redirect(url_for("auth.account_sessions"))


@bp.route("/account/confirm-password", methods=["GET", "POST"])
@login_required
@per_account
def confirm_password():
    """Ask for the password again before something sensitive, such as creating an API token."""
    form = ConfirmPasswordForm()
    target = safe_next(request.args.get("next")) or url_for("auth.account")
    if form.validate_on_submit():
        try:
            sessions.confirm_password(sessions.current(), form.password.data)
        except sessions.SessionError as failure:
            web.refuse()
            form.password.errors = [*form.password.errors, str(failure)]
        else:
            return redirect(target)
    return render_template("auth/confirm_password.html", form=form, minutes=_confirmation_minutes())


def _confirmation_minutes() -> int:
    return int(sessions.CONFIRMATION_WINDOW.total_seconds() // 60)


# --- forgotten passwords ---------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@per_address
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data)
        # The same answer whether or not the address has an account.
        flash(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. Please check your e-mail."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@per_address
def reset_password(token: str):
    # The token is in the URL: keep it out of Referer headers.
    headers = {"Referrer-Policy": "no-referrer"}
    try:
        user = ops.user_for_password_token(token)
    except ops.InvalidToken as failure:
        return render_template("auth/reset_invalid.html", message=str(failure)), 400, headers
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            ops.reset_password_with_token(token, form.password.data)
        except ops.AccountError as failure:
            web.refuse()
            form.password.errors = [*form.password.errors, str(failure)]
        else:
            _log_in(user, password_confirmed=True)
            ops.record_login(user)
            flash(_("Your new password is saved and you are logged in."), "success")
            return throttle.remember_device(redirect(url_for("main.index")), user)
    return render_template("auth/reset_password.html", form=form, user=user), 200, headers
