"""Request ids, one access line per request, and JSON log lines.

Every request gets an id: the ``X-Request-ID`` a proxy sent (when it is short
and made of safe characters), or a new random one. The response carries it
back in ``X-Request-ID``, and every log record written while the request runs
carries it as ``request_id``, so one request's lines can be found among many
workers' output. With ``LMS_LOG_FORMAT=json`` the log goes to standard error as
one JSON object per line, which log collectors read without parsing rules.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_app_context, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted from outside: short, and nothing that could forge a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ACCESS_LOGGER = "lms.access"
# Fields of the access line, copied from the record into the JSON object when present.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")

access_logger = logging.getLogger(ACCESS_LOGGER)


def request_id_from(header: str | None) -> str:
    """Return ``header`` if it is a safe request id, else a new random one."""
    if header and _SAFE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Add ``request_id``, ``method`` and ``path`` of the current request to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            if not hasattr(record, "method"):
                record.method = request.method
                record.path = request.path
        elif has_app_context() and g.get("request_id"):  # a job: the id of the page that began it
            record.request_id = g.get("request_id")
        else:
            record.request_id = getattr(record, "request_id", None)
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, request id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _JsonHandler(logging.StreamHandler):
    """The handler this module installs, known again by its marker when set up anew."""

    lms_json = True


def configure_logging(app: Flask) -> None:
    """With ``LOG_FORMAT = "json"``, log JSON lines to standard error from the root logger.

    The handler replaces one an earlier app of this process installed, so
    building several apps (tests, the CLI) never doubles the lines.
    """
    if app.config.get("LOG_FORMAT") != "json":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "lms_json", False):
            root.removeHandler(handler)
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def init_app(app: Flask) -> None:
    """Give every request an id, answer with it, and log one access line after it."""
    configure_logging(app)

    @app.before_request
    def start_request() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response
