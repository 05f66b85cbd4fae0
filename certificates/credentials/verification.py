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

from certificates.credentials import shape, signing
from certificates.credentials.checks import (
    N_,
    SCHEMA,
    STATUS,
    VALIDITY,
    Check,
    VerificationResult,
    message,
)
from certificates.credentials.openbadges import summary, validate_schema
from certificates.credentials.signing import KeyResolver
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
    #: The outcome holds only until some time passes (a status list outside its period).
    time_dependent: bool = False

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
        return Check.said(VALIDITY, False, N_("not a credential"))
    start = _parse_time(document.get("validFrom"))
    if start is None:
        return Check.said(VALIDITY, False, N_("the credential has no valid start date"))
    if now < start:
        return Check(
            VALIDITY,
            False,
            f"not yet valid: valid from {document['validFrom']}",
            message(N_("not yet valid: valid from %(start)s"), start=start),
        )
    if "validUntil" in document:
        end = _parse_time(document.get("validUntil"))
        if end is None:
            return Check.said(VALIDITY, False, N_("the credential's end date is malformed"))
        if now >= end:
            return Check(
                VALIDITY,
                False,
                f"expired on {document['validUntil']}",
                message(N_("expired on %(end)s"), end=end),
            )
        return Check(
            VALIDITY,
            True,
            f"valid from {document['validFrom']} to {document['validUntil']}",
            message(N_("valid from %(start)s to %(end)s"), start=start, end=end),
        )
    return Check(
        VALIDITY,
        True,
        f"valid from {document['validFrom']}, with no end date",
        message(N_("valid from %(start)s, with no end date"), start=start),
    )


def _list_period_problem(list_credential: dict[str, Any], url: str, now: datetime) -> Check:
    """Say why a status list is not to be trusted now: lapsed, not yet valid, or undated."""
    end = _parse_time(list_credential.get("validUntil"))
    if end is not None and now >= end:
        return Check(
            STATUS,
            False,
            f"the status list expired on {list_credential['validUntil']}, download a fresh one"
            f" from {url} (a list outside its validity period is not trusted)",
            message(
                N_(
                    "the status list expired on %(end)s, download a fresh one from %(url)s"
                    " (a list outside its validity period is not trusted)"
                ),
                end=end,
                url=url,
            ),
        )
    return Check.said(STATUS, False, N_("the status list is outside its validity period"))


def check_status(
    document: Any,
    resolve_key: signing.KeyResolver,
    status_lists: StatusListSource | None,
    now: datetime,
) -> tuple[Check, str]:
    """Check the credential's status entry against its signed status list.

    Return the check and the status: active, suspended, revoked or unknown.
    """
    outcome = _check_status(document, resolve_key, status_lists, now)
    return outcome.check, outcome.status


@dataclass(frozen=True)
class _StatusOutcome:
    check: Check
    status: str
    #: The check failed because the list was outside its validity period: a matter of time.
    list_period: bool = False


def _check_status(
    document: Any,
    resolve_key: signing.KeyResolver,
    status_lists: StatusListSource | None,
    now: datetime,
) -> _StatusOutcome:
    entry = document.get("credentialStatus") if isinstance(document, dict) else None
    if entry is None:
        return _StatusOutcome(*NO_STATUS_ENTRY)
    if not isinstance(entry, dict) or not isinstance(entry.get("statusListCredential"), str):
        malformed = N_("the status entry is malformed")
        return _StatusOutcome(Check.said(STATUS, False, malformed), UNKNOWN)
    url = entry["statusListCredential"]
    list_credential = status_lists(url) if status_lists is not None else None
    if list_credential is None:
        unavailable = N_("not checked: status list %(url)s is unavailable")
        return _StatusOutcome(Check.said(STATUS, False, unavailable, url=url), UNKNOWN)
    issuer = issuer_id(document)
    if issuer_id(list_credential) != issuer:
        foreign = N_("the status list is not published by the issuer")
        return _StatusOutcome(Check.said(STATUS, False, foreign), UNKNOWN)
    problem = shape.status_list_problem(list_credential)
    if problem is not None:
        explanation = message(
            N_("the status list is not one the issuer publishes: %(problem)s"), problem=problem
        )
        return _StatusOutcome(Check(STATUS, False, explanation.english(), explanation), UNKNOWN)
    proof = signing.verify(list_credential, issuer_resolver(resolve_key, issuer))
    if not proof.valid:
        failed = "; ".join(check.detail for check in proof.checks if not check.passed)
        explanation = message(N_("the status list's signature does not verify"))
        detail = f"the status list does not verify: {failed}"
        return _StatusOutcome(Check(STATUS, False, detail, explanation), UNKNOWN)
    period = check_validity(list_credential, now)
    if not period.passed:
        return _StatusOutcome(_list_period_problem(list_credential, url, now), UNKNOWN, True)
    return _StatusOutcome(*status_in_list(entry, list_credential))


#: The check and status of a credential without a status entry.
NO_STATUS_ENTRY = (Check.said(STATUS, True, N_("the credential has no status entry")), "active")
UNKNOWN = "unknown"


def status_in_list(entry: Any, list_credential: Any) -> tuple[Check, str]:
    """Return the check and status the list gives the entry (the list's proof not checked).

    For a list already trusted: checked here, or read from the register that signed it.
    """
    try:
        status = read_status(entry, list_credential)
    except StatusListError as exc:
        explanation = message(N_("the credential's entry in the status list cannot be read"))
        return Check(STATUS, False, str(exc), explanation), UNKNOWN
    if status.message == "active":
        return Check.said(STATUS, True, N_("active: neither suspended nor revoked")), "active"
    return _status_check(status.message), status.message


def _status_check(status: str) -> Check:
    """Return the failed status check of a credential the list marks suspended or revoked."""
    if status == "revoked":
        return Check.said(STATUS, False, N_("the credential is revoked"))
    if status == "suspended":
        return Check.said(STATUS, False, N_("the credential is suspended"))
    return Check.said(STATUS, False, N_("the credential is %(status)s"), status=status)


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
            Check.said(SCHEMA, False, N_("not a JSON object")),
            Check.said(STATUS, False, N_("not a credential")),
            Check.said(VALIDITY, False, N_("not a credential")),
        )
        return CredentialReport(result, "unknown", {})
    outcome = _check_status(credential, resolve_key, status_lists, now)
    result = check_authenticity(credential, resolve_key).with_checks(
        outcome.check, check_validity(credential, now)
    )
    logger.debug("verified %s: %s", credential.get("id"), result.failed or "all checks pass")
    return CredentialReport(
        result, outcome.status, summary(credential), time_dependent=outcome.list_period
    )


def check_authenticity(credential: dict[str, Any], resolve_key: KeyResolver) -> VerificationResult:
    """Check format, schema, issuer key and proof: whether the content is the issuer's.

    Only methods under the credential's own issuer id are asked of ``resolve_key``.
    """
    result = signing.verify(credential, issuer_resolver(resolve_key, issuer_id(credential)))
    errors = validate_schema(credential, raise_errors=False)
    schema_check = (
        Check(
            SCHEMA,
            False,
            "; ".join(errors[:3]),
            message(N_("the credential does not follow the Open Badges 3.0 schema")),
        )
        if errors
        else Check.said(SCHEMA, True, N_("valid against the Open Badges 3.0 schema"))
    )
    return result.with_checks(schema_check)
