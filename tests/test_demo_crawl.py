"""Every page a demo user can reach by following links renders, for every role.

Loads the whole demo, logs in as each demo account, follows every same-site
link (GET only) breadth-first, and fails on any server error or unescaped
markup, and on any link that leads the person to a refusal, in English and in
Bulgarian.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from flask import current_app

from lms.auth.operations import find_user_by_email
from tests.conftest import sign_in

ACCOUNTS = [
    "admin@example.org",
    "anna.koleva@example.org",
    "petya.angelova@example.org",
    "hr@sofia-mobility.example.org",
    "maria.ivanova@example.org",
    "stefan.marinov@example.org",
    None,  # anonymous
]
LINK = re.compile(r'href="([^"#]+)"')
SKIP = ("/static/", "/bootstrap/", ".pdf", ".csv", "/download", "/export", "/logout")
MAX_PAGES = 120


@pytest.fixture
def demo(db):
    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.commit()


def _crawl(client, start: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        assert response.status_code < 500, url
        if response.status_code in (301, 302, 303) and response.location:
            queue.append(urlsplit(urljoin(url, response.location)).path)
            continue
        if response.mimetype != "text/html" or response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html, url
        for href in LINK.findall(html):
            target = urljoin(url, href.replace("&amp;", "&"))
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "localhost":
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if any(marker in path for marker in SKIP) or path in seen:
                continue
            queue.append(path)
    return seen


@pytest.mark.parametrize("email", ACCOUNTS)
@pytest.mark.parametrize("language", ["en", "bg"])
def test_every_linked_page_renders(demo, client, db, email, language):
    if email is not None:
        user = find_user_by_email(email)
        sign_in(client, user)
    with client.session_transaction() as session:
        session["locale"] = language
    if email is not None:
        user.locale = language
        db.session.flush()  # the pages only read: the account is saved before they are asked
    seen = _crawl(client, "/")
    assert len(seen) > 5
    # No link leads a person to a page that refuses them or does not exist.
    refused = {url: status for url, status in seen.items() if status not in (200, 302)}
    assert refused == {}
