"""In a real browser, the pages of every role work under the Content-Security-Policy.

Runs once in CI (``pytest -m browser``), not in the default run: it starts the
application with the demo data on a local port and drives Debian's Chromium
through Playwright. Any CSP violation, reported on the console or as a
``securitypolicyviolation`` event, fails the test; the scripts moved out of
the templates are exercised (the language menu, the j/k keys of grading).
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import demo_site, launch_chromium

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
    with demo_site(tmp_path_factory.mktemp("browser")) as running:
        yield running.base, list(running.accounts.values())


@pytest.fixture(scope="module")
def browser(site):
    """Chromium, started after the site (see ``tests.browser.conftest.chromium``)."""
    with launch_chromium() as chromium:
        yield chromium


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
