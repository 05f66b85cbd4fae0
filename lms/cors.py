"""Cross-origin reads of public documents (CORS), declared per view with ``@public_read``.

Wallets, badge displayers and verifiers running in a browser fetch our public
JSON-LD documents (credentials, the issuer profile, achievements, status lists)
from other origins. Those documents carry no cookies and no secrets, so any
origin may read them: a view marked ``@public_read`` answers with
``Access-Control-Allow-Origin: *`` and answers the browser's preflight
``OPTIONS`` request for a GET. Nothing else is opened up: pages and the
authenticated API stay same-origin.

Usage::

    @bp.get("/issuer")
    @public_read
    def issuer_document(): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, request

View = TypeVar("View", bound=Callable)

#: The attribute ``@public_read`` sets on a view; ``functools.wraps`` carries it through
#: the decorators below it (rate limits and the like).
MARK = "cors_public_read"
#: Request headers a cross-origin reader may send (beyond the CORS-safelisted ones).
ALLOWED_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since"
#: Response headers a cross-origin reader may see (beyond the CORS-safelisted ones).
EXPOSED_HEADERS = "Content-Disposition, ETag, Link"
#: How long a browser may remember a preflight answer, in seconds.
PREFLIGHT_MAX_AGE = 86400


def public_read(view: View) -> View:
    """Mark ``view`` as a public document any origin may read with GET (and preflight)."""
    setattr(view, MARK, True)
    return view


def is_public_read(endpoint: str | None) -> bool:
    """Return whether the view of ``endpoint`` is marked ``@public_read``."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, MARK, False))


def add_headers(response: Response) -> Response:
    """Add the CORS headers to the answer of a ``@public_read`` view, errors included.

    Flask answers ``OPTIONS`` itself (without running the view), so the preflight
    headers are added here too.
    """
    if not is_public_read(request.endpoint):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def init_app(app: Flask) -> None:
    """Answer cross-origin reads of the views marked ``@public_read``."""
    app.after_request(add_headers)
