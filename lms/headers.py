"""Security headers on every response: what the browser may load, frame, send and sniff.

The Content-Security-Policy allows scripts only from this site's own files (no
inline scripts, no ``eval``), so injected markup cannot run code. Inline
``style=""`` attributes stay allowed: the templates use them for data-driven
widths, indents and colours (progress bars, competency trees, a scheme's
colour), they cannot run script, and user-written Markdown never keeps them
(nh3 drops ``style``). Images come from the site or ``data:`` URIs (small
Markdown images, Swagger UI's icons).
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# A year; without includeSubDomains, which would bind other sites of the same domain.
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Add the headers to every response; a view's own value of a header is kept."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if app.config["BASE_URL"].startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
