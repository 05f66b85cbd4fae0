"""Verify a certificate by code, uploaded PDF or credential JSON: one report for every caller.

The pages, the JSON API and the offline CLI all call :func:`verify_document` (bytes in,
report out). Online, :func:`verify_code` and :func:`verify_upload` add what only the
register knows: the keys current and retired, the status lists, the revocation reason
and the sha256 of the PDF as issued.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from certificates.credentials import signing
from certificates.credentials.checks import (
    FORMAT,
    ISSUER_KEY,
    PROOF,
    SCHEMA,
    STATUS,
    VALIDITY,
    Check,
    VerificationResult,
)
from certificates.credentials.codes import normalise_code
from certificates.credentials.verification import (
    CredentialReport,
    StatusListSource,
    check_validity,
    verify_credential,
)
from certificates.pdf import InvalidPDF, extract_credential

logger = logging.getLogger(__name__)

#: The check an uploaded PDF adds: it is byte for byte the file the register issued.
ISSUED_FILE = "issued_file"
#: Checks that say whether the content is the issuer's, unchanged.
AUTHENTICITY = (FORMAT, SCHEMA, ISSUER_KEY, PROOF)

#: Overall verdicts, worst first where several apply.
INVALID = "invalid"
REVOKED = "revoked"
SUSPENDED = "suspended"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
UNKNOWN = "unknown"
ACTIVE = "active"
NOT_FOUND = "not_found"

PDF = "pdf"
JSON = "json"


class VerifyInputError(ValueError):
    """The uploaded bytes are not something that can be verified; the message says why."""


@dataclass(frozen=True)
class RegisterEntry:
    """What the register says about one certificate (online verification only)."""

    code: str
    status: str
    revocation_reason: str
    pdf_sha256: str


#: Given a credential's code, return its register entry, or None if the code is unknown.
Register = Callable[[str], RegisterEntry | None]


@dataclass(frozen=True)
class Trust:
    """What a verification trusts: keys, status lists, the time, and (online) the register."""

    resolve_key: signing.KeyResolver
    status_lists: StatusListSource | None
    now: datetime
    register: Register | None = None
    #: Turns a credential id back into its code (``<BASE_URL>/credentials/<code>.json``).
    code_of: Callable[[str], str | None] = lambda credential_id: None
    #: The Multikeys ``resolve_key`` trusts, when known: it lets outcomes be remembered.
    key_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Report:
    """The outcome of one verification, as pages, API and CLI show it."""

    valid: bool
    status: str
    checks: tuple[Check, ...] = ()
    credential: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    code: str | None = None
    kind: str | None = None  # what was verified: "pdf", "json", or None for a code
    error: str = ""  # why the input could not be read as a credential at all

    def get(self, name: str) -> Check | None:
        """Return the check called ``name``, if it was made."""
        return next((check for check in self.checks if check.name == name), None)

    @property
    def failed(self) -> list[str]:
        """Return the names of the checks that failed."""
        return [check.name for check in self.checks if not check.passed]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON report ``{"valid", "status", "checks", "credential"}``."""
        body: dict[str, Any] = {
            "valid": self.valid,
            "status": self.status,
            "checks": [check.as_dict() for check in self.checks],
            "credential": self.credential,
        }
        if self.reason:
            body["reason"] = self.reason
        return body


NOT_FOUND_REPORT = Report(valid=False, status=NOT_FOUND)


def input_error_report(error: VerifyInputError, kind: str | None = None) -> Report:
    """Return the report of bytes that could not even be read as a credential."""
    message = str(error)
    return Report(False, INVALID, (Check(FORMAT, False, message),), kind=kind, error=message)


# --- reading uploads --------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """Return ``"pdf"`` or ``"json"`` for uploaded bytes; raise VerifyInputError otherwise."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"{", b"[")):
        return JSON
    if not data:
        raise VerifyInputError("The file is empty.")
    raise VerifyInputError("The file is neither a PDF nor a credential in JSON.")


def parse_credential(data: bytes) -> dict[str, Any]:
    """Return the credential a JSON file holds; raise VerifyInputError if it holds none."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise VerifyInputError("The file is not valid JSON.") from exc
    types = document.get("type") if isinstance(document, dict) else None
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise VerifyInputError("The JSON file is not a verifiable credential.")
    return document


def credential_from_pdf(data: bytes) -> dict[str, Any]:
    """Return the credential embedded in a PDF; raise VerifyInputError if there is none."""
    try:
        embedded = extract_credential(data)
    except InvalidPDF as exc:
        raise VerifyInputError(str(exc)) from exc
    if embedded is None:
        raise VerifyInputError(
            "The PDF carries no credential: it is not a certificate of this centre,"
            " or its attachment was removed."
        )
    try:
        return parse_credential(embedded)
    except VerifyInputError as exc:
        raise VerifyInputError(f"The credential inside the PDF is unreadable: {exc}") from exc


# --- the report -------------------------------------------------------------------------------


def _validity_verdict(credential: dict[str, Any], now: datetime) -> str:
    start = parse_time(credential.get("validFrom"))
    if start is not None and now < start:
        return NOT_YET_VALID
    return EXPIRED


def parse_time(value: Any) -> datetime | None:
    """Return a credential's timestamp (``2025-03-01T09:30:00Z``) as an aware datetime."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def verdict(checks: Iterable[Check], status: str, credential: Any, now: datetime) -> str:
    """Return the overall verdict: invalid, revoked, suspended, expired, unknown or active.

    Content that fails a check of authenticity says nothing trustworthy about its
    status or dates, so it is simply invalid.
    """
    failed = {check.name for check in checks if not check.passed}
    if failed & {*AUTHENTICITY, ISSUED_FILE}:
        return INVALID
    if status in (REVOKED, SUSPENDED):
        return status
    if VALIDITY in failed:
        return _validity_verdict(credential if isinstance(credential, dict) else {}, now)
    if STATUS in failed:
        return UNKNOWN
    return ACTIVE


