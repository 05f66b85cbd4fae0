"""Suspend, reinstate, revoke and expire: status list bits, re-signed lists, kept reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from certificates import issuer, queries
from certificates import operations as ops
from certificates.credentials.status_list import read_status
from certificates.credentials.verification import verify_credential
from certificates.models import Certificate, StatusList
from lms.models import AuditLog
from tests.certificates.test_issuance import NOW, status_source


@pytest.fixture
def cert(db, world, trainee):
    return ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)


def _entry_status(db, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    return read_status(cert.credential["credentialStatus"], row.credential).message


def _verify(db, cert, now=NOW):
    return verify_credential(
        cert.credential, issuer.key_resolver(), now=now, status_lists=status_source(db)
    )


def test_suspend_and_reinstate(db, world, cert):
    version = db.session.get(StatusList, cert.status_list_id).version
    ops.suspend(cert, reason="Complaint under review", actor=world.certifier, now=NOW)
    assert cert.status == "suspended" and _entry_status(db, cert) == "suspended"
    report = _verify(db, cert)
    assert not report.valid and report.status == "suspended"
    assert db.session.get(StatusList, cert.status_list_id).version == version + 1
    ops.reinstate(cert, actor=world.certifier, now=NOW)
    assert cert.status == "active" and _entry_status(db, cert) == "active"
    assert _verify(db, cert).valid


def test_revoke_keeps_row_and_reason(db, world, cert):
    ops.revoke(cert, reason="Exam taken by another person", actor=world.certifier, now=NOW)
    db.session.commit()
    db.session.expire_all()
    row = db.session.scalar(sa.select(Certificate).where(Certificate.code == cert.code))
    assert row.status == "revoked" and row.revocation_reason == "Exam taken by another person"
    assert row.pdf and row.credential
    assert _entry_status(db, row) == "revoked"
    assert _verify(db, row).status == "revoked"
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "certificate.revoke"))
    assert audit.data["reason"] == "Exam taken by another person"
    with pytest.raises(ops.CertificationError, match="revoked already"):
        ops.revoke(row, reason="again", actor=world.certifier)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_revoke_needs_a_sensible_reason(db, world, cert, reason):
    with pytest.raises(ops.CertificationError):
        ops.revoke(cert, reason=reason, actor=world.certifier)
    assert cert.status == "active" and _entry_status(db, cert) == "active"


def test_wrong_transitions_are_refused(db, world, cert):
    with pytest.raises(ops.CertificationError, match="suspended certificate"):
        ops.reinstate(cert, actor=world.certifier)
    ops.revoke(cert, reason="r", actor=world.certifier)
    with pytest.raises(ops.CertificationError, match="active certificate"):
        ops.suspend(cert, reason="r", actor=world.certifier)


def test_expiry_marks_and_verification_checks_dates(db, world, cert, trainee):
    later = cert.valid_until + timedelta(seconds=1)
    assert not _verify(db, cert, now=later).valid
    assert [c.id for c in queries.nearing_expiry(now=cert.valid_until - timedelta(days=30))] == [
        cert.id
    ]
    assert queries.nearing_expiry(now=cert.valid_until - timedelta(days=90)) == []
    assert ops.expire_certificates(now=NOW) == 0
    assert ops.expire_certificates(now=later) == 1
    assert cert.status == "expired"
    # An expired certificate no longer blocks a new one.
    assert ops.live_certificate(world.scheme, trainee) is None


def test_revoking_frees_the_live_slot(db, world, cert, trainee):
    ops.revoke(cert, reason="Issued in error", actor=world.certifier)
    new = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert new.id != cert.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 2


def test_status_pages_flip_and_show_reason(client, db, login_as, world, cert):
    login_as(world.certifier)
    response = client.post_form(f"/certification/certificates/{cert.code}/revoke", {"reason": ""})
    assert response.status_code == 302
    db.session.refresh(cert)
    assert cert.status == "active"
    client.post_form(
        f"/certification/certificates/{cert.code}/revoke", {"reason": "<b>Fraud</b> & lies"}
    )
    db.session.refresh(cert)
    assert cert.status == "revoked"
    page = client.get(f"/certification/certificates/{cert.code}").get_data(as_text=True)
    assert "&lt;b&gt;Fraud&lt;/b&gt; &amp; lies" in page


def test_status_list_credential_is_signed_by_the_issuer(db, cert):
    from certificates.credentials import signing

    row = db.session.get(StatusList, cert.status_list_id)
    assert row.credential["id"] == issuer.status_list_url(row.id)
    assert signing.verify(row.credential, issuer.key_resolver()).valid
    assert datetime.fromisoformat(row.credential["validFrom"].replace("Z", "+00:00")) <= (
        datetime.now(UTC)
    )
