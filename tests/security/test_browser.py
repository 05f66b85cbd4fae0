"""In a real browser, the pages of every role work under the Content-Security-Policy.

Runs once in CI (``pytest -m browser``), not in the default run: it starts the
application with the demo data on a local port and drives Debian's Chromium
through Playwright. Any CSP violation, reported on the console or as a
``securitypolicyviolation`` event, fails the test; the scripts moved out of
the templates are exercised (the language menu, the j/k keys of grading).
"""

from __future__ import annotations

import shutil
import threading
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.extensions import db

pytestmark = pytest.mark.browser

PAGES_PER_ROLE = 25
SKIP = (
    "/static/",
    "/bootstrap/",
    ".pdf",
    ".csv",
    "/download",
    "/export",
    "/logout",
    ".json",
    ".png",
    ".xlsx",
    ".ics",
)
# Records violations the console might word differently in another Chromium version.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo, served by a real HTTP server in a thread; yields (base URL, accounts)."""
    instance = tmp_path_factory.mktemp("browser")
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "browser-test-" * 4,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_ENABLED": False,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    with app.app_context():
        db.create_all()
        accounts = [a for loader in app.extensions["lms_demo_loaders"] for a in loader()]
        db.session.commit()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, accounts
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


class Watched:
    """A page whose console CSP messages and violation events are collected."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context()
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.dismiss())
        self.messages: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.messages.append(f"{self.page.url}: {message.text}")

    def visit(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        self.check()

    def check(self) -> None:
        events = self.page.evaluate("window.__cspViolations || []")
        self.messages.extend(f"{self.page.url}: {event}" for event in events)
        assert self.messages == []

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        found = []
        for href in hrefs:
            parts = urlsplit(urljoin(self.page.url, href))
            if f"{parts.scheme}://{parts.netloc}" != self.base:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if not any(marker in path for marker in SKIP):
                found.append(path)
        return found

    def crawl(self, start: str, limit: int) -> list[str]:
        seen: list[str] = []
        queue = deque([start])
        while queue and len(seen) < limit:
            path = queue.popleft()
            if path in seen:
                continue
            seen.append(path)
            self.visit(path)
            queue.extend(p for p in self.links() if p not in seen)
        return seen


def _log_in(watched: Watched, email: str, password: str) -> None:
    watched.visit("/login")
    watched.page.fill("input[name=email]", email)
    watched.page.fill("input[name=password]", password)
    with watched.page.expect_navigation():
        watched.page.click("form [type=submit]:not(.nav-link)")
    assert "/login" not in watched.page.url, f"{email} could not log in"


def test_every_role_browses_without_a_csp_violation(site, browser):
    base, accounts = site
    roles_seen = set()
    for account in [None, *accounts]:
        watched = Watched(browser, base)
        try:
            if account is not None:
                _log_in(watched, account["email"], account["password"])
                roles_seen.add(str(account["roles"]))
            extra = ["/api/v1/docs", "/register", "/verify"] if account is None else []
            for path in extra:
                watched.visit(path)
            seen = watched.crawl("/", PAGES_PER_ROLE)
            assert len(seen) > 3
        finally:
            watched.context.close()
    assert len(roles_seen) >= 5


def test_the_api_reference_page_starts_swagger_ui(site, browser):
    base, _accounts = site
    watched = Watched(browser, base)
    try:
        watched.visit("/api/v1/docs")
        watched.page.wait_for_selector(".swagger-ui .info", timeout=15_000)
        watched.check()
    finally:
        watched.context.close()


def test_the_language_menu_switches_without_inline_script(site, browser):
    base, _accounts = site
    watched = Watched(browser, base)
    try:
        watched.visit("/courses")
        with watched.page.expect_navigation():
            watched.page.select_option("#language", "bg")
        assert watched.page.get_attribute("html", "lang") == "bg"
        watched.check()
    finally:
        watched.context.close()
