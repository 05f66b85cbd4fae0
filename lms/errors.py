"""Friendly error pages, and RFC 9457 problem documents under /api/."""

import errno
import logging

import sqlalchemy as sa
from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from lms.exceptions import UserError
from lms.extensions import db
from lms.urls import safe_next

logger = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str | None = None, **extra):
    """Return an ``application/problem+json`` response."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


# PostgreSQL's SQLSTATE for "disk full"; SQLite says so in its message.
_PG_DISK_FULL = "53100"


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` means the disk (or the user's quota) is full."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(error, sa.exc.OperationalError):
        orig = error.orig
        return getattr(orig, "sqlstate", None) == _PG_DISK_FULL or "disk is full" in str(orig)
    return False


def _error_headers(error: HTTPException) -> list[tuple[str, str]]:
    """The headers an HTTP error carries besides its body's type (``Allow`` on a 405)."""
    return [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        if wants_json():
            return problem(400, "Bad Request", error.description)
        return render_template("errors/csrf.html", error=error), 400

    @app.errorhandler(UserError)
    def user_error(error: UserError):
        """A refusal nothing caught: undo the request's changes and tell the user why."""
        db.session.rollback()
        message = str(error.message) or _("This cannot be done.")
        if wants_json():
            title = HTTP_STATUS_CODES.get(error.status, "Unprocessable Content")
            return problem(error.status, title, message)
        if request.method == "GET":
            page = HTTPException(message)
            page.code = error.status  # its name follows from the code
            return render_template("errors/generic.html", error=page), error.status
        flash(message, "danger")
        back = request.referrer or ""
        if back.startswith(request.host_url):
            back = "/" + back[len(request.host_url) :]
        return redirect(safe_next(back) or "/", 303)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if wants_json():
            response = problem(error.code or 500, error.name, error.description)
            response.headers.extend(_error_headers(error))
            return response
        template = "errors/%s.html" % (error.code if error.code in (403, 404, 429) else "generic")
        return render_template(template, error=error), error.code, _error_headers(error)

    @app.errorhandler(OSError)
    @app.errorhandler(sa.exc.OperationalError)
    def storage_error(error: Exception):
        """A full disk: say so with a 503; the transaction is rolled back, nothing changes."""
        if not is_disk_full(error):
            return unexpected_error(error)
        db.session.rollback()
        logger.error("disk full on %s %s: %s", request.method, request.path, error)
        unavailable = ServiceUnavailable(
            _(
                "The server has run out of storage space, so nothing was saved. "
                "Please try again later; the administrators have been alerted."
            )
        )
        if wants_json():
            return problem(503, unavailable.name, unavailable.description)
        return render_template("errors/generic.html", error=unavailable), 503

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        wrapped = InternalServerError()
        if wants_json():
            return problem(500, wrapped.name, "An unexpected error occurred.")
        return render_template("errors/500.html", error=wrapped), 500
