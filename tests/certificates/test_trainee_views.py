"""The trainee's certificates page: downloads, share links, expiry warnings, progress."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from certificates import badges
from certificates import operations as ops
from lms.db import utcnow


def test_progress_requirement_by_requirement(client, login_as, world, make_user, qualify):
    user = qualify(make_user(), world, grade=55, exam_percent=None)
    login_as(user)
    page = client.get("/my/certificates").get_data(as_text=True)
    assert f"Course {world.course.code} completed with 55 &lt; 60" in page
    assert "no released result yet" in page
    assert "0 of 2 requirements met" in page


def test_certificates_with_links_and_expiry_warning(client, db, login_as, world, trainee):
    world.scheme.validity_months = 1
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=utcnow())
    db.session.commit()
    login_as(trainee)
    page = client.get("/my/certificates").get_data(as_text=True)
    assert f"/certificates/{cert.code}.pdf" in page
    assert f"http://localhost/verify/{cert.code}" in page
    assert "Expires on" in page
    assert "certified" in page


def test_revoked_shows_reason_escaped(client, db, login_as, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    ops.revoke(cert, reason="<script>alert(1)</script>", actor=world.certifier)
    db.session.commit()
    login_as(trainee)
    page = client.get("/my/certificates").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_other_trainees_certificates_are_not_listed(
    client, db, login_as, world, trainee, make_user
):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    login_as(make_user())
    assert cert.code not in client.get("/my/certificates").get_data(as_text=True)


def test_nearing_expiry_window(db, world, trainee):
    from certificates import queries

    now = utcnow()
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=now)
    assert queries.nearing_expiry(trainee, now=now) == []
    soon = cert.valid_until - timedelta(days=59)
    assert queries.nearing_expiry(trainee, now=soon) == [cert]


def _links(page: str) -> dict[str, str]:
    """Return the page's links by their text (attribute values unescaped)."""
    return {
        html.unescape(text.strip()): html.unescape(href)
        for href, text in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page)
    }


def test_downloads_badge_and_linkedin_link(app, client, db, login_as, world, trainee):
    world.scheme.title_en = 'Smart <City> & "Data" Manager'
    world.scheme.title_bg = "Мениджър на <умен> град & данни"
    world.scheme.validity_months = 36
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    login_as(trainee)
    page = client.get("/my/certificates").get_data(as_text=True)
    links = _links(page)
    assert links["Download PDF"] == f"/certificates/{cert.code}.pdf"
    assert links["Credential (JSON)"] == f"/credentials/{cert.code}.json"
    assert links["Badge (PNG)"] == f"/credentials/{cert.code}.png"
    assert "Smart &lt;City&gt; &amp; &#34;Data&#34; Manager" in page
    assert "<City>" not in page

    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    issued, expires = cert.valid_from.astimezone(zone), cert.valid_until.astimezone(zone)
    url = urlsplit(links["Add to LinkedIn profile"])
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    params = {key: values[0] for key, values in parse_qs(url.query, strict_parsing=True).items()}
    assert all(len(values) == 1 for values in parse_qs(url.query).values())
    assert params == {
        "startTask": "CERTIFICATION_NAME",
        "name": 'Smart <City> & "Data" Manager',
        "organizationName": "Skills4Cities Training Centre",
        "issueYear": str(issued.year),
        "issueMonth": str(issued.month),
        "expirationYear": str(expires.year),
        "expirationMonth": str(expires.month),
        "certUrl": f"http://localhost/verify/{cert.code}",
        "certId": cert.code,
    }
    # The link opens a new tab that cannot reach back into this page.
    assert 'target="_blank" rel="noopener noreferrer"' in page

    # The badge the page offers carries the credential the page's JSON link serves.
    baked = badges.baked_credential(client.get(links["Badge (PNG)"]).data)
    assert json.loads(baked) == json.loads(client.get(links["Credential (JSON)"]).data)


def test_linkedin_link_in_bulgarian_without_expiry(client, db, login_as, world, trainee):
    world.scheme.validity_months = None
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    trainee.locale = "bg"
    db.session.commit()
    login_as(trainee)
    page = client.get("/my/certificates").get_data(as_text=True)
    links = _links(page)
    assert "Значка (PNG)" in links
    params = parse_qs(urlsplit(links["Добавяне в профила в LinkedIn"]).query)
    assert params["name"] == [world.scheme.title_bg]
    assert params["certId"] == [cert.code]
    assert "expirationYear" not in params
    assert "expirationMonth" not in params
