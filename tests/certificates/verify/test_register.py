"""Code lookups answer from the register's record of the check made at issuance."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from certificates import operations as ops
from certificates.credentials import jsonld, signing
from certificates.credentials.checks import ISSUER_KEY, PROOF
from certificates.models import Certificate
from certificates.verify import register, service
from tests.certificates.test_issuance import NOW
from tests.conftest import count_queries

WRITES = ("INSERT", "UPDATE", "DELETE")


def refuse_signature_work(monkeypatch):
    """Fail the test if anything verifies a signature or does JSON-LD work from now on."""

    def refuse(*args, **kwargs):
        raise AssertionError("a recorded credential was verified again")

    monkeypatch.setattr(signing, "verify", refuse)
    monkeypatch.setattr(jsonld, "_expand", refuse)


def test_a_recorded_certificate_answers_without_signature_work(make_certificate, monkeypatch):
    issued = make_certificate()
    refuse_signature_work(monkeypatch)
    report = service.verify_code(issued.code)
    assert report.valid
    assert report.status == service.ACTIVE
    assert report.credential["holder"] == issued.certificate.user.name


def test_the_record_gives_the_same_report_as_full_verification(make_certificate, set_status):
    recorded, unrecorded = make_certificate(), make_certificate(recorded=False)
    for issued in (recorded, unrecorded):
        set_status(issued, "revoked", "Withdrawn")

    def shape(report):
        # The two certificates differ in their dates (to the microsecond) and ids only.
        checks = [
            (c.name, c.passed, c.detail if c.name != "validity" else "") for c in report.checks
        ]
        return report.valid, report.status, report.reason, checks, sorted(report.credential)

    full = service.verify_credential_document(
        recorded.certificate.credential,
        service.online_trust(),
        entry=service.register_entry(recorded.code),
    )
    assert shape(service.verify_code(recorded.code)) == shape(full)
    assert shape(service.verify_code(recorded.code)) == shape(service.verify_code(unrecorded.code))


def test_issuance_records_the_check(db, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    db.session.flush()
    record = db.session.get(register.CredentialCheck, cert.id)
    assert record.credential_sha256 == register.credential_sha256(cert.credential)
    assert cert.credential["proof"][0]["verificationMethod"].endswith(record.public_multikey)


def test_a_changed_stored_credential_is_verified_again_and_fails(make_certificate, db):
    issued = make_certificate()
    changed = dict(issued.certificate.credential, name="Certified Genius")
    db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == issued.certificate.id)
        .values(credential=changed)
    )
    db.session.expire_all()
    report = service.verify_code(issued.code)
    assert report.status == service.INVALID
    assert report.failed == [PROOF]
    assert report.credential == {}


def test_a_key_taken_out_of_the_key_set_is_not_vouched_for(make_certificate):
    issued = make_certificate()
    trust = dataclasses.replace(
        service.online_trust(), key_ids=(), resolve_key=signing.key_set_resolver({})
    )
    report = service.verify_code(issued.code, trust=trust)
    assert report.status == service.INVALID
    assert ISSUER_KEY in report.failed


def test_backfill_records_what_verifies_and_nothing_else(make_certificate, db, monkeypatch):
    old, forged = make_certificate(recorded=False), make_certificate(recorded=False)
    db.session.execute(
        sa.update(Certificate)
        .where(Certificate.id == forged.certificate.id)
        .values(credential=dict(forged.certificate.credential, name="Forged"))
    )
    db.session.expire_all()
    recorded, failed = register.record_checks()
    assert (recorded, failed) == (1, 1)
    assert db.session.get(register.CredentialCheck, old.certificate.id) is not None
    assert db.session.get(register.CredentialCheck, forged.certificate.id) is None
    assert register.record_checks() == (0, 1)  # recorded ones are not checked again

    refuse_signature_work(monkeypatch)
    assert service.verify_code(old.code).valid


def test_backfill_command(app, make_certificate, db):
    issued = make_certificate(recorded=False)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["certificates", "record-checks"])
    assert result.exit_code == 0, result.output
    assert "recorded 1 verified credentials; 0 failed" in result.output
    assert db.session.get(register.CredentialCheck, issued.certificate.id) is not None


@pytest.mark.parametrize("path", ["/verify/{code}", "/api/v1/verify/{code}"])
def test_a_lookup_writes_nothing_and_needs_one_query(app, client, make_certificate, db, path):
    issued = make_certificate()
    db.session.commit()
    client.get(path.format(code=issued.code))  # the first request of the app sets itself up
    with count_queries(app) as queries:
        response = client.get(path.format(code=issued.code))
    assert response.status_code == 200
    assert not [s for s in queries.statements if s.lstrip().upper().startswith(WRITES)]
    lookups = [s for s in queries.statements if "FROM certificates" in s]
    assert len(lookups) == 1
