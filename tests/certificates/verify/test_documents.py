"""The issuer's public documents: Profile with keys, Achievements, signed status lists."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft201909Validator

from certificates import issuer, keys
from certificates.credentials import signing
from certificates.credentials import status_list as bits
from certificates.credentials.openbadges import validate_profile_schema
from certificates.verify import service

STANDARDS = Path(__file__).parents[4] / "shared" / "standards" / "schemas"


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
    methods = {method["id"]: method for method in profile["verificationMethod"]}
    for key in (old, new):
        method = methods[key.verification_method]
        assert method["type"] == "Multikey"
        assert method["controller"] == profile["id"]
        assert method["publicKeyMultibase"] == key.public_multikey
        assert key.verification_method in profile["assertionMethod"]
    assert validate_profile_schema(profile) == []
    official = json.loads((STANDARDS / "ob_v3p0_profile_schema.json").read_text())
    assert list(Draft201909Validator(official).iter_errors(profile)) == []
    assert "secret" not in response.get_data(as_text=True).lower()


def test_a_saved_issuer_profile_resolves_the_keys_of_a_credential(client, issued):
    profile = json.loads(client.get("/issuer").data)
    published = {item["id"]: item["publicKeyMultibase"] for item in profile["verificationMethod"]}
    resolve = signing.key_set_resolver(published)
    assert signing.verify(issued.credential, resolve).valid


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


def test_unknown_or_unsigned_status_list_is_404(client, db):
    from certificates.models import StatusList

    row = StatusList(bits=b"\0" * 16)
    db.session.add(row)
    db.session.flush()
    assert client.get(f"/status-lists/{row.id}").status_code == 404
    assert client.get(f"/status-lists/{row.id + 1000}").status_code == 404


def test_documents_are_public_and_change_nothing(client, issued, scheme, status_list_row, db):
    from lms.models import AuditLog

    before = db.session.query(AuditLog).count()
    for url in ("/issuer", f"/achievements/{scheme.code}", f"/status-lists/{status_list_row.id}"):
        assert client.get(url).status_code == 200
    assert db.session.query(AuditLog).count() == before
    assert service.verify_code(issued.code).valid
