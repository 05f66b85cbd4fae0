"""The verification service: codes, uploads, register status, privacy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from certificates.credentials.checks import PROOF, SCHEMA, STATUS, VALIDITY
from certificates.credentials.status_list import read_status
from certificates.verify import service
from lms.db import utcnow


def names(report):
    return [check.name for check in report.checks]


def test_a_code_verifies_with_every_check_passing(issued):
    report = service.verify_code(issued.code)
    assert report.valid, report.as_dict()
    assert report.status == service.ACTIVE
    assert names(report) == ["format", "schema", "issuer_key", "proof", "status", "validity"]
    assert report.code == issued.code
    assert report.credential["holder"] == issued.certificate.user.name
    assert report.credential["achievement"]["code"] == "SC-PM"
    assert report.credential["status"] == "active"


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: " " + code.replace("-", " ") + " ",
        lambda code: code.replace("0", "O").replace("1", "I"),
    ],
)
def test_typed_variants_of_a_code_verify(issued, typed):
    assert service.verify_code(typed(issued.code)).valid


def test_unknown_and_malformed_codes_get_the_same_answer(issued, app, db):
    from tests.conftest import count_queries

    unknown = "0000000000" + "0000000000"
    with count_queries(app) as unknown_queries:
        unknown_report = service.verify_code(unknown)
    with count_queries(app) as malformed_queries:
        malformed_report = service.verify_code("<script>not a code</script>")
    assert unknown_report == malformed_report == service.NOT_FOUND_REPORT
    assert unknown_report.as_dict() == {
        "valid": False,
        "status": "not_found",
        "checks": [],
        "credential": {},
    }
    assert unknown_queries.count == malformed_queries.count


def test_the_shown_credential_never_carries_the_email(make_certificate):
    issued = make_certificate(email="Private.Person@example.org")
    for report in (
        service.verify_code(issued.code),
        service.verify_upload(issued.pdf),
        service.verify_upload(issued.credential_bytes),
    ):
        text = json.dumps(report.as_dict(), ensure_ascii=False).lower()
        assert report.valid
        assert "private.person" not in text
        assert "sha256$" not in text
        assert "salt" not in text


def test_revoked_certificate_reports_the_reason_from_the_register(issued, set_status):
    set_status(issued, "revoked", "Exam fraud established on appeal")
    for report in (service.verify_code(issued.code), service.verify_upload(issued.pdf)):
        assert not report.valid
        assert report.status == service.REVOKED
        assert report.reason == "Exam fraud established on appeal"
        status = report.get(STATUS)
        assert not status.passed
        assert "Exam fraud" in status.detail
        assert report.get(PROOF).passed  # still genuine: it is the status that fails


def test_suspended_certificate_says_suspended(issued, set_status):
    set_status(issued, "suspended")
    report = service.verify_code(issued.code)
    assert (report.valid, report.status) == (False, service.SUSPENDED)
    assert report.reason == ""


def test_a_credential_issued_before_the_did_still_verifies_online(legacy_issued, set_status):
    credential = legacy_issued.credential
    assert credential["issuer"]["id"] == "http://localhost/issuer"
    assert credential["proof"][0]["verificationMethod"].startswith("http://localhost/issuer#")
    assert credential["credentialStatus"]["statusPurpose"] == "message"
    for report in (
        service.verify_code(legacy_issued.code),
        service.verify_upload(legacy_issued.pdf),
        service.verify_upload(legacy_issued.credential_bytes),
    ):
        assert report.valid, report.failed
    # Its two-bit list still records suspension and revocation, under the old issuer id.
    set_status(legacy_issued, "suspended")
    listed = legacy_issued.certificate.status_list.credential
    assert listed["issuer"] == "http://localhost/issuer"
    assert read_status(credential["credentialStatus"], listed).message == "suspended"
    assert service.verify_upload(legacy_issued.credential_bytes).status == service.SUSPENDED
    set_status(legacy_issued, "revoked", "Withdrawn")
    report = service.verify_upload(legacy_issued.credential_bytes)
    assert report.status == service.REVOKED
    assert report.get(PROOF).passed


def test_register_decides_when_the_list_lags(issued, db):
    # A revocation whose list was not yet re-signed still shows as revoked.
    issued.certificate.status = "revoked"
    issued.certificate.revocation_reason = "Withdrawn"
    db.session.flush()
    report = service.verify_code(issued.code)
    assert report.status == service.REVOKED
    assert report.reason == "Withdrawn"


def test_expired_and_not_yet_valid(make_certificate):
    now = utcnow()
    expired = make_certificate(
        valid_from=now - timedelta(days=800), valid_until=now - timedelta(days=10)
    )
    report = service.verify_code(expired.code)
    assert (report.valid, report.status, report.failed) == (False, service.EXPIRED, [VALIDITY])
    assert "expired" in report.get(VALIDITY).detail

    future = make_certificate(valid_from=now + timedelta(days=10))
    report = service.verify_code(future.code)
    assert (report.valid, report.status, report.failed) == (False, "not_yet_valid", [VALIDITY])


def test_certificate_without_end_date(make_certificate):
    report = service.verify_code(make_certificate(valid_until=None).code)
    assert report.valid
    assert "no end date" in report.get(VALIDITY).detail


def test_uploaded_pdf_adds_the_issued_file_check(issued):
    report = service.verify_upload(issued.pdf)
    assert report.valid
    assert report.kind == "pdf"
    assert report.code == issued.code
    assert names(report)[-2:] == [service.ISSUED_FILE, service.PDF_SIGNATURE]
    assert report.get(service.ISSUED_FILE).passed
    assert report.get(service.PDF_SIGNATURE).passed


def test_uploaded_json_verifies_without_the_file_check(issued):
    report = service.verify_upload(issued.credential_bytes)
    assert report.valid
    assert report.kind == "json"
    assert report.get(service.ISSUED_FILE) is None


def test_retired_keys_still_verify(issued, db):
    from certificates import keys

    keys.rotate()
    db.session.flush()
    assert service.verify_code(issued.code).valid


def test_schema_check_is_reported_by_name(issued):
    assert service.verify_code(issued.code).get(SCHEMA).passed


def test_bulk_verification_keeps_order_and_query_count(make_certificate, app):
    from tests.conftest import count_queries

    first = make_certificate()
    many = [make_certificate() for _ in range(4)]
    with count_queries(app) as one:
        service.verify_codes([first.code])
    codes = [item.code for item in many] + ["bad", first.code.lower()]
    with count_queries(app) as five:
        reports = service.verify_codes(codes)
    assert one.count == five.count
    assert [report.code for report in reports] == [*codes[:4], None, first.code]
    assert [report.valid for report in reports] == [True] * 4 + [False, True]


def test_remembered_outcomes_follow_revocation_and_time(issued, set_status):
    assert service.verify_code(issued.code).valid
    assert service.verify_code(issued.code).valid  # the second time from memory
    later = issued.certificate.valid_until + timedelta(days=1)
    report = service.verify_code(issued.code, trust=service.online_trust(later))
    assert (report.status, report.failed) == (service.EXPIRED, [VALIDITY])
    set_status(issued, "revoked", "Revoked after all")
    report = service.verify_code(issued.code)
    assert (report.status, report.reason) == (service.REVOKED, "Revoked after all")


def test_a_new_key_set_is_a_new_outcome(issued, db):
    from certificates import keys

    first = service.online_trust()
    keys.rotate()
    db.session.flush()
    second = service.online_trust()
    assert first.key_ids != second.key_ids
    assert service.verify_code(issued.code, trust=second).valid
