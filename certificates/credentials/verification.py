"""Verify an Open Badges credential: format, schema, issuer key, proof, status, validity.

Pure: the caller supplies the trusted keys, the time and the status lists (fetched
from the register, or read from a saved file by the offline CLI).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certificates.credentials import signing
from certificates.credentials.checks import (
    SCHEMA,
    STATUS,
    VALIDITY,
    Check,
    VerificationResult,
)
from certificates.credentials.openbadges import summary, validate_schema
from certificates.credentials.status_list import StatusListError, read_status

logger = logging.getLogger(__name__)

#: Given a status list URL, return the (signed) list credential, or None if unavailable.
StatusListSource = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class CredentialReport:
    """The outcome of verifying one credential."""

    result: VerificationResult
    status: str
    credential: dict[str, Any]

    @property
    def valid(self) -> bool:
        """Return whether every check passed."""
        return self.result.valid

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON report: validity, status, checks and what may be shown."""
        return {
            "valid": self.valid,
            "status": self.status,
            "checks": self.result.as_list(),
            "credential": self.credential,
        }


def issuer_id(document: Any) -> str | None:
    """Return the issuer's id, whether ``issuer`` is a URL or a Profile."""
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def issuer_resolver(resolve_key: signing.KeyResolver, issuer: str | None) -> signing.KeyResolver:
    """Return a resolver that trusts only keys the issuer controls (``<issuer>#...``)."""

    def resolve(method: str) -> Ed25519PublicKey | None:
        if issuer is None or not method.startswith(issuer + "#"):
            return None
        return resolve_key(method)

    return resolve


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def check_validity(document: Any, now: datetime) -> Check:
    """Check ``validFrom`` <= now < ``validUntil``."""
    if not isinstance(document, dict):
        return Check(VALIDITY, False, "not a credential")
    start = _parse_time(document.get("validFrom"))
    if start is None:
        return Check(VALIDITY, False, "the credential has no valid start date")
    if now < start:
        return Check(VALIDITY, False, f"not yet valid: valid from {document['validFrom']}")
    if "validUntil" in document:
        end = _parse_time(document.get("validUntil"))
        if end is None:
            return Check(VALIDITY, False, "the credential's end date is malformed")
        if now >= end:
            return Check(VALIDITY, False, f"expired on {document['validUntil']}")
        return Check(
            VALIDITY, True, f"valid from {document['validFrom']} to {document['validUntil']}"
        )
    return Check(VALIDITY, True, f"valid from {document['validFrom']}, with no end date")


def check_status(
    document: Any,
    resolve_key: signing.KeyResolver,
    status_lists: StatusListSource | None,
    now: datetime,
) -> tuple[Check, str]:
    """Check the credential's status entry against its signed status list.

    Return the check and the status: active, suspended, revoked or unknown.
    """
    entry = document.get("credentialStatus") if isinstance(document, dict) else None
    if entry is None:
        return Check(STATUS, True, "the credential has no status entry"), "active"
    if not isinstance(entry, dict) or not isinstance(entry.get("statusListCredential"), str):
        return Check(STATUS, False, "the status entry is malformed"), "unknown"
    url = entry["statusListCredential"]
    list_credential = status_lists(url) if status_lists is not None else None
    if list_credential is None:
        return Check(STATUS, False, f"not checked: status list {url} is unavailable"), "unknown"
    issuer = issuer_id(document)
    if issuer_id(list_credential) != issuer:
        return Check(STATUS, False, "the status list is not published by the issuer"), "unknown"
    proof = signing.verify(list_credential, issuer_resolver(resolve_key, issuer))
    if not proof.valid:
        failed = "; ".join(check.detail for check in proof.checks if not check.passed)
        return Check(STATUS, False, f"the status list does not verify: {failed}"), "unknown"
    if not check_validity(list_credential, now).passed:
        return Check(STATUS, False, "the status list is outside its validity period"), "unknown"
    try:
        status = read_status(entry, list_credential)
    except StatusListError as exc:
        return Check(STATUS, False, str(exc)), "unknown"
    if status.message == "active":
        return Check(STATUS, True, "active: neither suspended nor revoked"), "active"
    return Check(STATUS, False, f"the credential is {status.message}"), status.message


def verify_credential(
    credential: Any,
    resolve_key: signing.KeyResolver,
    *,
    now: datetime,
    status_lists: StatusListSource | None,
) -> CredentialReport:
    """Run every check on an Open Badges credential and report each by name.

    ``resolve_key`` returns the public key of a verificationMethod the issuer publishes
    (current or retired); only methods under the credential's issuer id are asked.
    ``status_lists`` fetches a status list credential by URL; None means none is
    available, and the status check then fails as unknown.
    """
    if not isinstance(credential, dict):
        result = signing.verify(credential, resolve_key)
        result = result.with_checks(
            Check(SCHEMA, False, "not a JSON object"),
            Check(STATUS, False, "not a credential"),
            Check(VALIDITY, False, "not a credential"),
        )
        return CredentialReport(result, "unknown", {})
    issuer = issuer_id(credential)
    result = signing.verify(credential, issuer_resolver(resolve_key, issuer))
    errors = validate_schema(credential, raise_errors=False)
    schema_check = (
        Check(SCHEMA, False, "; ".join(errors[:3]))
        if errors
        else Check(SCHEMA, True, "valid against the Open Badges 3.0 schema")
    )
    status_check, status = check_status(credential, resolve_key, status_lists, now)
    result = result.with_checks(schema_check, status_check, check_validity(credential, now))
    logger.debug("verified %s: %s", credential.get("id"), result.failed or "all checks pass")
    return CredentialReport(result, status, summary(credential))
