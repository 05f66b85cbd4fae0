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


def _enrol(db, course, user) -> None:
    """An active place in a fresh cohort of ``course``: enrolled, nothing done yet."""
    from datetime import date

    from courses.models import Cohort, Enrolment

    cohort = Cohort(
        course=course,
        name=f"Cohort for {user.name}",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 6, 1),
    )
    db.session.add(cohort)
    db.session.flush()
    db.session.add(Enrolment(cohort_id=cohort.id, user_id=user.id, status="active"))
    db.session.flush()


def _row(page: str, name: str) -> str:
    return next(row for row in page.split("<tr") if name in row)


def test_queue_lists_every_trainee_with_their_standing_in_fixed_queries(
    app, client, db, login_as, world, make_user, qualify
):
    login_as(world.certifier)
    qualify(make_user(name="Ready One"), world)
    qualify(make_user(name="Nearly There"), world, grade=30)  # the course grade is short
    enrolled = make_user(name="Just Enrolled")
    _enrol(db, world.course, enrolled)
    db.session.commit()
    few, page = _queue_queries(app, client, world)
    assert "Almost: one requirement left" in _row(page, "Nearly There")
    assert f"Course {world.course.code} completed with 30 &lt; 60" in _row(page, "Nearly There")
    assert "Not yet eligible" in _row(page, "Just Enrolled")
    assert "not completed yet" in _row(page, "Just Enrolled")
    assert "no released result yet" in _row(page, "Just Enrolled")
    ready = _row(page, "Ready One")
    assert "Eligible" in ready
    assert "/issue/" in ready
    assert "/issue/" not in _row(page, "Nearly There")
    for i in range(6):
        qualify(make_user(name=f"More {i}"), world)
    for i in range(4):
        _enrol(db, world.course, make_user(name=f"Starter {i}"))
    db.session.commit()
    many, page = _queue_queries(app, client, world)
    assert "More 5" in page
    assert "Starter 3" in page
    assert many == few


def test_queue_filters_by_standing_and_pages(client, db, login_as, world, make_user, qualify):
    login_as(world.certifier)
    qualify(make_user(name="Ready One"), world)
    qualify(make_user(name="Nearly There"), world, grade=30)
    _enrol(db, world.course, make_user(name="Far Away"))
    db.session.commit()
    code = world.scheme.code
    eligible = client.get(f"/certification/schemes/{code}?standing=eligible").text
    assert "Ready One" in eligible
    assert "Nearly There" not in eligible
    almost = client.get(f"/certification/schemes/{code}?standing=almost").text
    assert "Nearly There" in almost
    assert "Ready One" not in almost
    far = client.get(f"/certification/schemes/{code}?standing=not").text
    assert "Far Away" in far
    assert "Ready One" not in far
    assert "Eligible (1)" in eligible
    assert "Everybody (3)" in eligible

    from certificates import queries

    first = queries.scheme_queue(world.scheme, page=1, per_page=2)
    second = queries.scheme_queue(world.scheme, page=2, per_page=2)
    assert first.page.pages == 2
    assert first.page.has_next
    assert not second.page.has_next
    names = [r.user.name for r in first.page.items + second.page.items]
    assert names == sorted(names)
    assert len(names) == 3
    assert client.get(f"/certification/schemes/{code}?page=99").status_code == 200


def test_issue_and_batch_and_revoke_ask_first_and_change_nothing(
    client, db, login_as, world, trainee
):
    login_as(world.certifier)
    code = world.scheme.code
    confirm = client.get(f"/certification/schemes/{code}/issue/{trainee.id}")
    assert confirm.status_code == 200
    assert "What will happen" in confirm.text
    assert "Issue the certificate" in confirm.text
    batch = client.get(f"/certification/schemes/{code}/batch")
    assert "1 trainee will receive a certificate:" in batch.text
    assert trainee.name in batch.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0

    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    page = client.get(f"/certification/certificates/{cert.code}").text
    assert f"/certification/certificates/{cert.code}/revoke" in page
    revoke = client.get(f"/certification/certificates/{cert.code}/revoke")
    assert "Revocation is permanent" in revoke.text
    assert "Issued in error" in revoke.text
    assert db.session.get(Certificate, cert.id).status == "active"


