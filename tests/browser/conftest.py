"""A live demo server, Debian's Chromium driven by Playwright, and axe-core to judge each page.

The browser tests run once in CI (``pytest -m browser tests/browser``), not in the
default run. The application serves the demo data from its own SQLite database
on a free local port; Chromium is the system's (``apt-get install chromium``),
never a downloaded one. axe-core comes pinned from npm: ``npm ci`` in this folder.

Every page a test visits through ``Browse.visit`` is checked by axe-core for
WCAG 2.2 A/AA rules; a serious or critical violation fails the test. When a
test fails, a screenshot of each of its open pages is saved in the folder named
by ``BROWSER_ARTIFACTS`` (default ``tests/browser/artifacts``), which CI keeps.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.extensions import db

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", HERE / "artifacts"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING = {"serious", "critical"}
PASSWORD = "browser-test-2026"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    return report


@dataclass
class Site:
    base: str
    app: object
    accounts: dict[str, dict] = field(default_factory=dict)


@contextlib.contextmanager
def demo_site(instance: Path) -> Iterator[Site]:
    """Serve the demo from ``instance`` with a real HTTP server in a thread."""
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "browser-journeys-" * 4,
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
    try:
        yield Site(base, app, {a["email"]: a for a in accounts})
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@contextlib.contextmanager
def launch_chromium():
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    """The demo, served by a real HTTP server in a thread."""
    with demo_site(tmp_path_factory.mktemp("browser-site")) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(site):
    """Chromium, started after the site and stopped after each module: the demo signs PDFs
    with asyncio, which Playwright's event loop in the same thread would refuse (here and in
    the other browser tests' own demo sites)."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def axe_source() -> str:
    assert AXE.exists(), "run 'npm ci' in tests/browser to install the pinned axe-core"
    return AXE.read_text(encoding="utf-8")


class AccessibilityViolation(AssertionError):
    pass


class Browse:
    """One person's browser: pages they visit are checked by axe-core and for errors."""

    def __init__(self, chromium, site: Site, axe_source: str, *, language="en", viewport=DESKTOP):
        self.site = site
        self.language = language
        self.axe_source = axe_source
        self.context = chromium.new_context(
            viewport=viewport,
            locale="bg-BG" if language == "bg" else "en-GB",
            accept_downloads=True,
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(f"{self.page.url}: {error}"))
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.visited: list[str] = []
        self.settled = False  # the interface language was chosen
        self.strict = True  # a violation fails at once; a crawl collects them instead
        self.violations: list[str] = []

    # --- navigation ------------------------------------------------------------------

    def path(self) -> str:
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def visit(self, path: str):
        response = self.page.goto(self.site.base + path)
        assert response is not None, path
        assert response.status < 500, f"{path}: {response.status}"
        self.check()
        return response

    def submit(self, selector: str) -> None:
        """Click a button that sends a form, wait for the next page, and check it."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.check()

    def check(self) -> None:
        """Judge the page shown now: no script error, no serious accessibility violation."""
        self.page.wait_for_load_state("load")
        if self.settled:
            assert self.page.evaluate("document.documentElement.lang") == self.language, self.path()
        self.visited.append(self.path())
        assert not self.errors, self.errors
        self.axe()

    def axe(self) -> None:
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.axe_source)
        # Every rule axe-core runs by default (WCAG 2.x A/AA and best practices), and the
        # experimental check that a control's name contains its visible label (WCAG 2.5.3).
        results = self.page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations'],"
            " rules: {'label-content-name-mismatch': {enabled: true}}})"
        )
        found = [
            f"{self.path()}: {v['id']} ({v['impact']}) "
            + "; ".join(
                n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                for n in v["nodes"][:5]
            )
            for v in results["violations"]
            if v["impact"] in BLOCKING
        ]
        self.violations.extend(found)
        if found and self.strict:
            raise AccessibilityViolation("\n".join(found))

    # --- people ----------------------------------------------------------------------

    def log_in(self, email: str, password: str) -> None:
        self.visit("/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.submit("main form [type=submit]")
        assert "/login" not in self.page.url, f"{email} could not log in"

    def choose_language(self) -> None:
        """Switch the interface to this browser's language with the menu, as a person does."""
        current = self.page.evaluate("document.documentElement.lang")
        self.settled = True
        if current != self.language:
            with self.page.expect_navigation():
                self.page.select_option("#language", self.language)
            self.check()

    def text(self) -> str:
        return self.page.inner_text("main")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:150] + ".png")
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browse(request, chromium, site, axe_source):
    """Open browsers for a test: ``browse("bg")`` or ``browse("en", viewport=PHONE)``."""
    opened: list[Browse] = []

    def open_browser(language: str = "en", *, viewport=DESKTOP) -> Browse:
        browser = Browse(chromium, site, axe_source, language=language, viewport=viewport)
        opened.append(browser)
        return browser

    yield open_browser
    for number, browser in enumerate(opened):
        if getattr(request.node, "browser_failed", False):
            with contextlib.suppress(Exception):  # a page that cannot be drawn still closes
                browser.screenshot(f"{request.node.name}-{number}")
        browser.close()
