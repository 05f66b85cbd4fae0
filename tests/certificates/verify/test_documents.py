"""The issuer's public documents: DID document, Profile, Achievements, signed status lists."""

from __future__ import annotations

import json

from jsonschema import Draft201909Validator

from certificates import issuer, keys
from certificates.credentials import signing
from certificates.credentials import status_list as bits
from certificates.credentials.jsonld import (
    CID_V1_URL,
    DID_V1_URL,
    MULTIKEY_V1_URL,
    PINNED_CONTEXTS,
    check_lossless,
)
from certificates.credentials.openbadges import validate_profile_schema
from certificates.verify import service
from tests.standards import SCHEMAS as STANDARDS


def test_issuer_profile_publishes_every_key_current_and_retired(client, db):
    old = keys.current_key()
    new = keys.rotate()
    db.session.flush()
    response = client.get("/issuer")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert "max-age=300" in response.headers["Cache-Control"]
    profile = json.loads(response.data)
    assert profile["id"] == issuer.issuer_url() == "http://localhost/issuer"
    assert profile["type"] == ["Profile"]
    assert profile["otherIdentifier"] == [
        {
            "type": "IdentifierEntry",
            "identifier": "did:web:localhost",
            "identifierType": "identifier",
        }
    ]
    methods = {method["id"]: method for method in profile["verificationMethod"]}
    for key in (old, new):
        # Under the Profile's own id: the form credentials issued before the DID name.
        method_id = issuer.legacy_verification_method_url(key.public_multikey)
        method = methods[method_id]
        assert method["type"] == "Multikey"
        assert method["controller"] == profile["id"]
        assert method["publicKeyMultibase"] == key.public_multikey
        assert method_id in profile["assertionMethod"]
    assert validate_profile_schema(profile) == []
    official = json.loads((STANDARDS / "ob_v3p0_profile_schema.json").read_text())
    assert list(Draft201909Validator(official).iter_errors(profile)) == []
    # Every term it uses is defined by its contexts (the CID context defines the keys).
    check_lossless(profile)
    assert "secret" not in response.get_data(as_text=True).lower()


def test_a_saved_issuer_profile_resolves_the_keys_of_an_earlier_credential(client, legacy_issued):
    profile = json.loads(client.get("/issuer").data)
    published = {item["id"]: item["publicKeyMultibase"] for item in profile["verificationMethod"]}
    resolve = signing.key_set_resolver(published)
    assert signing.verify(legacy_issued.credential, resolve).valid


def _context_terms(url: str) -> set[str]:
    """Return the terms a pinned context defines at its top level."""
    path, _digest = PINNED_CONTEXTS[url]
    return set(json.loads(path.read_text())["@context"])


def test_did_document_lists_every_key_as_a_multikey(client, db):
    old = keys.current_key()
    new = keys.rotate()
    db.session.flush()
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.mimetype == "application/did+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = json.loads(response.data)
    did = "did:web:localhost"
    assert document["id"] == issuer.issuer_did() == did
    # DID v1 first: verifiers then read assertionMethod without JSON-LD framing.
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert [method["id"] for method in document["verificationMethod"]] == [
        f"{did}#{old.public_multikey}",
        f"{did}#{new.public_multikey}",
    ]
    for method in document["verificationMethod"]:
        assert set(method) == {"id", "type", "controller", "publicKeyMultibase"}
        assert method["type"] == "Multikey"
        assert method["controller"] == did
        assert method["id"] == f"{did}#{method['publicKeyMultibase']}"
        assert signing.public_key_from_multikey(method["publicKeyMultibase"])
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]
    # The PDF signing certificate is found from the DID, and is the one served.
    [pdf_service] = document["service"]
    assert pdf_service["id"] == f"{did}#pdf-signing-certificate"
    assert pdf_service["type"] == issuer.PDF_CERTIFICATE_SERVICE_TYPE
    endpoint = pdf_service["serviceEndpoint"].removeprefix("http://localhost")
    pem = client.get(endpoint)
    assert pem.status_code == 200
    assert pem.data.startswith(b"-----BEGIN CERTIFICATE-----")
    # Checked against the published contexts: the top-level terms are the DID / CID
    # context's, the key's terms are the Multikey context's, and nothing is lost.
    did_terms = _context_terms(DID_V1_URL)
    assert set(document) - {"@context"} <= did_terms
    assert did_terms <= _context_terms(CID_V1_URL)
    multikey = json.loads(PINNED_CONTEXTS[MULTIKEY_V1_URL][0].read_text())["@context"]
    assert set(method) - {"id", "type"} <= set(multikey["Multikey"]["@context"])
    check_lossless(document)
    assert "secret" not in response.get_data(as_text=True).lower()


