"""Offline verification: ``lms certificates verify FILE`` with a key and a saved status list."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from click.testing import CliRunner

from certificates import issuer
from certificates import operations as ops
from certificates.credentials import signing
from certificates.models import StatusList
from certificates.verify.cli import verify_command
from lms.db import utcnow
from tests.conftest import count_queries


@pytest.fixture
def files(tmp_path, client, issued, status_list_row):
    """The holder's PDF and JSON, and the issuer's documents saved from the server."""

    def save():
        paths = {
            "pdf": tmp_path / "certificate.pdf",
            "json": tmp_path / "credential.json",
            "issuer": tmp_path / "issuer.json",
            "did": tmp_path / "did.json",
            "list": tmp_path / "status-list.json",
            "pem": tmp_path / "pdf-certificate.pem",
        }
        paths["pdf"].write_bytes(issued.pdf)
        paths["json"].write_bytes(issued.credential_bytes)
        paths["issuer"].write_bytes(client.get("/issuer").data)
        paths["did"].write_bytes(client.get("/.well-known/did.json").data)
        paths["list"].write_bytes(client.get(f"/status-lists/{status_list_row.id}").data)
        paths["pem"].write_bytes(client.get("/issuer/pdf-certificate.pem").data)
        return {name: str(path) for name, path in paths.items()}

    return save


@pytest.fixture
def offline(monkeypatch, app):
    """Run the command with the network cut off, counting database queries."""

    def no_network(*args, **kwargs):
        raise AssertionError("the offline verifier opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)

    def run(*args):
        with count_queries(app) as queries:
            result = CliRunner().invoke(verify_command, list(args))
        assert queries.count == 0, queries.statements
        return result

    return run


def multikey(issued) -> str:
    return issued.credential["proof"][0]["verificationMethod"].partition("#")[2]


def test_pdf_with_key_status_list_and_pdf_certificate_verifies(files, offline, issued):
    paths = files()
    result = offline(
        paths["pdf"],
        "--issuer-key",
        multikey(issued),
        "--status-list",
        paths["list"],
        "--pdf-certificate",
        paths["pem"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in ("format", "schema", "issuer_key", "proof", "status", "validity", "pdf_signature"):
        assert any(line.startswith(f"PASS  {name}:") for line in lines), name
    assert "FAIL" not in result.output
    assert "note" not in result.output
    assert f"   HOLDER:        {issued.certificate.user.name}" in lines
    assert lines[-1] == "result: VALID"


def test_saved_did_document_as_the_key(files, offline):
    paths = files()
    result = offline(paths["json"], "--issuer-key", paths["did"], "--status-list", paths["list"])
    assert result.exit_code == 0, result.output
    assert "issued file" not in result.output  # a JSON file has no issued-file check


def test_a_saved_did_document_is_for_its_own_did_only(files, offline):
    paths = files()
    result = offline(
        paths["json"], "--issuer-key", paths["did"], "--issuer", "did:web:elsewhere.example"
    )
    assert result.exit_code == 2
    assert "holds the keys of did:web:localhost" in result.output


def test_a_bare_key_for_our_did_does_not_vouch_for_another_issuer(
    files, offline, issued, tmp_path, db
):
    paths = files()
    key = issuer.current_signing_key()
    other = "did:web:evil.example"
    unsigned = {k: v for k, v in issued.credential.items() if k != "proof"}
    unsigned["issuer"] = {**unsigned["issuer"], "id": other}
    forged = signing.sign(unsigned, key.private_key, f"{other}#{key.public_multikey}", utcnow())
    path = tmp_path / "other.json"
    path.write_text(json.dumps(forged))
    result = offline(str(path), "--issuer-key", key.public_multikey)
    assert result.exit_code == 1
    assert "FAIL  issuer_key:" in result.output
    assert "a key vouches only for its own issuer" in result.output
    # Named explicitly, the key is bound to that issuer instead.
    given = offline(str(path), "--issuer-key", key.public_multikey, "--issuer", other)
    assert "PASS  issuer_key:" in given.output
    assert "PASS  proof:" in given.output
    # and then no longer vouches for ours.
    ours = offline(paths["json"], "--issuer-key", key.public_multikey, "--issuer", other)
    assert "FAIL  issuer_key:" in ours.output


def test_a_lapsed_status_list_is_refused(offline, issued, app, db, tmp_path):
    # A copy of the list saved three hours ago, when lists were valid for one hour.
    row = db.session.get(StatusList, issued.certificate.status_list_id)
    row.valid_until = None  # due now: re-sign it as of then
    app.config["STATUS_LIST_VALIDITY_HOURS"] = 1
    try:
        assert ops.refresh_status_list(row, utcnow() - timedelta(hours=3))
    finally:
        del app.config["STATUS_LIST_VALIDITY_HOURS"]
    lapsed = row.credential["validUntil"]
    saved = tmp_path / "old-list.json"
    saved.write_text(json.dumps(row.credential))
    result = offline(
        issued_json(issued, tmp_path), "--issuer-key", multikey(issued), "--status-list", str(saved)
    )
    assert result.exit_code == 1
    assert f"FAIL  status: the status list expired on {lapsed}, download a fresh one" in (
        result.output
    )
    assert "result: NOT VALID" in result.output


def issued_json(issued, tmp_path) -> str:
    path = tmp_path / "credential.json"
    path.write_bytes(issued.credential_bytes)
    return str(path)


def test_without_status_list_the_status_is_unknown(files, offline, issued):
    paths = files()
    result = offline(paths["pdf"], "--issuer-key", multikey(issued))
    assert result.exit_code == 1
    assert "FAIL  status: unknown" in result.output
    assert "--status-list" in result.output
    assert "result: NOT VALID (unknown)" in result.output


def test_without_a_key_nothing_is_trusted(files, offline):
    paths = files()
    result = offline(paths["pdf"], "--status-list", paths["list"])
    assert result.exit_code == 1
    assert "FAIL  issuer_key:" in result.output
    assert "no --issuer-key given" in result.output


def test_revoked_from_the_pdf_and_a_saved_status_list(files, offline, issued, set_status):
    set_status(issued, "revoked", "Fraud")
    paths = files()
    result = offline(paths["pdf"], "--issuer-key", multikey(issued), "--status-list", paths["list"])
    assert result.exit_code == 1
    assert "FAIL  status: the credential is revoked" in result.output
    assert "PASS  proof:" in result.output
    assert "result: NOT VALID (revoked)" in result.output


def test_another_key_fails_the_issuer_key_check(files, offline):
    paths = files()
    stranger = signing.public_multikey(signing.generate_key())
    result = offline(paths["pdf"], "--issuer-key", stranger, "--status-list", paths["list"])
    assert result.exit_code == 1
    assert "FAIL  issuer_key:" in result.output


def test_a_forged_status_list_is_not_believed(files, offline, issued, tmp_path):
    paths = files()
    with open(paths["list"]) as saved:
        document = json.load(saved)
    document["validFrom"] = "2020-01-01T00:00:00Z"  # any change breaks its signature
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    result = offline(paths["pdf"], "--issuer-key", multikey(issued), "--status-list", str(forged))
    assert result.exit_code == 1
    assert "status list does not verify" in result.output


def test_a_deeply_nested_status_list_file_is_a_clear_error(files, offline, issued, tmp_path):
    paths = files()
    hostile = tmp_path / "deep.json"
    hostile.write_text("[" * 100_000 + "]" * 100_000)
    result = offline(paths["pdf"], "--issuer-key", multikey(issued), "--status-list", str(hostile))
    assert result.exit_code == 2  # a usage error naming the file, not a traceback
    assert "is not a readable JSON file" in result.output
    assert "Traceback" not in result.output
    assert "RecursionError" not in result.output


def test_tampered_json_fails_the_proof(files, offline, issued, tmp_path):
    paths = files()
    document = json.loads(issued.credential_bytes)
    document["credentialSubject"]["result"][0]["value"] = "5"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    key = multikey(issued)
    result = offline(str(tampered), "--issuer-key", key, "--status-list", paths["list"])
    assert result.exit_code == 1
    assert "FAIL  proof:" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"GIF89a", "neither a PDF"), (b'{"a": 1}', "not a verifiable credential")],
)
def test_unreadable_files_fail_the_format_check(offline, tmp_path, issued, content, message):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    result = offline(str(path), "--issuer-key", multikey(issued))
    assert result.exit_code == 1
    assert "FAIL  format:" in result.output
    assert message in result.output


def test_truncated_pdf(offline, tmp_path, issued):
    path = tmp_path / "cut.pdf"
    path.write_bytes(issued.pdf[:5000])
    result = offline(str(path), "--issuer-key", multikey(issued))
    assert result.exit_code == 1
    assert "FAIL  format: The PDF is incomplete" in result.output


def test_json_output(files, offline, issued):
    paths = files()
    result = offline(
        paths["pdf"], "--issuer-key", multikey(issued), "--status-list", paths["list"], "--json"
    )
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["valid"] is False
    assert body["status"] == "file_unchecked"
    assert body["credential"]["holder"] == issued.certificate.user.name
    assert any("--pdf-certificate" in note for note in body["notes"])
    result = offline(
        paths["pdf"],
        *("--issuer-key", multikey(issued), "--status-list", paths["list"]),
        *("--pdf-certificate", paths["pem"], "--json"),
    )
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["valid"] is True
    assert body["status"] == "active"
    assert body["notes"] == []


def test_bad_key_option_is_a_usage_error(files, offline):
    paths = files()
    result = offline(paths["pdf"], "--issuer-key", "not-a-key")
    assert result.exit_code == 2
    assert "z6Mk" in result.output


def test_the_issuer_is_the_did_the_credential_names(issued):
    assert issued.credential["issuer"]["id"] == issuer.issuer_did() == "did:web:localhost"


def test_a_credential_issued_before_the_did_still_verifies_offline(
    client, offline, legacy_issued, legacy_status_list_row, tmp_path
):
    assert legacy_issued.credential["issuer"]["id"] == "http://localhost/issuer"
    saved_list = tmp_path / "old-list.json"
    saved_list.write_bytes(client.get(f"/status-lists/{legacy_status_list_row.id}").data)
    saved_profile = tmp_path / "issuer.json"
    saved_profile.write_bytes(client.get("/issuer").data)
    path = issued_json(legacy_issued, tmp_path)
    for key in (multikey(legacy_issued), str(saved_profile)):
        result = offline(path, "--issuer-key", key, "--status-list", str(saved_list))
        assert result.exit_code == 0, result.output
        assert "result: VALID" in result.output


def test_it_is_the_lms_certificates_verify_command(app, files, issued):
    paths = files()
    result = app.test_cli_runner().invoke(
        args=[
            "certificates",
            "verify",
            paths["pdf"],
            "--issuer-key",
            multikey(issued),
            "--status-list",
            paths["list"],
            "--pdf-certificate",
            paths["pem"],
        ]
    )
    assert result.exit_code == 0, result.output
    assert "result: VALID" in result.output
