"""Tampering never verifies, and the report names the check that failed."""

from __future__ import annotations

import copy
import io
import json
import re

import pytest
from jsonschema import Draft201909Validator
from pypdf import PdfReader

from certificates import issuer
from certificates.credentials import signing
from certificates.credentials.checks import FORMAT, ISSUER_KEY, PROOF
from certificates.pdf import embed_credential, extract_credential
from certificates.verify import service
from tests.standards import STANDARDS

SCHEMA_FILE = STANDARDS / "schemas" / "ob_v3p0_achievementcredential_schema.json"


def upload_json(document) -> service.Report:
    return service.verify_upload(json.dumps(document, ensure_ascii=False).encode())


def test_the_embedded_credential_validates_against_the_official_schema(issued):
    embedded = json.loads(extract_credential(issued.pdf))
    assert embedded == issued.credential
    schema = json.loads(SCHEMA_FILE.read_text())
    errors = list(Draft201909Validator(schema).iter_errors(embedded))
    assert errors == []
    assert service.verify_upload(json.dumps(embedded).encode()).valid


def _subject_name(document):
    identifiers = document["credentialSubject"]["identifier"]
    return next(item for item in identifiers if item["identityType"] == "name")


def change_name(document):
    _subject_name(document)["identityHash"] = "Someone Else"


def change_date(document):
    document["validUntil"] = "2099-12-31T00:00:00Z"


def change_level(document):
    document["credentialSubject"]["result"][0]["value"] = "5"


def change_status_entry(document):
    entry = document["credentialStatus"]
    index = (int(entry["statusListIndex"]) + 1) % 131072
    entry["statusListIndex"] = str(index)
    entry["id"] = entry["statusListCredential"] + f"#{index}"


def change_achievement(document):
    document["credentialSubject"]["achievement"]["name"] = "Chief Smart City Architect"


@pytest.mark.parametrize(
    "tamper", [change_name, change_date, change_level, change_status_entry, change_achievement]
)
def test_a_changed_statement_fails_the_proof(issued, tamper):
    document = copy.deepcopy(issued.credential)
    tamper(document)
    report = upload_json(document)
    assert not report.valid
    assert report.status == service.INVALID
    assert report.failed == [PROOF]
    assert report.credential == {}  # a forged statement is never shown as verified


def test_an_added_property_fails_the_format_check(issued):
    document = copy.deepcopy(issued.credential)
    document["credentialSubject"]["employer"] = "ACME"  # no context defines it: unsigned
    report = upload_json(document)
    assert not report.valid
    assert FORMAT in report.failed
    assert "employer" in report.get(FORMAT).detail


def _resigned(document, method_of):
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    other = signing.generate_key()
    return signing.sign(unsigned, other, method_of(other), "2025-01-01T00:00:00Z")


def test_a_proof_from_another_key_fails_the_issuer_key_check(issued):
    forged = _resigned(
        issued.credential, lambda key: signing.verification_method_id(issuer.issuer_url(), key)
    )
    report = upload_json(forged)
    assert report.failed == [ISSUER_KEY, PROOF]
    assert "not a known key" in report.get(ISSUER_KEY).detail


def test_another_key_claiming_the_issuers_method_fails_the_proof(issued):
    method = issued.credential["proof"][0]["verificationMethod"]
    forged = _resigned(issued.credential, lambda key: method)
    report = upload_json(forged)
    assert report.failed == [PROOF]


def test_a_proof_under_another_issuer_fails_the_issuer_key_check(issued):
    forged = _resigned(issued.credential, lambda key: f"did:key:{signing.public_multikey(key)}")
    assert ISSUER_KEY in upload_json(forged).failed


def _page_stream_offset(pdf: bytes) -> int:
    """Return the offset of the first byte of the page's content stream."""
    reader = PdfReader(io.BytesIO(pdf))
    contents = reader.pages[0].raw_get("/Contents")
    number = contents.idnum
    start = re.search(rb"(?<![0-9])%d 0 obj" % number, pdf).end()
    return pdf.index(b"stream", start) + len(b"stream\n")


def test_an_edited_page_fails_the_issued_file_check(issued):
    offset = _page_stream_offset(issued.pdf) + 40
    edited = bytearray(issued.pdf)
    edited[offset] ^= 0x01
    report = service.verify_upload(bytes(edited))
    assert report.failed == [service.ISSUED_FILE, service.PDF_SIGNATURE]
    assert "does not match the file" in report.get(service.PDF_SIGNATURE).detail
    # The credential is genuine, the page is not: amber, with what the credential says.
    assert report.status == service.CHANGED_FILE
    assert report.credential["holder"] == issued.certificate.user.name
    assert not report.valid


def test_a_swapped_attachment_fails_the_issued_file_check(make_certificate):
    mine, other = make_certificate(name="Mine"), make_certificate(name="Other Person")
    # The page says "Mine", the attached (genuine) credential is someone else's.
    swapped = embed_credential(mine.rendered, other.credential_bytes)
    report = service.verify_upload(swapped)
    assert report.failed == [service.ISSUED_FILE, service.PDF_SIGNATURE]
    assert report.status == service.CHANGED_FILE
    assert report.credential["holder"] == "Other Person"  # what the credential certifies
    assert not report.valid


def test_a_swapped_forged_attachment_fails_the_proof_too(issued):
    document = copy.deepcopy(issued.credential)
    change_name(document)
    swapped = embed_credential(issued.rendered, json.dumps(document).encode())
    report = service.verify_upload(swapped)
    assert report.failed == [PROOF, service.ISSUED_FILE, service.PDF_SIGNATURE]
    assert report.status == service.INVALID


def test_a_pdf_without_a_credential_is_refused_clearly(issued):
    report = service.verify_upload(issued.rendered)
    assert report.error.startswith("The PDF carries no credential")
    assert report.failed == [FORMAT]


def test_a_truncated_pdf_is_refused_clearly(issued):
    report = service.verify_upload(issued.pdf[: len(issued.pdf) // 2])
    assert not report.valid
    assert report.failed == [FORMAT]
    assert "incomplete" in report.error


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a\x01\x00\x01\x00", "neither a PDF nor"),
        (b"", "empty"),
        (b"\x00\xff" * 100, "neither a PDF nor"),
        (b'{"hello": "world"}', "not a verifiable credential"),
        (b"[1, 2, 3]", "not a verifiable credential"),
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (b"%PDF-1.7\n garbage %%EOF", "cannot be read"),
    ],
)
def test_unreadable_uploads_fail_the_format_check(db, data, message):
    report = service.verify_upload(data)
    assert (report.valid, report.status, report.failed) == (False, service.INVALID, [FORMAT])
    assert message in report.error


def test_a_json_credential_in_a_pdf_that_is_not_a_credential(issued):
    pdf = embed_credential(issued.rendered, b'{"type": ["Nothing"]}')
    report = service.verify_upload(pdf)
    assert report.failed == [FORMAT]
    assert "credential inside the PDF" in report.error