def _status_from_register(check: Check, status: str, entry: RegisterEntry) -> tuple[Check, str]:
    """Add the register's reason; if the register knows worse than the list, say so."""
    register_status = entry.status if entry.status in (REVOKED, SUSPENDED) else None
    if status not in (REVOKED, SUSPENDED) and register_status and check.passed:
        # The list is re-signed with every change, so this is only a moment's lag; the
        # register decides.
        status = register_status
        check = Check(STATUS, False, f"the credential is {status} (register)")
    if status == REVOKED and entry.revocation_reason:
        check = Check(STATUS, False, f"the credential is revoked: {entry.revocation_reason}")
    return check, status


def verify_document(
    data: bytes,
    trust: Trust,
    *,
    kind: str | None = None,
) -> Report:
    """Verify uploaded bytes (a certificate PDF or a credential JSON) and report each check.

    Unreadable input gives a report with a failed ``format`` check saying why; it
    never raises.
    """
    try:
        kind = kind or sniff(data)
        credential = credential_from_pdf(data) if kind == PDF else parse_credential(data)
    except VerifyInputError as exc:
        logger.info("verification refused unreadable %s upload: %s", kind or "unknown", exc)
        return input_error_report(exc, kind)
    extra = ()
    entry = None
    code = trust.code_of(credential["id"]) if isinstance(credential.get("id"), str) else None
    if trust.register is not None and code is not None:
        entry = trust.register(code)
    if kind == PDF and trust.register is not None:
        extra = (issued_file_check(data, entry),)
    return verify_credential_document(credential, trust, entry=entry, extra=extra, kind=kind)


def issued_file_check(data: bytes, entry: RegisterEntry | None) -> Check:
    """Check that ``data`` is byte for byte the PDF the register issued for its credential."""
    if entry is None:
        return Check(ISSUED_FILE, False, "no certificate with this credential is in the register")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.pdf_sha256:
        return Check(ISSUED_FILE, False, "the file differs from the PDF issued for this code")
    return Check(ISSUED_FILE, True, "the file is the very PDF issued for this code")


def verify_credential_document(
    credential: dict[str, Any],
    trust: Trust,
    *,
    entry: RegisterEntry | None = None,
    extra: tuple[Check, ...] = (),
    kind: str | None = None,
) -> Report:
    """Run every check on a parsed credential and return the report."""
    core = _verify_remembered(credential, trust)
    checks = list(core.result.checks)
    status = core.status
    if entry is not None:
        index = next(i for i, check in enumerate(checks) if check.name == STATUS)
        checks[index], status = _status_from_register(checks[index], status, entry)
    checks.extend(extra)
    overall = verdict(checks, status, credential, trust.now)
    authentic = all(check.passed for check in checks if check.name in AUTHENTICITY)
    shown: dict[str, Any] = {}
    if authentic:
        # Only content the issuer signed is shown: a forged name must not appear verified.
        shown = {**core.credential, "status": status}
    reason = entry.revocation_reason if entry is not None and status == REVOKED else ""
    return Report(
        valid=all(check.passed for check in checks),
        status=overall,
        checks=tuple(checks),
        credential=shown,
        reason=reason,
        code=entry.code if entry is not None else None,
        kind=kind,
    )


# --- remembering outcomes -------------------------------------------------------------------

#: Outcomes by everything they depend on except the time; proofs cost milliseconds of
#: JSON-LD work each, and a popular certificate is verified again and again.
_REMEMBERED: OrderedDict[str, CredentialReport] = OrderedDict()
_REMEMBERED_MAX = 512
_remembered_lock = threading.Lock()


