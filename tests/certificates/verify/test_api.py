"""JSON verification API: reports, RFC 9457 problems, CSRF exemption, rate limit."""

from __future__ import annotations

import io
import json

import pytest

from certificates.verify import service

UNKNOWN = "7K3QD-0ZB9M-XT2RA-H5W8C"


def test_code_report(client, issued):
    response = client.get(f"/api/v1/verify/{issued.code.lower()}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["valid"] is True
    assert body["status"] == "active"
    assert [check["name"] for check in body["checks"]] == [
        "format",
        "schema",
        "issuer_key",
        "proof",
        "status",
        "validity",
    ]
    assert all(set(check) == {"name", "passed", "detail"} for check in body["checks"])
    assert body["credential"]["holder"] == issued.certificate.user.name
    assert issued.certificate.user.email not in response.get_data(as_text=True)


def test_unknown_and_malformed_codes_are_the_same_problem(client, issued):
    unknown = client.get(f"/api/v1/verify/{UNKNOWN}")
    malformed = client.get("/api/v1/verify/%3Cscript%3E")
    for response in (unknown, malformed):
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert unknown.get_json() == malformed.get_json()
    assert unknown.get_json()["valid"] is False


def test_post_credential_json_without_csrf_token(client, issued):
    response = client.post(
        "/api/v1/verify", data=issued.credential_bytes, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is True
    assert body["status"] == "active"


@pytest.mark.parametrize("filename", ["certificate.pdf", "credential.json"])
def test_post_multipart_file(client, issued, filename):
    data = issued.pdf if filename.endswith(".pdf") else issued.credential_bytes
    response = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is True
    names = [check["name"] for check in body["checks"]]
    assert (service.ISSUED_FILE in names) == filename.endswith(".pdf")


def test_post_raw_pdf(client, issued):
    response = client.post("/api/v1/verify", data=issued.pdf, content_type="application/pdf")
    assert response.get_json()["valid"] is True


def test_revoked_says_so_with_the_reason(client, issued, set_status):
    set_status(issued, "revoked", "Issued in error")
    for response in (
        client.get(f"/api/v1/verify/{issued.code}"),
        client.post("/api/v1/verify", data=issued.pdf, content_type="application/pdf"),
    ):
        body = response.get_json()
        assert (body["valid"], body["status"]) == (False, "revoked")
        assert body["reason"] == "Issued in error"


def test_tampered_json_reports_the_failed_check(client, issued):
    document = json.loads(issued.credential_bytes)
    document["validUntil"] = "2099-01-01T00:00:00Z"
    response = client.post("/api/v1/verify", json=document)
    assert response.status_code == 200
    body = response.get_json()
    assert body["valid"] is False
    assert body["status"] == "invalid"
    assert [check["name"] for check in body["checks"] if not check["passed"]] == ["proof"]
    assert body["credential"] == {}


@pytest.mark.parametrize(
    ("data", "content_type", "detail"),
    [
        (b'{"a": 1}', "application/json", "not a verifiable credential"),
        (b"{oops", "application/json", "not valid JSON"),
        (b"%PDF-1.7\ntruncated", "application/pdf", "incomplete"),
        (b"hello", "application/pdf", "not a PDF"),
    ],
)
def test_unreadable_input_is_a_422_problem_naming_the_format_check(
    client, db, data, content_type, detail
):
    response = client.post("/api/v1/verify", data=data, content_type=content_type)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert detail in body["detail"]
    assert body["valid"] is False
    assert body["checks"] == [{"name": "format", "passed": False, "detail": body["detail"]}]


def test_unsupported_media_type(client):
    response = client.post("/api/v1/verify", data=b"x", content_type="text/plain")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_multipart_without_file(client):
    response = client.post("/api/v1/verify", data={"x": "1"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_size_cap(client, app):
    app.config["VERIFY_MAX_UPLOAD"] = 1000
    try:
        response = client.post(
            "/api/v1/verify", data=b"%PDF-" + b"0" * 2000, content_type="application/pdf"
        )
    finally:
        del app.config["VERIFY_MAX_UPLOAD"]
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_api_is_rate_limited_with_a_problem(client, app):
    app.config["VERIFY_API_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [client.get(f"/api/v1/verify/{UNKNOWN}").status_code for _ in range(2)]
        refused = client.post("/api/v1/verify", json={})
    finally:
        del app.config["VERIFY_API_RATE_LIMIT"]
    assert codes == [404, 404]
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "Retry-After" in refused.headers
