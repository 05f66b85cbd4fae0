"""Every page each demo role reaches by links, in both languages: axe-core finds nothing serious."""

from __future__ import annotations

from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.untranslated import untranslated

pytestmark = pytest.mark.browser

SKIP = (".pdf", ".csv", ".json", ".png", "/download", "/export", "/logout", "/static/", "/api/")
PAGES = 14
# Each role's crawl starts on its home and on the pages where its work is.
ROLES = {
    None: ["/", "/verify", "/register"],
    "admin@example.org": ["/", "/admin/users", "/admin/schemes"],
    "anna.koleva@example.org": ["/", "/courses/SC-101/gradebook", "/courses/SC-101/assignments"],
    "petya.angelova@example.org": ["/", "/certification/schemes/S4C-PM", "/certification/register"],
    "hr@sofia-mobility.example.org": ["/", "/verify/bulk"],
    "maria.ivanova@example.org": ["/", "/competencies/profile", "/my/certificates"],
}


def _links(browser) -> list[str]:
    hrefs = browser.page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    found = []
    for href in hrefs:
        parts = urlsplit(urljoin(browser.page.url, href))
        if f"{parts.scheme}://{parts.netloc}" != browser.site.base:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not any(marker in path for marker in SKIP):
            found.append(path)
    return found


# Whose pages must read wholly in Bulgarian: the public, trainees, employers, certifiers.
READ_IN_BULGARIAN = {
    None,
    "petya.angelova@example.org",
    "hr@sofia-mobility.example.org",
    "maria.ivanova@example.org",
}


@pytest.mark.parametrize("language", ["en", "bg"])
@pytest.mark.parametrize("email", list(ROLES), ids=lambda e: (e or "visitor").split("@")[0])
def test_no_serious_accessibility_violation(browse, site, language, email):
    browser = browse(language)
    browser.strict = False
    if email:
        browser.log_in(email, site.accounts[email]["password"])
    else:
        browser.visit("/")
    browser.choose_language()
    _navbar_fits(browser)
    seen: set[str] = set()
    english: list[str] = []
    queue = deque(ROLES[email])
    while queue and len(seen) < PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        browser.visit(path)
        if language == "bg" and email in READ_IN_BULGARIAN:
            english.extend(f"{path}: {text}" for text in untranslated(browser.page))
        queue.extend(p for p in _links(browser) if p not in seen)
    assert not browser.violations, "\n".join(browser.violations)
    assert not english, "untranslated on Bulgarian pages:\n" + "\n".join(english)


def _navbar_fits(browser) -> None:
    """At 1280 px the navigation is one row, and the language menu shows its whole label."""
    height = browser.page.evaluate("document.querySelector('.navbar').offsetHeight")
    assert height < 80, f"the navigation wraps: {height} px high"
    select = browser.page.evaluate(
        "(() => { const s = document.getElementById('language');"
        " const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(s).font;"
        " return [c.measureText(s.selectedOptions[0].text).width, s.clientWidth]; })()"
    )
    assert select[0] + 24 < select[1], f"the language menu cuts its label: {select}"


def test_the_untranslated_text_finder_finds_english(browse):
    """The check above is only as good as its finder: on an English page it finds English."""
    browser = browse("en")
    browser.visit("/")
    browser.choose_language()
    found = untranslated(browser.page)
    assert any("Verify a certificate" in text for text in found), found
