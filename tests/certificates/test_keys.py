"""Signing keys: created on first use, given by the environment, rotated, still resolved."""

from __future__ import annotations

import os
import stat

import pytest
import sqlalchemy as sa

from certificates import issuer, keys
from certificates.credentials import signing
from certificates.models import SigningKey
from lms.models import AuditLog


def test_urls_follow_base_url(app):
    app.config["BASE_URL"] = "https://lms.example.org/"
    try:
        assert issuer.issuer_url() == "https://lms.example.org/issuer"
        assert issuer.achievement_url("SC-PM") == "https://lms.example.org/achievements/SC-PM"
        assert issuer.status_list_url(3) == "https://lms.example.org/status-lists/3"
        assert issuer.credential_url("AB12") == "https://lms.example.org/credentials/AB12.json"
        assert issuer.verify_url("AB12") == "https://lms.example.org/verify/AB12"
        assert issuer.issuer_did() == "did:web:lms.example.org"
        assert issuer.verification_method_url("z6Mk") == "did:web:lms.example.org#z6Mk"
        assert issuer.legacy_verification_method_url("z6Mk") == (
            "https://lms.example.org/issuer#z6Mk"
        )
    finally:
        app.config["BASE_URL"] = "http://localhost"


@pytest.mark.parametrize(
    ("base_url", "did", "path"),
    [
        ("https://lms.example.org", "did:web:lms.example.org", "/.well-known/did.json"),
        ("https://LMS.Example.org/", "did:web:lms.example.org", "/.well-known/did.json"),
        ("http://localhost:5000", "did:web:localhost%3A5000", "/.well-known/did.json"),
        (
            "https://lms.example.org:8443/centre/sofia/",
            "did:web:lms.example.org%3A8443:centre:sofia",
            "/did.json",
        ),
        ("https://example.org/a%20b", "did:web:example.org:a%2520b", "/did.json"),
    ],
)
def test_did_web_follows_the_method_spec(base_url, did, path):
    assert issuer.did_web(base_url) == did
    assert issuer.did_document_path(base_url) == path


def test_did_web_needs_a_host():
    with pytest.raises(ValueError, match="no host"):
        issuer.did_web("file:///tmp/lms")


def test_first_use_creates_private_file_and_records_public_half(db):
    current = issuer.current_signing_key()
    path = keys.keys_dir() / current.public_multikey
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing.private_key_from_multikey(path.read_text().strip()) is not None
    assert signing.public_multikey(current.private_key) == current.public_multikey
    row = db.session.scalar(sa.select(SigningKey))
    assert row.public_multikey == current.public_multikey
    assert row.is_current
    assert current.verification_method == f"did:web:localhost#{row.public_multikey}"
    # Stable: the next call returns the same key.
    assert issuer.current_signing_key().row is row


def test_rotate_retires_old_key_which_still_resolves(db):
    old = issuer.current_signing_key()
    new = keys.rotate()
    assert new.public_multikey != old.public_multikey
    assert old.row.retired_at is not None
    assert new.row.retired_at is None
    assert issuer.current_signing_key().row is new.row
    resolve = issuer.key_resolver()
    assert resolve(old.verification_method) is not None
    assert resolve(new.verification_method) is not None
    assert resolve(issuer.legacy_verification_method_url(old.public_multikey)) is not None
    assert resolve("did:web:localhost#z6MkUnknown") is None
    assert resolve(f"did:web:elsewhere.example#{old.public_multikey}") is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SigningKey)) == 2
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert actions.count("signing_key.create") == 2


def test_environment_key_is_current(app, db):
    issuer.current_signing_key()
    env_key = signing.generate_key()
    app.config["SIGNING_KEY"] = signing.private_multikey(env_key)
    try:
        current = issuer.current_signing_key()
        assert current.public_multikey == signing.public_multikey(env_key)
        rows = db.session.scalars(sa.select(SigningKey)).all()
        assert [r.public_multikey for r in rows if r.is_current] == [current.public_multikey]
        with pytest.raises(keys.SigningKeyError, match="LMS_SIGNING_KEY"):
            keys.rotate()
    finally:
        del app.config["SIGNING_KEY"]


def test_bad_environment_key_is_refused(app, db):
    app.config["SIGNING_KEY"] = "not-a-key"
    try:
        with pytest.raises(keys.SigningKeyError, match="secret Ed25519 Multikey"):
            issuer.current_signing_key()
    finally:
        del app.config["SIGNING_KEY"]
