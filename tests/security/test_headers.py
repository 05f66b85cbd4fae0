"""Security headers on every response, and pages that need no inline script to work."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lms import create_app
from lms.models import Role

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "lms", ROOT / "courses", ROOT / "certificates"]


def _directives(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return dict(pairs)


def assert_secure_headers(response, where: str) -> None:
    csp = _directives(response)
    assert csp, f"no Content-Security-Policy on {where}"
    assert csp["script-src"] == "'self'", where  # no 'unsafe-inline', no 'unsafe-eval'
    assert "'unsafe-inline'" not in csp["default-src"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer"), where
    assert "camera=()" in response.headers["Permissions-Policy"], where


def _argument_free_get_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments
    )


class _InlineCode(HTMLParser):
    """Collect the inline scripts and event-handler attributes a page has."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        self.found.extend(f"{tag} {name}=" for name in names if name.startswith("on"))
        if any((value or "").lower().startswith("javascript:") for value in names.values()):
            self.found.append(f"{tag} with a javascript: URL")


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: getattr(r, "value", "anonymous"))
def test_every_argument_free_page_has_the_headers_and_no_inline_script(client, login_as, role):
    if role is not None:
        login_as(role)
    routes = _argument_free_get_routes(client.application)
    assert "/courses" in routes
    assert "/admin/users" in routes
    for url in routes:
        response = client.get(url)
        assert_secure_headers(response, f"{url} as {role}")
        if response.mimetype == "text/html":
            assert inline_code(response.get_data(as_text=True)) == [], url


@pytest.mark.parametrize(
    "url", ["/no/such/page", "/static/lms.css", "/api/v1/courses", "/api/v1/nothing", "/healthz"]
)
def test_errors_files_and_json_have_the_headers(client, url):
    for method in ("GET", "DELETE"):
        response = client.open(url, method=method)
        response.close()  # a static file is streamed from an open file
        assert_secure_headers(response, f"{method} {url}")


def test_a_views_own_referrer_policy_is_kept(client):
    # The password page keeps its token out of every Referer header.
    response = client.get("/reset-password/not-a-token")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_hsts_only_when_the_site_is_served_over_https(tmp_path, client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "k" * 64,
            "BASE_URL": "https://lms.example.org",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_template_has_inline_script_or_event_handlers():
    """Pages that need arguments are not visited above: their templates are read instead."""
    # Anywhere, not only inside a tag: Jinja blocks put ">" inside tags.
    handler = re.compile(r"(?<![\w-])on[a-z]{4,}\s*=\s*[\"'{]", re.IGNORECASE)
    inline = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            if handler.search(text) or inline.search(text) or "javascript:" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_api_reference_page_starts_without_inline_script(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert inline_code(html) == []
    assert "/static/swagger-init.js" in html
    assert 'data-spec-url="' in html
    script = client.get("/static/swagger-init.js")
    script.close()
    assert script.status_code == 200
