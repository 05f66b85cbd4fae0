"""Friendly error pages, and RFC 9457 problem documents under /api/."""

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from lms.extensions import db

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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        db.session.rollback()
        if wants_json():
            return problem(400, "Bad Request", error.description)
        return render_template("errors/csrf.html", error=error), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if wants_json():
            response = problem(error.code or 500, error.name, error.description)
        else:
            template = "errors/%s.html" % (
                error.code if error.code in (403, 404, 429) else "generic"
            )
            response = render_template(template, error=error), error.code
        return response

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