def test_did_document_resolves_the_keys_of_a_credential(client, issued):
    document = json.loads(client.get("/.well-known/did.json").data)
    method = issued.credential["proof"][0]["verificationMethod"]
    assert method.startswith(document["id"] + "#")
    assert method in document["assertionMethod"]
    published = {m["id"]: m["publicKeyMultibase"] for m in document["verificationMethod"]}
    assert signing.verify(issued.credential, signing.key_set_resolver(published)).valid
    assert issued.credential["issuer"]["id"] == document["id"]


def test_did_document_follows_a_base_url_with_a_port_and_path(app, client, db):
    keys.current_key()
    db.session.flush()
    app.config["BASE_URL"] = "https://lms.example.org:8443/centre"
    try:
        document = json.loads(client.get("/did.json").data)
        assert document["id"] == "did:web:lms.example.org%3A8443:centre"
        assert document["verificationMethod"][0]["controller"] == document["id"]
        assert client.get("/.well-known/did.json").status_code == 404
    finally:
        app.config["BASE_URL"] = "http://localhost"
    assert client.get("/did.json").status_code == 404


def test_achievement_document(client, scheme):
    response = client.get(f"/achievements/{scheme.code}")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.data)
    assert document["id"] == issuer.achievement_url(scheme.code)
    assert document["type"] == ["Achievement"]
    assert document["name"] == scheme.title_en
    assert document["humanCode"] == scheme.code
    assert document["criteria"]["narrative"]


def test_unknown_achievement_is_404(client, db):
    assert client.get("/achievements/NOPE").status_code == 404


def test_status_list_is_signed_and_cacheable(client, issued, status_list_row):
    url = f"/status-lists/{status_list_row.id}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]
    document = json.loads(response.data)
    assert document["id"] == issuer.status_list_url(status_list_row.id)
    assert "BitstringStatusListCredential" in document["type"]
    assert signing.verify(document, issuer.key_resolver()).valid
    entry = issued.credential["credentialStatus"]
    assert bits.read_status(entry, document).message == "active"

    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_status_list_etag_changes_on_revocation(client, issued, status_list_row, set_status):
    url = f"/status-lists/{status_list_row.id}"
    etag = client.get(url).headers["ETag"]
    set_status(issued, "revoked", "Fraud")
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    entry = issued.credential["credentialStatus"]
    assert bits.read_status(entry, json.loads(response.data)).message == "revoked"


def test_unknown_status_list_is_404(client, db):
    assert client.get("/status-lists/1000").status_code == 404


def test_documents_are_public_and_change_nothing(client, issued, scheme, status_list_row, db):
    from lms.models import AuditLog

    before = db.session.query(AuditLog).count()
    for url in ("/issuer", f"/achievements/{scheme.code}", f"/status-lists/{status_list_row.id}"):
        assert client.get(url).status_code == 200
    assert db.session.query(AuditLog).count() == before
    assert service.verify_code(issued.code).valid


def public_urls(issued, scheme, status_list_row) -> list[str]:
    return [
        "/issuer",
        f"/achievements/{scheme.code}",
        f"/status-lists/{status_list_row.id}",
        f"/credentials/{issued.code}.json",
    ]


def test_any_origin_may_read_the_public_documents(client, issued, scheme, status_list_row):
    for url in public_urls(issued, scheme, status_list_row):
        response = client.get(url, headers={"Origin": "https://wallet.example"})
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
        # No cookies are honoured cross-origin: the wildcard forbids credentials.
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_for_a_get_is_answered(client, issued, scheme, status_list_row):
    for url in public_urls(issued, scheme, status_list_row):
        response = client.options(
            url,
            headers={
                "Origin": "https://wallet.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
        assert methods == {"GET", "HEAD", "OPTIONS"}
        assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
        assert int(response.headers["Access-Control-Max-Age"]) > 0
        assert not response.get_data()


def test_a_missing_document_is_readable_cross_origin_too(client, db):
    response = client.get("/achievements/NO-SUCH", headers={"Origin": "https://wallet.example"})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
