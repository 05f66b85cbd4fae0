"""Issuing a certificate: checks, frozen snapshot, signed credential, stored PDF, idempotency."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from certificates import issuer
from certificates import operations as ops
from certificates.credentials.openbadges import matches_email, validate_schema
from certificates.credentials.verification import verify_credential
from certificates.models import Certificate, ImpartialityWaiver, StatusList
from certificates.operations import issuance
from certificates.pdf import extract_credential
from lms.models import AuditLog, Role
from tests.certificates.conftest import release_exam

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _count(db, model=Certificate):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def status_source(db):
    def source(url):
        list_id = int(url.rsplit("/", 1)[-1])
        row = db.session.get(StatusList, list_id)
        return row.credential if row else None

    return source


def test_issue_builds_everything_once(db, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    assert cert.status == "active"
    assert cert.user_id == trainee.id
    assert cert.snapshot["holder_name"] == "Мария Иванова-Петрова"
    assert cert.snapshot["scheme"]["title_bg"] == world.scheme.title_bg
    assert cert.snapshot["courses"][0]["grade"] == "78"
    assert cert.snapshot["exams"][0]["percent"] == "86"
    assert cert.snapshot["template_version"] == ops.TEMPLATE_VERSION
    assert cert.valid_until == datetime(2028, 6, 1, 12, 0, tzinfo=UTC)
    assert cert.pdf_sha256 == hashlib.sha256(cert.pdf).hexdigest()
    # The PDF carries exactly the stored credential.
    embedded = extract_credential(cert.pdf)
    assert embedded == ops.credential_bytes(cert.credential)
    credential = json.loads(embedded)
    assert credential == cert.credential
    assert validate_schema(credential, raise_errors=False) == []
    assert credential["id"] == issuer.credential_url(cert.code)
    assert credential["validUntil"] == "2028-06-01T12:00:00Z"
    assert matches_email(credential, trainee.email)
    assert trainee.email not in json.dumps(credential)
    report = verify_credential(
        credential, issuer.key_resolver(), now=NOW, status_lists=status_source(db)
    )
    assert report.valid, report.result.as_list()
    assert report.credential["holder"] == "Мария Иванова-Петрова"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "certificate.issue"))


def test_issue_is_idempotent(db, world, trainee):
    first = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    again = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    assert again.id == first.id
    assert _count(db) == 1


def test_only_certifiers_issue(db, world, trainee, make_user):
    instructor = make_user(roles=[Role.INSTRUCTOR])
    with pytest.raises(ops.NotAllowed, match="Only certifiers"):
        ops.issue_certificate(world.scheme, trainee, actor=instructor)
    assert _count(db) == 0
    # Admins always may.
    assert ops.issue_certificate(world.scheme, trainee, actor=world.admin).id


def test_not_eligible_is_explained(db, world, make_user, qualify):
    weak = qualify(make_user(), world, grade=55, exam_percent=40)
    with pytest.raises(ops.NotEligible) as info:
        ops.issue_certificate(world.scheme, weak, actor=world.certifier)
    assert "55 < 60" in info.value.message
    assert "40% < 70%" in info.value.message
    assert _count(db) == 0


def test_impartiality_needs_a_waiver(db, world, make_user, qualify):
    trainee = qualify(make_user(), world)
    release_exam(db, trainee, world.exam, 90, grader=world.certifier)
    with pytest.raises(ops.ImpartialityConflict, match="another certifier"):
        ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert _count(db) == 0
    ops.grant_waiver(world.certifier, trainee, reason="Sole certifier", actor=world.admin)
    assert _count(db, ImpartialityWaiver) == 1
    assert ops.issue_certificate(world.scheme, trainee, actor=world.certifier).id


def test_nobody_certifies_themselves(db, world, qualify):
    qualify(world.certifier, world)
    with pytest.raises(ops.ImpartialityConflict, match="themselves"):
        ops.issue_certificate(world.scheme, world.certifier, actor=world.certifier)


def test_waiver_needs_reason_and_a_certifier(db, world, trainee, make_user):
    with pytest.raises(ops.CertificationError, match="reason"):
        ops.grant_waiver(world.certifier, trainee, reason="  ", actor=world.admin)
    with pytest.raises(ops.CertificationError, match="not a certifier"):
        ops.grant_waiver(make_user(), trainee, reason="x", actor=world.admin)
    assert _count(db, ImpartialityWaiver) == 0


def test_closed_scheme_issues_nothing(db, world, trainee):
    world.scheme.active = False
    with pytest.raises(ops.CertificationError, match="closed"):
        ops.issue_certificate(world.scheme, trainee, actor=world.certifier)


def test_codes_and_indexes_are_distinct(db, world, make_user, qualify):
    certs = [
        ops.issue_certificate(world.scheme, qualify(make_user(), world), actor=world.certifier)
        for _ in range(3)
    ]
    assert len({c.code for c in certs}) == 3
    assert len({(c.status_list_id, c.status_index) for c in certs}) == 3


def test_collision_retries(db, world, trainee, make_user, qualify, monkeypatch):
    other = ops.issue_certificate(world.scheme, qualify(make_user(), world), actor=world.certifier)
    codes = iter([other.code, "ABCDE-FGHJK-MNPQR-STVWX"])
    monkeypatch.setattr(issuance, "generate_code", lambda: next(codes))
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert cert.code == "ABCDE-FGHJK-MNPQR-STVWX"


def test_key_rotation_keeps_old_certificates_verifying(db, world, trainee, make_user, qualify):
    from certificates import keys

    old = ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)
    keys.rotate()
    new = ops.issue_certificate(
        world.scheme, qualify(make_user(), world), actor=world.certifier, now=NOW
    )
    assert old.signing_key_id != new.signing_key_id
    for cert in (old, new):
        report = verify_credential(
            cert.credential, issuer.key_resolver(), now=NOW, status_lists=status_source(db)
        )
        assert report.valid, report.result.as_list()