def test_a_certificate_revoked_in_error_blocks_a_new_one_until_cleared(
    client, db, login_as, world, trainee
):
    from certificates.models import Scheme
    from lms.models import AuditLog

    login_as(world.certifier)
    code = world.scheme.code
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    response = client.post_form(
        f"/certification/certificates/{cert.code}/revoke",
        {"reason": "Issued in error: wrong exam sheet", "in_error": "y"},
    )
    assert response.status_code == 302
    assert db.session.get(Certificate, cert.id).revoked_in_error

    page = client.get(f"/certification/schemes/{code}").text
    row = _row(page, trainee.name)
    assert "Blocked: revoked in error" in row
    assert "/issue/" not in row
    assert cert.code in row
    assert "Clear for a new certificate" in row
    assert trainee.name in client.get(f"/certification/schemes/{code}?standing=blocked").text
    assert "Nobody is eligible now." in client.get(f"/certification/schemes/{code}/batch").text

    # Neither a direct POST nor a bulk run issues again.
    response = client.post_form(
        f"/certification/schemes/{code}/issue/{trainee.id}", follow_redirects=True
    )
    assert "revoked as issued in error" in response.text
    client.post_form(f"/certification/schemes/{code}/bulk")
    scheme = db.session.get(Scheme, world.scheme.id)
    assert ops.issue_batch(scheme, world.certifier).issued == 0
    assert ops.live_certificate(scheme, trainee) is None

    # Clearing needs a reason; it is kept and audited, and the trainee is eligible again.
    response = client.post_form(
        f"/certification/certificates/{cert.code}/clear-reissue", {"reason": ""}
    )
    assert db.session.get(Certificate, cert.id).reissue_cleared_at is None
    response = client.post_form(
        f"/certification/certificates/{cert.code}/clear-reissue",
        {"reason": "Exam sheet re-checked by the board"},
    )
    assert response.status_code == 302
    cleared = db.session.get(Certificate, cert.id)
    assert cleared.reissue_clearance_reason == "Exam sheet re-checked by the board"
    assert cleared.reissue_cleared_by_id == world.certifier.id
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "certificate.reissue_cleared")
    )
    assert entry is not None
    assert entry.actor_id == world.certifier.id
    detail = client.get(f"/certification/certificates/{cert.code}").text
    assert "Exam sheet re-checked by the board" in detail
    row = _row(client.get(f"/certification/schemes/{code}").text, trainee.name)
    assert "/issue/" in row
    new = client.post_form(f"/certification/schemes/{code}/issue/{trainee.id}")
    assert new.status_code == 302
    assert ops.live_certificate(scheme, trainee) is not None


def test_a_revocation_not_in_error_does_not_block(client, db, login_as, world, trainee):
    login_as(world.certifier)
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    ops.revoke(cert, reason="The holder asked for it", actor=world.certifier)
    db.session.commit()
    row = _row(client.get(f"/certification/schemes/{world.scheme.code}").text, trainee.name)
    assert "/issue/" in row
    assert "a certificate was revoked before" in row


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


def test_queue_names_people_in_the_readers_language(
    client, db, login_as, world, make_user, qualify
):
    login_as(world.certifier)
    person = make_user(name="Елена Николова")
    person.name_latin = "Elena <Nikolova>"
    qualify(person, world)
    db.session.commit()
    page = client.get(f"/certification/schemes/{world.scheme.code}").text
    assert "Elena &lt;Nikolova&gt;" in _row(page, person.email)
    assert "Елена Николова" not in page
    client.post_form("/language", {"language": "bg"})
    page = client.get(f"/certification/schemes/{world.scheme.code}").text
    assert "Елена Николова" in _row(page, person.email)
    assert "Elena" not in page