def _outcome_key(credential: dict[str, Any], trust: Trust) -> str | None:
    """Return a digest of the credential, its status list and the trusted keys, or None."""
    if trust.key_ids is None:
        return None
    entry = credential.get("credentialStatus")
    url = entry.get("statusListCredential") if isinstance(entry, dict) else None
    listed = trust.status_lists(url) if isinstance(url, str) and trust.status_lists else None
    try:
        text = json.dumps(
            [credential, listed, sorted(trust.key_ids)], sort_keys=True, ensure_ascii=False
        )
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _verify_remembered(credential: dict[str, Any], trust: Trust) -> CredentialReport:
    """Verify, reusing an earlier outcome for the same inputs with the validity re-checked.

    Only the validity periods depend on the time: the credential's is checked afresh;
    an outcome that depended on the status list's period is not remembered.
    """
    key = _outcome_key(credential, trust)
    with _remembered_lock:
        known = _REMEMBERED.get(key) if key else None
        if known is not None:
            _REMEMBERED.move_to_end(key)
    if known is not None:
        fresh = check_validity(credential, trust.now)
        checks = tuple(fresh if c.name == VALIDITY else c for c in known.result.checks)
        return CredentialReport(VerificationResult(checks), known.status, known.credential)
    report = verify_credential(
        credential, trust.resolve_key, now=trust.now, status_lists=trust.status_lists
    )
    status = report.result.get(STATUS)
    if key and status is not None and "validity period" not in status.detail:
        with _remembered_lock:
            _REMEMBERED[key] = report
            while len(_REMEMBERED) > _REMEMBERED_MAX:
                _REMEMBERED.popitem(last=False)
    return report


# --- online: the register ---------------------------------------------------------------------


def online_trust(now: datetime | None = None, *, cache: dict | None = None) -> Trust:
    """Return the trust of this server: every key, current and retired, lists and register.

    ``cache`` (a dict) keeps status lists and register lookups across many verifications,
    as the bulk check does.
    """
    from certificates import issuer, keys
    from lms.db import utcnow

    key_ids = tuple(row.public_multikey for row in keys.all_keys())
    lists: dict[str, Any] = cache.setdefault("lists", {}) if cache is not None else {}
    prefix = issuer.status_list_url(0)[:-1]
    credential_prefix, _, credential_suffix = issuer.credential_url("\0").partition("\0")

    def status_lists(url: str) -> dict[str, Any] | None:
        if url not in lists:
            lists[url] = _status_list_document(url, prefix)
        return lists[url]

    def code_of(credential_id: str) -> str | None:
        if credential_id.startswith(credential_prefix) and credential_id.endswith(
            credential_suffix
        ):
            return credential_id[len(credential_prefix) : -len(credential_suffix) or None]
        return None

    return Trust(
        resolve_key=signing.key_set_resolver(
            {issuer.verification_method_url(multikey): multikey for multikey in key_ids}
        ),
        status_lists=status_lists,
        now=now or utcnow(),
        register=register_entry,
        code_of=code_of,
        key_ids=key_ids,
    )


def _status_list_document(url: str, prefix: str) -> dict[str, Any] | None:
    from certificates.models import StatusList
    from lms.extensions import db

    number = url.removeprefix(prefix)
    if not url.startswith(prefix) or not (number.isascii() and number.isdigit()):
        return None
    row = db.session.get(StatusList, int(number))
    return row.credential if row is not None else None


def _entry(certificate: Any) -> RegisterEntry:
    return RegisterEntry(
        code=certificate.code,
        status=certificate.status,
        revocation_reason=certificate.revocation_reason or "",
        pdf_sha256=certificate.pdf_sha256,
    )


def _find(codes: list[str]) -> dict[str, Any]:
    """Return the certificates with these codes, by code, in one query."""
    import sqlalchemy as sa

    from certificates.models import Certificate
    from lms.extensions import db

    rows = db.session.scalars(sa.select(Certificate).where(Certificate.code.in_(codes)))
    return {row.code: row for row in rows}


def register_entry(code: str) -> RegisterEntry | None:
    """Return the register's entry for ``code``, or None if no certificate has it."""
    found = _find([code]).get(code)
    return _entry(found) if found is not None else None


def canonical_code(text: str) -> str | None:
    """Return the canonical form of a typed code, or None if it cannot be one."""
    try:
        return normalise_code(text)
    except ValueError:
        return None


def verify_code(text: str, *, trust: Trust | None = None) -> Report:
    """Verify the certificate a typed code (or QR link) names, from the register.

    A malformed code and an unknown one get the same answer, after the same query,
    so neither the answer nor its timing tells which codes exist.
    """
    return verify_codes([text], trust=trust)[0]


def verify_codes(texts: list[str], *, trust: Trust | None = None) -> list[Report]:
    """Verify many codes with a fixed number of queries; one report per code, in order."""
    codes = [canonical_code(text) for text in texts]
    # A malformed code still costs a lookup (of a code that cannot exist), like an unknown one.
    lookup = sorted({code or "" for code in codes})
    found = _find(lookup)
    trust = trust or online_trust(cache={})
    reports = []
    for code in codes:
        certificate = found.get(code) if code else None
        if certificate is None:
            reports.append(NOT_FOUND_REPORT)
            continue
        report = verify_credential_document(
            certificate.credential, trust, entry=_entry(certificate)
        )
        reports.append(replace(report, code=certificate.code))
    return reports


def verify_upload(data: bytes, *, kind: str | None = None) -> Report:
    """Verify an uploaded PDF or credential JSON online (keys, lists and register)."""
    return verify_document(data, online_trust(), kind=kind)
