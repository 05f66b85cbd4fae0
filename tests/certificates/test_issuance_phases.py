"""Issuance signs and renders with no write lock held, and re-checks before it stores.

The credential is signed and the PDF rendered and signed between two short
committed writes. These tests hold the slow step open and look from outside: another
connection can take the write lock meanwhile (SQLite ``BEGIN IMMEDIATE`` with no
wait; PostgreSQL ``FOR UPDATE NOWAIT`` on the status list and no session idle in a
transaction), and whatever changes meanwhile (another certifier issuing, the scheme
closing, a grade) is caught by the second write, which stores nothing then.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from certificates import issuer
from certificates import operations as ops
from certificates.credentials import openbadges
from certificates.credentials import status_list as bitstring
from certificates.models import Certificate, CertificateStatus, RenewalRule, Scheme, StatusList
from certificates.operations import issuance
from courses.assessments.models import Assessment, Grade, GradeStatus
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms.auth.operations import create_user
from lms.extensions import db as _db
from lms.models import AuditLog, Role, User
from tests.api_helpers import bearer, make_token
from tests.certificates.conftest import release_exam
from tests.certificates.test_issuance import NOW
from tests.conftest import sign_in


class RenderFailed(Exception):
    pass


def _count(model=Certificate) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _allocated() -> int:
    return _db.session.scalar(sa.select(sa.func.sum(StatusList.allocated))) or 0


def during_slow_step(monkeypatch, action, *, times: int = 1):
    """Run ``action()`` in the slow step of the next ``times`` issuances (then run it)."""
    real = issuance._make
    calls = []

    def make(draft):
        calls.append(draft)
        if len(calls) <= times:
            action()
        return real(draft)

    monkeypatch.setattr(issuance, "_make", make)
    return calls


# --- no write lock while signing and rendering (real commits, both engines) ----------


def _committed_world(prefix: str) -> dict[str, int]:
    """Create and commit a scheme, a certifier and an eligible trainee; return their ids."""
    course = Course(code=f"{prefix}-101", title_en="Locks", state=CourseState.PUBLISHED)
    exam = Assessment(course=course, kind="quiz", title_en="Exam", max_points=Decimal(100))
    _db.session.add_all([course, exam])
    certifier = create_user(
        email=f"{prefix.lower()}-cert@example.org",
        name="Certifier",
        password=None,
        roles=[Role.CERTIFIER],
    )
    trainees = [
        create_user(
            email=f"{prefix.lower()}-{n}@example.org",
            name=f"Trainee {n}",
            password=None,
            roles=[Role.TRAINEE],
        )
        for n in range(3)
    ]
    _db.session.flush()
    scheme = ops.create_scheme(code=prefix, title_en="Lock scheme", actor=None)
    ops.add_requirement(scheme, kind="course", course=course, min_grade=50, actor=None)
    ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=50, actor=None)
    for trainee in trainees:
        _db.session.add(
            CourseCompletion(user_id=trainee.id, course_id=course.id, completed=True, grade=80)
        )
        _db.session.add(
            Grade(assessment=exam, user_id=trainee.id, points=90, status=GradeStatus.RELEASED)
        )
    issuer.current_signing_key()
    ops.current_status_list()
    _db.session.commit()
    return {
        "scheme": scheme.id,
        "code": prefix,
        "certifier": certifier.id,
        "trainees": [t.id for t in trainees],
    }


def _write_lock_is_free() -> None:
    """Fail unless this session has no transaction and another connection can write now."""
    assert not _db.session().in_transaction()
    engine = _db.engine
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" at once if anyone writes
            other.execute("ROLLBACK")
        finally:
            other.close()
        return
    with engine.connect() as other:
        other.execute(sa.select(StatusList.id).with_for_update(nowait=True)).all()
        idle = other.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
        assert idle == 0
        other.rollback()


@pytest.fixture
def probed(monkeypatch):
    """Check the write lock is free in each slow call of issuance; return what was checked."""
    checked = []

    def wrap(name, real):
        def probe(*args, **kwargs):
            _write_lock_is_free()
            checked.append(name)
            result = real(*args, **kwargs)
            _write_lock_is_free()
            return result

        return probe

    class ProbedPDF(issuance.CertificatePDF):
        def render(self):
            _write_lock_is_free()
            checked.append("render")
            return super().render()

    monkeypatch.setattr(issuance, "CertificatePDF", ProbedPDF)
    monkeypatch.setattr(
        openbadges, "issue_credential", wrap("credential", openbadges.issue_credential)
    )
    monkeypatch.setattr(issuance, "sign_pdf", wrap("sign_pdf", issuance.sign_pdf))
    return checked


def test_no_write_lock_while_signing_and_rendering(committing_app, probed):
    ids = _committed_world("LOCKS")
    scheme = _db.session.get(Scheme, ids["scheme"])
    certifier = _db.session.get(User, ids["certifier"])
    first, second, third = (_db.session.get(User, i) for i in ids["trainees"])

    # The operation itself, outside any request (the command line): every transaction
    # there begins IMMEDIATE on SQLite, so the slow step must touch no database at all.
    cert = ops.issue_certificate(scheme, first, actor=certifier)
    assert probed == ["credential", "render", "sign_pdf"]
    assert cert.code
    assert _count() == 1

    # The certifier's issue page.
    client = committing_app.test_client()
    sign_in(client, certifier)
    response = client.post_form(f"/certification/schemes/{ids['code']}/issue/{second.id}")
    assert response.status_code == 302
    assert "/certification/certificates/" in response.location
    assert probed.count("render") == 2

    # The API, with an Idempotency-Key.
    token = make_token(certifier, scopes=["read", "certify"])
    _db.session.commit()
    response = client.post(
        "/api/v1/certificates",
        json={"scheme": ids["code"], "user_id": third.id},
        headers=bearer(token, **{"Idempotency-Key": "lock-free-1"}),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert probed.count("render") == 3
    assert probed.count("sign_pdf") == 3
    assert _count() == 3


def test_no_write_lock_while_a_batch_renders(committing_app, probed):
    ids = _committed_world("LOCKB")
    certifier = _db.session.get(User, ids["certifier"])
    client = committing_app.test_client()
    sign_in(client, certifier)
    response = client.post_form(f"/certification/schemes/{ids['code']}/bulk")
    assert response.status_code == 302
    assert probed.count("render") == 3
    assert _count() == 3
    assert _db.session.scalar(sa.select(sa.func.count()).where(Certificate.batch_id.is_(None))) == 0


def test_no_write_lock_on_the_command_line_or_in_renewal(committing_app, probed):
    ids = _committed_world("LOCKC")
    runner = committing_app.test_cli_runner()
    result = runner.invoke(
        args=["certificates", "issue", "--scheme", "LOCKC", "--trainee", "lockc-0@example.org"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["certificates", "issue-batch", "--scheme", "LOCKC"])
    assert result.exit_code == 0
    assert "Issued 2, skipped 0" in result.output
    assert probed.count("render") == 3
    assert _count() == 3

    # Renewal: the exam passed again after the certificate was issued.
    _db.session.get(Scheme, ids["scheme"]).renewal_rule = RenewalRule.EXAM
    old = _db.session.scalar(
        sa.select(Certificate).where(Certificate.user_id == ids["trainees"][0])
    )
    grade = _db.session.scalar(sa.select(Grade).where(Grade.user_id == ids["trainees"][0]))
    grade.released_at = old.issued_at + timedelta(hours=1)
    _db.session.commit()
    new = ops.renew_certificate(
        old, actor=_db.session.get(User, ids["certifier"]), now=old.issued_at + timedelta(days=1)
    )
    assert probed.count("render") == 4
    assert old.status == CertificateStatus.SUPERSEDED
    assert old.superseded_by_id == new.id


def test_a_failed_render_leaves_no_certificate_and_no_open_transaction(committing_app, monkeypatch):
    ids = _committed_world("LOCKF")
    scheme = _db.session.get(Scheme, ids["scheme"])
    certifier = _db.session.get(User, ids["certifier"])
    trainee = _db.session.get(User, ids["trainees"][0])
    before = _allocated()

    def broken(self):
        raise RenderFailed

    monkeypatch.setattr(issuance.CertificatePDF, "render", broken)
    with pytest.raises(RenderFailed):
        ops.issue_certificate(scheme, trainee, actor=certifier)
    assert not _db.session().in_transaction()
    _write_lock_is_free()
    assert _count() == 0
    # The entry allocated by the first write stays unused: counted, its bit still 0.
    assert _allocated() == before + 1
    monkeypatch.undo()
    cert = ops.issue_certificate(scheme, trainee, actor=certifier)
    row = _db.session.get(StatusList, cert.status_list_id)
    assert bitstring.StatusList.from_bytes(row.bits).get(cert.status_index) == 0
    assert _count() == 1


# --- the second write re-checks (test transaction, rolled back) ----------------------


def test_two_issuances_that_both_passed_the_first_write_give_one_certificate(
    db, world, trainee, make_user, monkeypatch
):
    other = make_user(roles=[Role.CERTIFIER])
    db.session.commit()
    inner = []

    # While the first issuance renders, a second certifier issues the same certificate.
    during_slow_step(
        monkeypatch,
        lambda: inner.append(ops.issue_or_get(world.scheme, trainee, actor=other)),
    )
    cert, created = ops.issue_or_get(world.scheme, trainee, actor=world.certifier)
    assert inner
    assert inner[0][1] is True
    assert created is False
    assert cert.id == inner[0][0].id
    assert _count() == 1
    issued = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "certificate.issue")
    ).all()
    assert [row.actor_id for row in issued] == [other.id]


def test_the_loser_of_a_race_on_the_issue_page_is_told_it_exists(
    client, db, login_as, world, trainee, make_user, monkeypatch
):
    other = make_user(roles=[Role.CERTIFIER])
    db.session.commit()
    login_as(world.certifier)

    def meanwhile():
        ops.issue_certificate(world.scheme, trainee, actor=other)
        db.session.commit()

    during_slow_step(monkeypatch, meanwhile)
    response = client.post_form(
        f"/certification/schemes/{world.scheme.code}/issue/{trainee.id}", follow_redirects=True
    )
    page = response.get_data(as_text=True)
    cert = db.session.scalar(sa.select(Certificate))
    assert response.status_code == 200
    assert _count() == 1
    assert f"already holds certificate {cert.code}; nothing new was issued" in page
    assert f"Certificate {cert.code} issued to" not in page


def test_the_loser_of_a_race_in_the_api_gets_200_not_201(
    client, db, world, trainee, make_user, monkeypatch
):
    other = make_user(roles=[Role.CERTIFIER])
    token = make_token(world.certifier, scopes=["read", "certify"])
    db.session.commit()
    during_slow_step(monkeypatch, lambda: ops.issue_certificate(world.scheme, trainee, actor=other))
    response = client.post(
        "/api/v1/certificates",
        json={"scheme": world.scheme.code, "user_id": trainee.id},
        headers=bearer(token, **{"Idempotency-Key": "race-1"}),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Location" not in response.headers
    assert response.get_json()["code"] == db.session.scalar(sa.select(Certificate.code))
    assert _count() == 1


def test_a_scheme_closed_meanwhile_stores_nothing(db, world, trainee, monkeypatch):
    before = _allocated()

    def close():
        world.scheme.active = False
        db.session.commit()

    during_slow_step(monkeypatch, close)
    with pytest.raises(ops.CertificationError, match="closed to new certificates"):
        ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert _count() == 0
    assert _allocated() == before + 1  # allocated and left unused: its bit stays 0


def test_a_trainee_no_longer_eligible_meanwhile_gets_nothing(db, world, trainee, monkeypatch):
    def fail_the_exam():
        grade = db.session.scalar(sa.select(Grade).where(Grade.user_id == trainee.id))
        grade.points = Decimal(10)
        db.session.commit()

    during_slow_step(monkeypatch, fail_the_exam)
    with pytest.raises(ops.NotEligible, match="is not eligible"):
        ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert _count() == 0


def test_a_record_changed_meanwhile_is_issued_afresh(db, world, trainee, monkeypatch):
    def raise_the_grade():
        completion = db.session.scalar(
            sa.select(CourseCompletion).where(CourseCompletion.user_id == trainee.id)
        )
        completion.grade = Decimal(95)
        db.session.commit()

    before = _allocated()
    calls = during_slow_step(monkeypatch, raise_the_grade)
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    # The first draft showed 78; it was dropped and the certificate made again.
    assert len(calls) == 2
    assert _allocated() == before + 2
    assert cert.snapshot["courses"][0]["grade"] == "95"
    assert cert.credential["credentialSubject"]["result"][0]["value"] == "95"
    assert _count() == 1


def test_a_record_that_keeps_changing_gives_a_clear_error(db, world, trainee, monkeypatch):
    grades = iter(range(90, 80, -1))

    def change():
        completion = db.session.scalar(
            sa.select(CourseCompletion).where(CourseCompletion.user_id == trainee.id)
        )
        completion.grade = Decimal(next(grades))
        db.session.commit()

    during_slow_step(monkeypatch, change, times=ops.ISSUE_ATTEMPTS)
    with pytest.raises(ops.CertificationError, match="changed while the certificate"):
        ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert _count() == 0


def test_a_failed_render_in_a_batch_stops_it_and_the_rerun_finishes(
    db, world, make_user, qualify, monkeypatch
):
    trainees = [qualify(make_user(), world) for _ in range(4)]
    real = issuance._make
    made = []

    def fail_third(draft):
        if len(made) == 2:
            made.append("failed")
            raise RenderFailed
        made.append(draft.user_id)
        return real(draft)

    monkeypatch.setattr(issuance, "_make", fail_third)
    with pytest.raises(RenderFailed):
        ops.issue_batch(world.scheme, world.certifier, chunk_size=10)
    db.session.rollback()
    assert _count() == 2  # the two made before; nothing for the failed one
    monkeypatch.setattr(issuance, "_make", real)
    batch = ops.issue_batch(world.scheme, world.certifier, chunk_size=10)
    assert (batch.issued, batch.skipped) == (4, 0)
    assert sorted(db.session.scalars(sa.select(Certificate.user_id))) == sorted(
        t.id for t in trainees
    )


def test_two_renewals_that_both_passed_the_first_write_give_one(
    db, world, trainee, make_user, monkeypatch
):
    world.scheme.renewal_rule = RenewalRule.EXAM
    old = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    later = NOW + timedelta(days=700)
    release_exam(db, trainee, world.exam, 90, at=later - timedelta(days=1))
    other = make_user(roles=[Role.CERTIFIER])
    db.session.commit()
    inner = []
    during_slow_step(
        monkeypatch, lambda: inner.append(ops.renew_certificate(old, actor=other, now=later))
    )
    with pytest.raises(ops.CertificationError, match="Only an active or expired"):
        ops.renew_certificate(old, actor=world.certifier, now=later)
    db.session.refresh(old)
    assert old.status == CertificateStatus.SUPERSEDED
    assert old.superseded_by_id == inner[0].id
    assert _count() == 2
