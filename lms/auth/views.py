"""Registration, log-in, log-out, the account page and password reset."""

from __future__ import annotations

import logging
import math
import time

import sqlalchemy as sa
from flask import (
    Blueprint,
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
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE_NAME

from lms.auth import operations as ops
from lms.auth.forms import (
    EMAIL_MAX,
    ROLE_LABELS,
    AccountForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    RegistrationForm,
    ResetPasswordForm,
)
from lms.extensions import db, limiter, remote_address
from lms.i18n import current_language
from lms.models import Role
from lms.urls import safe_next

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


# --- rate limits -----------------------------------------------------------
# Per address: every attempt counts. Per account: only failures count, so a
# person who logs in and out often is never locked out, while guessing is.


def _per_account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _account_key() -> str:
    if request.endpoint == "auth.change_password" and current_user.is_authenticated:
        return f"account-id:{current_user.id}"
    return "account:" + ops.normalise_email(request.form.get("email", ""))[:EMAIL_MAX]


def _address_key() -> str:
    return "address:" + remote_address()


def _attempt_failed(response) -> bool:
    # A log-in or password change that succeeds redirects; anything else is a failure.
    return not 300 <= response.status_code < 400


per_account = limiter.limit(
    _per_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_attempt_failed
)
per_address = limiter.limit(_per_address_limit, key_func=_address_key, methods=["POST"])


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(error: RateLimitExceeded):
    """Explain a refused attempt; Flask-Limiter adds the Retry-After header."""
    db.session.rollback()
    window = limiter.current_limit
    minutes = None
    if window is not None:
        minutes = max(1, math.ceil((window.reset_at - time.time()) / 60))
    logger.info("refused %s from %s: too many attempts", request.endpoint, remote_address())
    return render_template("auth/too_many_attempts.html", minutes=minutes), 429


def _redirect_after_login():
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))


# --- log-in and log-out ----------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@per_address
@per_account
def login():
    if current_user.is_authenticated:
        return _redirect_after_login()
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.email.data, form.password.data)
        except ops.AccountError as failure:
            error = str(failure)
            status = 403 if isinstance(failure, ops.AccountInactive) else 200
            logger.info("failed log-in from %s", remote_address())
        else:
            login_user(user, remember=form.remember.data)
            ops.record_login(user)
            db.session.commit()
            if user.locale:
                session["locale"] = user.locale
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return _redirect_after_login()
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
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
            user = ops.create_user(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                roles=[Role.TRAINEE],
                locale=current_language(),
            )
            ops.record_login(user)
            db.session.commit()
        except ops.AccountError as failure:
            db.session.rollback()
            form.email.errors = [*form.email.errors, str(failure)]
        except sa.exc.IntegrityError:
            # Two registrations with one address at once: the constraint decides.
            db.session.rollback()
            form.email.errors = [_("An account with this e-mail address already exists.")]
        else:
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
            return redirect(url_for("main.index"))
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
            ops.update_profile(user, name=form.name.data, locale=form.locale.data)
        except ops.AccountError as failure:
            db.session.rollback()
            flash(str(failure), "danger")
        else:
            db.session.commit()
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
            ops.change_password(user, current=form.current_password.data, new=form.password.data)
        except ops.AccountError as failure:
            db.session.rollback()
            form.current_password.errors = [*form.current_password.errors, str(failure)]
        else:
            db.session.commit()
            # The new security stamp ends every other session; renew this one.
            cookie = current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_NAME)
            remembered = cookie in request.cookies
            login_user(user, remember=remembered)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


# --- forgotten passwords ---------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@per_address
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data)
        db.session.commit()
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
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(failure)]
        else:
            ops.record_login(user)
            db.session.commit()
            login_user(user)
            flash(_("Your new password is saved and you are logged in."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/reset_password.html", form=form, user=user), 200, headers
