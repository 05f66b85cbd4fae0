"""Certifier pages: the eligible queue and the register, in a fixed number of queries."""

from __future__ import annotations

import sqlalchemy as sa

from certificates import operations as ops
from certificates.models import Certificate
from tests.certificates.conftest import release_exam
from tests.conftest import count_queries


def _queue_queries(app, client, world):
    with count_queries(app) as counter:
        response = client.get(f"/certification/schemes/{world.scheme.code}")
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def test_queue_lists_only_eligible_in_fixed_queries(
    app, client, db, login_as, world, make_user, qualify
):
    login_as(world.certifier)
    qualify(make_user(name="Ready One"), world)
    qualify(make_user(name="Not Ready"), world, grade=30)
    few, page = _queue_queries(app, client, world)
    assert "Ready One" in page and "Not Ready" not in page
    for i in range(6):
        qualify(make_user(name=f"More {i}"), world)
    many, page = _queue_queries(app, client, world)
    assert "More 5" in page
    assert many == few


def test_register_in_fixed_queries(app, client, db, login_as, world, make_user, qualify):
    login_as(world.certifier)

    def count():
        with count_queries(app) as counter:
            assert client.get("/certification/register").status_code == 200
        return counter.count

    ops.issue_certificate(world.scheme, qualify(make_user(), world), actor=world.certifier)
    db.session.commit()
    one = count()
    for _ in range(4):
        ops.issue_certificate(world.scheme, qualify(make_user(), world), actor=world.certifier)
    db.session.commit()
    assert count() == one


def test_issue_from_queue(client, db, login_as, world, trainee):
    login_as(world.certifier)
    response = client.post_form(f"/certification/schemes/{world.scheme.code}/issue/{trainee.id}")
    assert response.status_code == 302
    cert = db.session.scalar(sa.select(Certificate))
    assert response.headers["Location"].endswith(f"/certification/certificates/{cert.code}")


def test_issue_refused_for_impartiality_changes_nothing(client, db, login_as, world, trainee):
    release_exam(db, trainee, world.exam, 95, grader=world.certifier)
    db.session.commit()
    login_as(world.certifier)
    response = client.post_form(
        f"/certification/schemes/{world.scheme.code}/issue/{trainee.id}", follow_redirects=True
    )
    assert "another certifier must decide" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0


def test_waiver_page_grants_and_validates(client, db, login_as, world, trainee):
    login_as(world.admin)
    response = client.post_form(
        "/admin/waivers",
        {"certifier_email": "nobody@example.org", "trainee_email": trainee.email, "reason": "x"},
    )
    assert "No account has this e-mail." in response.get_data(as_text=True)
    response = client.post_form(
        "/admin/waivers",
        {
            "certifier_email": world.certifier.email,
            "trainee_email": trainee.email,
            "reason": "Only one",
        },
    )
    assert response.status_code == 302
    assert "Only one" in client.get("/admin/waivers").get_data(as_text=True)
