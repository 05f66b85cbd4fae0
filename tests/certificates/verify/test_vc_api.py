"""The W3C VC API verifier: ``POST /credentials/verify``, public, CORS-enabled, rate-limited."""

from __future__ import annotations

import copy

import pytest

from tests.certificates.verify.test_hostile import poisoned

URL = "/credentials/verify"


def verify(client, body, **kwargs):
    return client.post(URL, json=body, **kwargs)


def test_a_genuine_credential_is_verified(client, issued):
    response = verify(client, {"verifiableCredential": issued.credential, "options": {}})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body == {
        "verified": True,
        "checks": ["format", "schema", "issuer_key", "proof", "status", "validity"],
        "warnings": [],
        "errors": [],
    }


def test_a_changed_credential_is_not_verified_and_says_why(client, issued):
    forged = copy.deepcopy(issued.credential)
    forged["credentialSubject"]["result"][0]["value"] = "5"
    response = verify(client, {"verifiableCredential": forged})
    assert response.status_code == 400
    body = response.get_json()
    assert body["verified"] is False
    assert [error["type"] for error in body["errors"]] == [
        "https://w3id.org/security#PROOF_VERIFICATION_ERROR"
    ]
    assert "does not match" in body["errors"][0]["detail"]


def test_a_revoked_credential_is_not_verified(client, issued, set_status):
    set_status(issued, "revoked", "Issued in error")
    body = verify(client, {"verifiableCredential": issued.credential}).get_json()
    assert body["verified"] is False
    assert [error["title"] for error in body["errors"]] == ["status check failed"]
    assert "Issued in error" in body["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "no verifiableCredential"),
        ({"credential": {}}, "no verifiableCredential"),
        ({"verifiableCredential": "eyJhbGciOi..."}, "no verifiableCredential"),
        ({"verifiableCredential": {"type": ["Nothing"]}}, "not a verifiable credential"),
    ],
)
def test_invalid_input_is_a_400_with_an_error(client, db, body, message):
    response = verify(client, body)
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    errors = response.get_json()["errors"]
    assert message in errors[0]["detail"]


def test_options_must_be_an_object_and_unknown_ones_are_warned_about(client, issued):
    assert (
        verify(client, {"verifiableCredential": issued.credential, "options": 3}).status_code == 400
    )
    body = verify(
        client, {"verifiableCredential": issued.credential, "options": {"checks": ["proof"]}}
    ).get_json()
    assert body["verified"] is True
    assert "checks is ignored" in body["warnings"][0]["detail"]


def test_a_hostile_credential_is_refused_before_any_json_ld_work(client, issued, monkeypatch):
    from tests.certificates.verify.test_hostile import refuse_json_ld

    refuse_json_ld(monkeypatch)
    response = verify(client, {"verifiableCredential": poisoned(issued.credential)})
    assert response.status_code == 400
    assert "has: alignment" in response.get_json()["errors"][0]["detail"]


def test_deep_nesting_is_invalid_input(client, db):
    data = b'{"verifiableCredential": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = client.post(URL, data=data, content_type="application/json")
    assert response.status_code == 400
    assert "nests deeper" in response.get_json()["errors"][0]["detail"]


def test_no_csrf_token_is_needed_but_json_is(client, issued):
    response = client.post(URL, data="verifiableCredential=x", content_type="text/plain")
    assert response.status_code == 400
    assert "application/json" in response.get_json()["errors"][0]["detail"]


def test_cors_preflight(client):
    response = client.options(
        URL,
        headers={
            "Origin": "https://wallet.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"


def test_rate_limited_like_the_verify_api(app, client, issued):
    app.config["VERIFY_API_RATE_LIMIT"] = "2 per minute"
    try:
        statuses = [
            verify(client, {"verifiableCredential": issued.credential}).status_code
            for _ in range(3)
        ]
        # The JSON verify API shares the budget.
        shared = client.get(f"/api/v1/verify/{issued.code}")
    finally:
        del app.config["VERIFY_API_RATE_LIMIT"]
    assert statuses == [200, 200, 429]
    assert shared.status_code == 429


def test_documented_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/credentials/verify"]["post"]
    assert operation["operationId"] == "vc_api_verify_credential"
    assert set(operation["responses"]) >= {"200", "400", "413", "429"}
