"""RFC 9457 problem documents for every error under /api/v1."""

from __future__ import annotations

from typing import NoReturn

import marshmallow as ma
from flask import Response
from flask_smorest import abort as _smorest_abort
from werkzeug.exceptions import HTTPException

from lms.errors import problem
from lms.extensions import db

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
}


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(required=True, metadata={"description": "Dotted path of the field"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document (documentation only)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"example": "about:blank"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.List(
        ma.fields.Nested(FieldErrorSchema),
        metadata={"description": "The invalid fields, each with a message (422 only)"},
    )


def abort(
    status: int, detail: str | None = None, *, errors=None, headers=None, **extra
) -> NoReturn:
    """Stop the request with a problem document: ``abort(409, "Already enrolled.")``.

    ``errors`` is a list of ``{"field", "message"}`` or a dict field -> message(s).
    """
    data = {"detail": detail, "extra": extra}
    if errors is not None:
        data["errors"] = errors
    if headers:
        data["headers"] = headers
    _smorest_abort(status, **data)
    raise AssertionError("flask_smorest.abort raises")  # its stubs are missing: Any


def field_errors(messages) -> list[dict]:
    """Flatten marshmallow/webargs messages into ``[{"field", "message"}]``."""
    out: list[dict] = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, (list, tuple)):
            if node and all(isinstance(item, str) for item in node):
                out.extend({"field": ".".join(path) or "body", "message": item} for item in node)
            else:
                for item in node:
                    walk(item, path)
        else:
            out.append({"field": ".".join(path) or "body", "message": str(node)})

    # Our own abort(errors=[{"field","message"}]) passes them ready-made.
    if isinstance(messages, list) and all(isinstance(m, dict) and "field" in m for m in messages):
        return [{"field": str(m["field"]), "message": str(m["message"])} for m in messages]
    if isinstance(messages, dict):
        # webargs nests the messages under the request location: drop it.
        locations = {"json", "query", "querystring", "form", "headers", "files", "view_args"}
        for location, inner in messages.items():
            if location in locations:
                walk(inner, [])
            else:
                walk(inner, [str(location)])
        return out
    walk(messages, [])
    return out


def handle_api_error(error: HTTPException) -> Response:
    """Turn any HTTP error raised in an API view into a problem document."""
    db.session.rollback()
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    detail = data.get("detail") or data.get("message")
    if detail is None and status != 422:
        detail = error.description
    extra = dict(data.get("extra") or {})
    messages = data.get("errors", data.get("messages"))
    if messages is not None:
        extra["errors"] = field_errors(messages)
    if status == 422 and detail is None:
        detail = "The request has invalid fields."
    response = problem(status, TITLES.get(status, error.name), detail, **extra)
    headers = dict(data.get("headers") or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    for name, value in headers.items():
        response.headers[name] = value
    return response
