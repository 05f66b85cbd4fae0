"""Issue, verify by code, QR link and PDF; revoke; verify again online and offline."""

from __future__ import annotations

import io
import json
from urllib.parse import urlsplit

import pypdfium2
import zxingcpp
from click.testing import CliRunner
from jsonschema import Draft201909Validator

from certificates import operations as ops
from certificates.pdf import extract_credential
from certificates.verify.cli import verify_command
from tests.certificates.verify.test_pages import check_states, verdict
from tests.standards import SCHEMAS

SCHEMA_FILE = SCHEMAS / "ob_v3p0_achievementcredential_schema.json"


def qr_link(pdf: bytes) -> str:
    """Return the path the certificate's QR code links to."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    (found,) = zxingcpp.read_barcodes(image)
    return urlsplit(found.text).path


def upload(client, pdf: bytes):
    return client.post_form(
        "/verify",
        {"file": (io.BytesIO(pdf), "certificate.pdf")},
        content_type="multipart/form-data",
    )


def offline(tmp_path, client, certificate) -> tuple[int, str]:
    """Verify the PDF with the CLI, from the issuer key, a freshly saved status list and the
    saved PDF certificate."""
    pdf, saved = tmp_path / "certificate.pdf", tmp_path / "list.json"
    pem = tmp_path / "pdf-certificate.pem"
    pdf.write_bytes(certificate.pdf)
    saved.write_bytes(client.get(f"/status-lists/{certificate.status_list_id}").data)
    pem.write_bytes(client.get("/issuer/pdf-certificate.pem").data)
    key = certificate.credential["proof"][0]["verificationMethod"].partition("#")[2]
    result = CliRunner().invoke(
        verify_command,
        [str(pdf), "--issuer-key", key, "--status-list", str(saved), "--pdf-certificate", str(pem)],
    )
    return result.exit_code, result.output


def test_issue_verify_revoke_verify(db, client, world, trainee, tmp_path):
    certificate = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    code = certificate.code

    embedded = json.loads(extract_credential(certificate.pdf))
    schema = json.loads(SCHEMA_FILE.read_text())
    assert list(Draft201909Validator(schema).iter_errors(embedded)) == []

    link = qr_link(certificate.pdf)
    assert link == f"/verify/{code}"
    for response in (
        client.get("/verify", query_string={"code": code.lower()}, follow_redirects=True),
        client.get(link),
        upload(client, certificate.pdf),
    ):
        assert response.status_code == 200
        assert verdict(response) == "active"
        assert set(check_states(response).values()) == {"yes"}
        assert "Мария Иванова-Петрова" in response.get_data(as_text=True)
    assert client.get(f"/api/v1/verify/{code}").get_json()["valid"] is True
    exit_code, output = offline(tmp_path, client, certificate)
    assert exit_code == 0, output

    ops.revoke(certificate, reason="Exam taken by another person", actor=world.certifier)
    db.session.commit()
    for response in (
        client.get("/verify", query_string={"code": code}, follow_redirects=True),
        client.get(link),
        upload(client, certificate.pdf),
    ):
        assert verdict(response) == "revoked"
        assert "Exam taken by another person" in response.get_data(as_text=True)
        assert check_states(response)["status"] == "no"
    body = client.get(f"/api/v1/verify/{code}").get_json()
    assert (body["status"], body["reason"]) == ("revoked", "Exam taken by another person")
    exit_code, output = offline(tmp_path, client, certificate)
    assert exit_code == 1
    assert "FAIL  status: the credential is revoked" in output
    assert "result: NOT VALID (revoked)" in output
