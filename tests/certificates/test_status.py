"""Suspend, reinstate, revoke and expire: status list bits, re-signed lists, kept reasons."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from certificates import issuer, queries
from certificates import operations as ops
from certificates.credentials.status_list import MIN_ENTRIES, permuted_index, read_status
from certificates.credentials.verification import verify_credential
from certificates.models import Certificate, StatusList
from certificates.verify import service
from lms.models import AuditLog
from tests.certificates.test_issuance import NOW, status_source
from tests.conftest import count_queries


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


def test_suspension_is_the_registers_and_leaves_the_published_list_alone(db, world, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    version, published = row.version, row.credential
    ops.suspend(cert, reason="Complaint under review", actor=world.certifier, now=NOW)
    assert cert.status == "suspended"
    assert _entry_status(db, cert) == "active"
    assert row.version == version
    assert row.credential == published
    assert _verify(db, cert).valid  # what the list says: not revoked
    # Our verifier reports it from the register.
    report = service.verify_code(cert.code)
    assert not report.valid
    assert report.status == "suspended"
    ops.reinstate(cert, actor=world.certifier, now=NOW)
    assert cert.status == "active"
    assert _entry_status(db, cert) == "active"
    assert service.verify_code(cert.code).valid


def test_revoking_a_suspended_certificate_sets_its_bit(db, world, cert):
    ops.suspend(cert, reason="Complaint under review", actor=world.certifier, now=NOW)
    ops.revoke(cert, reason="Complaint upheld", actor=world.certifier, now=NOW)
    assert _entry_status(db, cert) == "revoked"
    assert _verify(db, cert).status == "revoked"


def test_revoke_keeps_row_and_reason(db, world, cert):
    ops.revoke(cert, reason="Exam taken by another person", actor=world.certifier, now=NOW)
    db.session.commit()
    db.session.expire_all()
    row = db.session.scalar(sa.select(Certificate).where(Certificate.code == cert.code))
    assert row.status == "revoked"
    assert row.revocation_reason == "Exam taken by another person"
    assert row.pdf
    assert row.credential
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
    assert cert.status == "active"
    assert _entry_status(db, cert) == "active"


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


def _plain_bit(list_credential: dict, index: int) -> int:
    """Read one bit as any checker does: base64url (multibase 'u'), gunzip, bit 0 leftmost."""
    encoded = list_credential["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    body = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert len(raw) * 8 >= 131_072
    return (raw[index // 8] >> (7 - index % 8)) & 1


def test_revocation_sets_the_bit_in_the_served_list_at_once(client, db, world, cert):
    entry = cert.credential["credentialStatus"]
    assert entry["statusPurpose"] == "revocation"
    assert "statusSize" not in entry
    url = "/" + entry["statusListCredential"].split("/", 3)[3]
    index = int(entry["statusListIndex"])
    db.session.commit()  # as the issuing request did: a GET only reads
    before = client.get(url).get_json()
    assert _plain_bit(before, index) == 0
    ops.revoke(cert, reason="Exam taken by another person", actor=world.certifier)
    db.session.commit()
    after = client.get(url).get_json()
    assert _plain_bit(after, index) == 1
    assert after["credentialSubject"]["statusPurpose"] == "revocation"
    assert after["issuer"] == issuer.issuer_did() == cert.credential["issuer"]["id"]
    assert after["proof"][0]["verificationMethod"].startswith(issuer.issuer_did() + "#")
    # Only that bit: the list is otherwise empty.
    assert sum(_plain_bit(after, i) for i in range(index - 8, index + 8)) == 1


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_status_lists_carry_a_short_validity_window(app, db, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    credential = row.credential
    start, end = _moment(credential["validFrom"]), _moment(credential["validUntil"])
    assert end - start == timedelta(hours=24)
    assert row.valid_until == end
    app.config["STATUS_LIST_VALIDITY_HOURS"] = 2
    try:
        row.valid_until = None
        assert ops.refresh_status_list(row, NOW)
        assert _moment(row.credential["validUntil"]) - NOW == timedelta(hours=2)
        app.config["STATUS_LIST_VALIDITY_HOURS"] = "a day"
        with pytest.raises(ops.CertificationError, match="number of hours"):
            ops.status_list_validity()
        app.config["STATUS_LIST_VALIDITY_HOURS"] = 0
        with pytest.raises(ops.CertificationError, match="more than zero"):
            ops.status_list_validity()
    finally:
        del app.config["STATUS_LIST_VALIDITY_HOURS"]


def test_lists_are_re_signed_before_they_lapse(app, db, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    end = row.valid_until
    # More than half of the window left: nothing to do.
    assert ops.refresh_status_lists(end - timedelta(hours=13)) == 0
    later = end - timedelta(hours=11)
    assert ops.refresh_status_lists(later) == 1
    assert row.valid_until == later + timedelta(hours=24)
    assert _moment(row.credential["validFrom"]) == later
    assert verify_credential(
        cert.credential, issuer.key_resolver(), now=later, status_lists=status_source(db)
    ).valid
    # The command a scheduler runs re-signs what is due by now (this list, signed in 2025).
    result = app.test_cli_runner().invoke(args=["certificates", "refresh-status-lists"])
    assert result.exit_code == 0
    assert "1 status lists re-signed." in result.output
    assert row.valid_until > datetime.now(UTC) + timedelta(hours=23)


def test_a_served_list_near_its_end_is_re_signed(client, db, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    stale = row.credential["validUntil"]  # signed at NOW, in 2025
    served = client.get(f"/status-lists/{row.id}").get_json()
    assert _moment(served["validUntil"]) > datetime.now(UTC) + timedelta(hours=23)
    assert served["validUntil"] != stale


def test_status_indexes_come_from_a_counter_in_constant_queries(app, db, world, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    assert row.allocated == 1
    key = bytes.fromhex(row.index_key)
    assert cert.status_index == permuted_index(key, 0)

    def allocation_queries() -> int:
        with count_queries(app) as counter:
            ops.allocate_status_index(NOW)
        return counter.count

    first = allocation_queries()
    for _ in range(50):
        ops.allocate_status_index(NOW)
    assert allocation_queries() == first
    db.session.refresh(row)
    assert row.allocated == 53


def test_a_full_list_makes_way_for_a_new_one(db, cert):
    row = db.session.get(StatusList, cert.status_list_id)
    row.allocated = MIN_ENTRIES
    db.session.flush()
    new_row, index = ops.allocate_status_index(NOW)
    assert new_row.id != row.id
    assert new_row.allocated == 1
    assert new_row.purpose == "revocation"
    assert new_row.index_key != row.index_key
    assert index == permuted_index(bytes.fromhex(new_row.index_key), 0)


def test_status_counts_count_each_status_and_name_every_one(db, world, cert):
    none = {"active": 0, "suspended": 0, "revoked": 0, "expired": 0, "superseded": 0}
    assert queries.status_counts() == {**none, "active": 1}
    ops.suspend(cert, reason="Complaint under review", actor=world.certifier, now=NOW)
    assert queries.status_counts() == {**none, "suspended": 1}
