"""Digital Bazaar's verifier accepts our credentials and rejects every forgery.

An outside implementation (``@digitalbazaar/vc`` with the ``eddsa-rdfc-2022``
cryptosuite and ``@digitalbazaar/vc-bitstring-status-list``) judges what a
live server of ours issues: it resolves the issuer's key from the server, by
plain HTTP and did:web, and reads the published status list. Run once, not per
database engine: ``pytest -m interop tests/interop``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from certificates import issuer
from certificates.credentials import signing

pytestmark = pytest.mark.interop

#: How the verifier finds the issuer's key: resolved from the server by plain
#: HTTP and did:web, through did-io, or handed over (which leaves only the
#: signature and the statements to judge).
KEY_SOURCES = ["plain", "did-io", "given key"]
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CID_V1 = "https://www.w3.org/ns/cid/v1"
#: What the verifier says when the proof does not match the credential: asserted
#: so that a forgery counts as caught only when the signature check caught it,
#: not when the key could not be found.
INVALID_SIGNATURE = "Invalid signature."


def _issuer_id(credential: dict[str, Any]) -> str:
    value = credential["issuer"]
    return value if isinstance(value, str) else value["id"]


def _proofs(credential: dict[str, Any]) -> list[dict[str, Any]]:
    proof = credential["proof"]
    return proof if isinstance(proof, list) else [proof]


def _resigned(credential: dict[str, Any], key, method: str) -> dict[str, Any]:
    unsigned = {name: value for name, value in credential.items() if name != "proof"}
    return signing.sign(unsigned, key, method, "2025-01-01T00:00:00Z")


def _key_documents(controller: str, method: str, multikey: str) -> dict[str, Any]:
    """A Multikey method and its controller document, for the verifier to trust as given."""
    return {
        method: {
            "@context": MULTIKEY_V1,
            "id": method,
            "type": "Multikey",
            "controller": controller,
            "publicKeyMultibase": multikey,
        },
        controller: {"@context": CID_V1, "id": controller, "assertionMethod": [method]},
    }


@pytest.fixture(params=KEY_SOURCES)
def verify(request, live_server, verify_with_digital_bazaar):
    """Verify a credential, finding the issuer's key in each of the ``KEY_SOURCES`` ways."""
    if request.param == "given key":
        with live_server.app.app_context():
            key = issuer.current_signing_key()
            method, multikey = key.verification_method, key.public_multikey
        assert [proof["verificationMethod"] for proof in _proofs(live_server.genuine)] == [method]
        documents = _key_documents(_issuer_id(live_server.genuine), method, multikey)
        return lambda credential: verify_with_digital_bazaar(credential, documents=documents)
    return lambda credential: verify_with_digital_bazaar(credential, resolver=request.param)


def test_a_genuine_credential_verifies(live_server, verify):
    result = verify(live_server.genuine)
    assert result["errors"] == []
    assert result["verified"] is True
    status = result["statusResult"]
    assert status["verified"] is True
    assert [(entry["statusPurpose"], entry["status"]) for entry in status["results"]] == [
        ("revocation", False)
    ]


def test_a_revoked_credential_is_reported_revoked(live_server, verify):
    result = verify(live_server.revoked)
    status = result["statusResult"]
    assert status is not None, result["errors"]
    assert status["errors"] == []
    assert [(entry["statusPurpose"], entry["status"]) for entry in status["results"]] == [
        ("revocation", True)
    ]


def _subject_name(credential: dict[str, Any]) -> dict[str, Any]:
    identifiers = credential["credentialSubject"]["identifier"]
    return next(item for item in identifiers if item["identityType"] == "name")


def change_name(credential: dict[str, Any]) -> None:
    _subject_name(credential)["identityHash"] = "Someone Else"


def change_dates(credential: dict[str, Any]) -> None:
    credential["validFrom"] = "2020-01-01T00:00:00Z"
    credential["validUntil"] = "2099-12-31T00:00:00Z"


def alter_proof_value(credential: dict[str, Any]) -> None:
    proof = _proofs(credential)[0]
    value = proof["proofValue"]
    proof["proofValue"] = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]


def replace_issuer(credential: dict[str, Any]) -> None:
    credential["issuer"]["name"] = "Another Training Centre"


@pytest.mark.parametrize("tamper", [change_name, change_dates, alter_proof_value, replace_issuer])
def test_a_changed_credential_does_not_verify(live_server, verify, tamper):
    credential = copy.deepcopy(live_server.genuine)
    tamper(credential)
    result = verify(credential)
    assert result["verified"] is False
    assert INVALID_SIGNATURE in result["errors"]


def test_a_proof_moved_to_another_credential_does_not_verify(live_server, verify):
    credential = copy.deepcopy(live_server.revoked)
    credential["proof"] = copy.deepcopy(live_server.genuine["proof"])
    result = verify(credential)
    assert result["verified"] is False
    assert INVALID_SIGNATURE in result["errors"]


def test_another_key_claiming_the_issuers_method_does_not_verify(live_server, verify):
    method = _proofs(live_server.genuine)[0]["verificationMethod"]
    with live_server.app.app_context():
        forged = _resigned(live_server.genuine, signing.generate_key(), method)
    result = verify(forged)
    assert result["verified"] is False
    assert INVALID_SIGNATURE in result["errors"]


def test_a_credential_signed_by_another_issuer_does_not_verify(
    live_server, verify_with_digital_bazaar
):
    """Another issuer's sound signature over our issuer's name is refused.

    The other issuer's key is handed to the verifier, so the signature itself
    checks out; the credential verifies once it names that issuer, and fails
    while it names ours.
    """
    other = signing.generate_key()
    multikey = signing.public_multikey(other)
    did = f"did:key:{multikey}"
    method = f"{did}#{multikey}"
    documents = _key_documents(did, method, multikey)
    with live_server.app.app_context():
        forged = _resigned(live_server.genuine, other, method)
        honest = copy.deepcopy(live_server.genuine)
        honest["issuer"]["id"] = did
        del honest["credentialStatus"]  # our status list is not that issuer's to cite
        honest = _resigned(honest, other, method)

    result = verify_with_digital_bazaar(forged, documents=documents)
    assert result["verified"] is False
    assert "Credential issuer must match the verification method controller." in result["errors"]
    result = verify_with_digital_bazaar(honest, documents=documents)
    assert result["errors"] == []
    assert result["verified"] is True


def test_the_verifier_loads_nothing_from_outside_the_server(live_server, verify):
    """The harness itself: a context from anywhere else is refused, not fetched."""
    credential = copy.deepcopy(live_server.genuine)
    credential["@context"].append("https://example.org/contexts/v1")
    result = verify(credential)
    assert result["verified"] is False
    assert any("https://example.org/contexts/v1" in error for error in result["errors"])
