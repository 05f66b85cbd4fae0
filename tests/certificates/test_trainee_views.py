"""The trainee's certificates page: downloads, share links, expiry warnings, progress."""

from __future__ import annotations

from datetime import timedelta

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
    assert "Expires on" in page and "certified" in page


def test_revoked_shows_reason_escaped(client, db, login_as, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    ops.revoke(cert, reason="<script>alert(1)</script>", actor=world.certifier)
    db.session.commit()
    login_as(trainee)
    page = client.get("/my/certificates").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page


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
