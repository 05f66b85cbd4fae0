"""Public downloads return the stored bytes, with safe headers, rate-limited."""

from __future__ import annotations

import hashlib
import json

import pytest

from certificates import operations as ops
from certificates.pdf import CertificatePDF, extract_credential


@pytest.fixture
def cert(db, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    return cert


def test_pdf_is_the_stored_bytes(client, cert, monkeypatch):
    # Rendering again would be a bug: make it fail loudly.
    monkeypatch.setattr(CertificatePDF, "render", lambda self: pytest.fail("re-rendered"))
    response = client.get(f"/certificates/{cert.code}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == cert.pdf
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=certificate-{cert.code}.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(extract_credential(response.data)) == cert.credential


def test_code_is_accepted_as_typed(client, cert):
    typed = cert.code.lower().replace("-", "")
    assert client.get(f"/certificates/{typed}.pdf").data == cert.pdf


def test_credential_json(client, cert):
    response = client.get(f"/credentials/{cert.code}.json")
    assert response.status_code == 200
    assert json.loads(response.data) == cert.credential
    assert response.data == ops.credential_bytes(cert.credential)
    assert "attachment" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("code", ["ABCDE-FGHJK-MNPQR-STVWX", "nonsense", "<script>"])
def test_unknown_codes_are_404(client, db, code):
    assert client.get(f"/certificates/{code}.pdf").status_code == 404
    assert client.get(f"/credentials/{code}.json").status_code == 404


def test_downloads_are_rate_limited(app, client, cert):
    app.config["CERTIFICATE_DOWNLOAD_LIMIT"] = "3 per minute"
    try:
        statuses = [client.get(f"/credentials/{cert.code}.json").status_code for _ in range(4)]
    finally:
        app.config.pop("CERTIFICATE_DOWNLOAD_LIMIT")
    assert statuses == [200, 200, 200, 429]


def test_pdf_is_streamed_from_the_file_store(app, client, cert):
    from lms.storage import read_bytes, storage

    assert cert.pdf_key == cert.pdf_sha256
    assert storage().exists(cert.pdf_key)
    response = client.get(f"/certificates/{cert.code}.pdf", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    body = b"".join(response.response)
    response.close()
    assert hashlib.sha256(body).hexdigest() == cert.pdf_sha256
    assert body == read_bytes(storage(), cert.pdf_key)


def test_altered_stored_pdf_is_refused(app, client, cert):
    from lms.storage import StorageError, storage

    path = storage()._path(cert.pdf_key)
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"%PDF", b"%PDX", 1))
        response = client.get(f"/certificates/{cert.code}.pdf")
        # The stream fails at its end, so the altered bytes never arrive complete.
        with pytest.raises(StorageError):
            _ = response.data
        response.close()
        with pytest.raises(StorageError):
            _ = cert.pdf
    finally:
        path.write_bytes(original)


def test_cleanup_keeps_the_files_rows_name(app, cert):
    from lms.storage import put_bytes, remove_orphans, storage

    unnamed = put_bytes(storage(), b"written by a request that never committed")
    assert remove_orphans(grace_seconds=-1) >= 1
    assert not storage().exists(unnamed)
    assert storage().exists(cert.pdf_key)
    assert hashlib.sha256(cert.pdf).hexdigest() == cert.pdf_sha256
