"""The issuer's identifiers (all under BASE_URL) and its signing keys.

Every URL that appears inside a credential is built here, so that issuance,
the public pages and the verification code agree on them.
"""

from __future__ import annotations

import logging

from flask import current_app

from certificates import keys
from certificates.credentials import signing

logger = logging.getLogger(__name__)


def base_url() -> str:
    """Return the configured BASE_URL without a trailing slash."""
    return current_app.config["BASE_URL"].rstrip("/")


def issuer_url() -> str:
    """Return the issuer Profile id: ``<BASE_URL>/issuer``."""
    return f"{base_url()}/issuer"


def verification_method_url(public_multikey: str) -> str:
    """Return the verificationMethod of a key: ``<BASE_URL>/issuer#<multikey>``."""
    return f"{issuer_url()}#{public_multikey}"


def achievement_url(scheme_code: str) -> str:
    """Return the Achievement id of a scheme: ``<BASE_URL>/achievements/<code>``."""
    return f"{base_url()}/achievements/{scheme_code}"


def status_list_url(list_id: int) -> str:
    """Return the status list credential id: ``<BASE_URL>/status-lists/<id>``."""
    return f"{base_url()}/status-lists/{list_id}"


def credential_url(code: str) -> str:
    """Return the credential id: ``<BASE_URL>/credentials/<code>.json``."""
    return f"{base_url()}/credentials/{code}.json"


def pdf_url(code: str) -> str:
    """Return the stored PDF's address: ``<BASE_URL>/certificates/<code>.pdf``."""
    return f"{base_url()}/certificates/{code}.pdf"


def verify_url(code: str) -> str:
    """Return the public verification page of a code (printed as the QR code)."""
    return f"{base_url()}/verify/{code}"


def key_resolver() -> signing.KeyResolver:
    """Return a resolver trusting every SigningKey, current and retired, of this issuer."""
    rows = keys.all_keys()
    return signing.key_set_resolver(
        {verification_method_url(row.public_multikey): row.public_multikey for row in rows}
    )


def current_signing_key() -> keys.CurrentKey:
    """Return the current signing key (created on first use) with its verification method."""
    return keys.current_key()
