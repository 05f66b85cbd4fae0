"""Verify a certificate by code, uploaded PDF or credential JSON: one report for every caller.

The pages, the JSON API and the offline CLI all call :func:`verify_document` (bytes in,
report out). Online, :func:`verify_code` and :func:`verify_upload` add what only the
register knows: the keys current and retired, the status lists, the revocation reason
and the sha256 of the PDF as issued.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from cryptography import x509

from certificates.credentials import signing
from certificates.credentials.checks import (
    FORMAT,
    ISSUER_KEY,
    N_,
    PROOF,
    SCHEMA,
    STATUS,
    VALIDITY,
    Check,
    Explained,
    VerificationResult,
    message,
)
from certificates.credentials.codes import normalise_code
from certificates.credentials.openbadges import summary
from certificates.credentials.verification import (
    NO_STATUS_ENTRY,
    CredentialReport,
    StatusListSource,
    check_authenticity,
    check_validity,
    status_in_list,
    verify_credential,
)
from certificates.pdf import InvalidPDF, extract_credential
from certificates.verify import bounds, register
from lms import pdfsign
from lms.metrics import CERTIFICATES_VERIFIED

logger = logging.getLogger(__name__)

#: The check an uploaded PDF adds: it is byte for byte the file the register issued.
ISSUED_FILE = "issued_file"
#: The check every PDF gets: the centre's signature is intact and covers the whole file.
PDF_SIGNATURE = "pdf_signature"
#: Checks that say whether the file is the one issued, page included.
FILE_CHECKS = (ISSUED_FILE, PDF_SIGNATURE)
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
#: A genuine credential in force, in a file that is not the one issued: the page may lie.
CHANGED_FILE = "changed_file"
#: Offline only: credential and signature sound, but the PDF's signer was not checked.
FILE_UNCHECKED = "file_unchecked"

PDF = "pdf"
JSON = "json"


class VerifyInputError(Explained):
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
    #: The issuer ids credentials must name (online); None trusts whom the key decides.
    issuer_ids: frozenset[str] | None = None
    #: The certificates a PDF's signer may have; None when none were given (offline).
    pdf_certificates: tuple[x509.Certificate, ...] | None = None


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
    text = str(error)
    check = Check(FORMAT, False, text, error.message)
    return Report(False, INVALID, (check,), kind=kind, error=text)


# --- reading uploads --------------------------------------------------------------------------


def sniff(data: bytes) -> str:
    """Return ``"pdf"`` or ``"json"`` for uploaded bytes; raise VerifyInputError otherwise."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"{", b"[")):
        return JSON
    if not data:
        raise VerifyInputError(message(N_("The file is empty.")))
    raise VerifyInputError(message(N_("The file is neither a PDF nor a credential in JSON.")))


def parse_credential(data: bytes) -> dict[str, Any]:
    """Return the credential a JSON file holds; raise VerifyInputError if it holds none.

    Too large, too deep or too many values is refused before anything else is done.
    """
    try:
        document = bounds.load_json(data)
    except bounds.Refused as exc:
        raise VerifyInputError(exc.message, str(exc)) from exc
    return require_credential(document)


def require_credential(document: Any) -> dict[str, Any]:
    """Return ``document`` if it says it is a verifiable credential; else raise VerifyInputError."""
    types = document.get("type") if isinstance(document, dict) else None
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise VerifyInputError(message(N_("The JSON file is not a verifiable credential.")))
    return document


def credential_from_pdf(data: bytes) -> dict[str, Any]:
    """Return the credential embedded in a PDF; raise VerifyInputError if there is none."""
    try:
        embedded = extract_credential(data)
    except InvalidPDF as exc:
        raise VerifyInputError(exc.message, str(exc)) from exc
    if embedded is None:
        raise VerifyInputError(
            message(
                N_(
                    "The PDF carries no credential: it is not a certificate of this centre,"
                    " or its attachment was removed."
                )
            )
        )
    try:
        return parse_credential(embedded)
    except VerifyInputError as exc:
        raise VerifyInputError(
            message(
                N_("The credential inside the PDF is unreadable: %(reason)s"), reason=exc.message
            ),
            f"The credential inside the PDF is unreadable: {exc}",
        ) from exc


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


def verdict(
    checks: Iterable[Check],
    status: str,
    credential: Any,
    now: datetime,
    *,
    file_verdict: str = CHANGED_FILE,
) -> str:
    """Return the overall verdict: invalid, revoked, suspended, expired, unknown,
    changed file (or, offline, file unchecked) or active.

    Content that fails a check of authenticity says nothing trustworthy about its
    status or dates, so it is simply invalid. A genuine credential in force inside a
    file that is not the one issued gets ``file_verdict``: the credential can be
    believed, the page cannot.
    """
    failed = {check.name for check in checks if not check.passed}
    if failed & set(AUTHENTICITY):
        return INVALID
    if status in (REVOKED, SUSPENDED):
        return status
    if VALIDITY in failed:
        return _validity_verdict(credential if isinstance(credential, dict) else {}, now)
    if STATUS in failed:
        return UNKNOWN
    if failed & set(FILE_CHECKS):
        return file_verdict
    return ACTIVE


def _status_from_register(check: Check, status: str, entry: RegisterEntry) -> tuple[Check, str]:
    """Add the register's reason; if the register knows worse than the list, say so."""
    register_status = entry.status if entry.status in (REVOKED, SUSPENDED) else None
    if status not in (REVOKED, SUSPENDED) and register_status and check.passed:
        # The list is re-signed with every change, so this is only a moment's lag; the
        # register decides.
        status = register_status
        check = Check.said(
            STATUS,
            False,
            N_("the credential is suspended (register)")
            if status == SUSPENDED
            else N_("the credential is revoked (register)"),
        )
    if status == REVOKED and entry.revocation_reason:
        check = Check.said(
            STATUS,
            False,
            N_("the credential is revoked: %(reason)s"),
            reason=entry.revocation_reason,
        )
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
        check_bounds(credential, trust)
    except VerifyInputError as exc:
        logger.info("verification refused unreadable %s upload: %s", kind or "unknown", exc)
        return input_error_report(exc, kind)
    extra: tuple[Check, ...] = ()
    entry = _register_entry_of(credential, trust)
    file_verdict = CHANGED_FILE
    if kind == PDF:
        issued = issued_file_check(data, entry) if trust.register is not None else None
        signature = pdfsign.check_signature(data, trust.pdf_certificates)
        extra = (*([issued] if issued else []), pdf_signature_check(signature, issued))
        if signature.sound and signature.signer_trusted is None:
            file_verdict = FILE_UNCHECKED
    return verify_credential_document(
        credential, trust, entry=entry, extra=extra, kind=kind, file_verdict=file_verdict
    )


def pdf_signature_check(signature: pdfsign.SignatureCheck, issued: Check | None = None) -> Check:
    """Turn the PDF signature's state into the ``pdf_signature`` check.

    A file the register knows byte for byte (``issued`` passed) but that carries no
    signature was issued before PDFs were signed: it is the file issued all the same.
    """
    if signature.passed:
        return Check.said(
            PDF_SIGNATURE,
            True,
            N_("signed by the centre (%(signer)s); the signature covers the whole file"),
            signer=signature.signer,
        )
    if issued is not None and issued.passed and not signature.signed:
        unsigned = N_("issued before PDFs were signed; the file is unchanged")
        return Check.said(PDF_SIGNATURE, True, unsigned)
    if signature.sound and signature.signer_trusted is None:
        return Check.said(
            PDF_SIGNATURE,
            False,
            N_(
                "the signature is intact and covers the whole file, but its signer"
                " (%(signer)s) was not checked against the centre's certificate"
            ),
            signer=signature.signer,
        )
    return Check.said(PDF_SIGNATURE, False, signature.problem_message, **signature.problem_params)


def verify_parsed(document: Any, trust: Trust) -> Report:
    """Verify a credential already parsed from JSON (the VC API's ``verifiableCredential``).

    The caller parsed it with :func:`bounds.load_json`, so its size and depth are bounded;
    issuer and shape are checked here, before any JSON-LD work, as for uploads.
    """
    try:
        credential = require_credential(document)
        check_bounds(credential, trust)
    except VerifyInputError as exc:
        logger.info("verification refused a submitted credential: %s", exc)
        return input_error_report(exc, JSON)
    entry = _register_entry_of(credential, trust)
    return verify_credential_document(credential, trust, entry=entry, kind=JSON)


def _register_entry_of(credential: dict[str, Any], trust: Trust) -> RegisterEntry | None:
    """Return the register's entry for the credential's id, online; None offline or unknown."""
    code = trust.code_of(credential["id"]) if isinstance(credential.get("id"), str) else None
    if trust.register is None or code is None:
        return None
    return trust.register(code)


def check_bounds(credential: dict[str, Any], trust: Trust) -> None:
    """Refuse, before any JSON-LD work, a credential of another issuer or another shape."""
    try:
        bounds.check_credential(credential, trust.issuer_ids)
    except bounds.Refused as exc:
        raise VerifyInputError(exc.message, str(exc)) from exc


def issued_file_check(data: bytes, entry: RegisterEntry | None) -> Check:
    """Check that ``data`` is byte for byte the PDF the register issued for its credential."""
    if entry is None:
        unknown = N_("no certificate with this credential is in the register")
        return Check.said(ISSUED_FILE, False, unknown)
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.pdf_sha256:
        changed = N_("the file differs from the PDF issued for this code")
        return Check.said(ISSUED_FILE, False, changed)
    return Check.said(ISSUED_FILE, True, N_("the file is the very PDF issued for this code"))


def verify_credential_document(
    credential: dict[str, Any],
    trust: Trust,
    *,
    entry: RegisterEntry | None = None,
    extra: tuple[Check, ...] = (),
    kind: str | None = None,
    file_verdict: str = CHANGED_FILE,
) -> Report:
    """Run every check on a parsed credential and return the report."""
    core = _verify_remembered(credential, trust)
    checks = list(core.result.checks)
    status = core.status
    if entry is not None:
        index = next(i for i, check in enumerate(checks) if check.name == STATUS)
        checks[index], status = _status_from_register(checks[index], status, entry)
    checks.extend(extra)
    overall = verdict(checks, status, credential, trust.now, file_verdict=file_verdict)
    authentic = all(check.passed for check in checks if check.name in AUTHENTICITY)
    shown: dict[str, Any] = {}
    if authentic:
        # Only content the issuer signed is shown: a forged name must not appear verified.
        shown = {**core.credential, "status": status}
    reason = entry.revocation_reason if entry is not None and status == REVOKED else ""
    valid = all(check.passed for check in checks)
    CERTIFICATES_VERIFIED.labels(str(valid).lower()).inc()
    return Report(
        valid=valid,
        status=overall,
        checks=tuple(checks),
        credential=shown,
        reason=reason,
        code=entry.code if entry is not None else None,
        kind=kind,
    )


# --- remembering outcomes -------------------------------------------------------------------

#: Outcomes of uploaded credentials by everything they depend on except the time; proofs
#: cost milliseconds of JSON-LD work each, and the same file may be checked again and
#: again. (Code lookups need none of this: they answer from the register.)
_REMEMBERED: LRUCache = LRUCache(maxsize=512)
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
        fresh = check_validity(credential, trust.now)
        checks = tuple(fresh if c.name == VALIDITY else c for c in known.result.checks)
        return CredentialReport(VerificationResult(checks), known.status, known.credential)
    report = verify_credential(
        credential, trust.resolve_key, now=trust.now, status_lists=trust.status_lists
    )
    if key and not report.time_dependent:
        with _remembered_lock:
            _REMEMBERED[key] = report
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
        resolve_key=signing.key_set_resolver(issuer.trusted_methods(key_ids)),
        status_lists=status_lists,
        now=now or utcnow(),
        register=register_entry,
        code_of=code_of,
        key_ids=key_ids,
        issuer_ids=issuer.issuer_ids(),
        pdf_certificates=pdfsign.current_identity().certificates,
    )


def _status_list_document(url: str, prefix: str) -> dict[str, Any] | None:
    number = url.removeprefix(prefix)
    if not url.startswith(prefix) or not (number.isascii() and number.isdigit()):
        return None
    from certificates.operations import published_status_list

    return published_status_list(int(number))


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
    """Verify many codes with a fixed number of queries; one report per code, in order.

    The answer comes from the register: the check of each stored credential recorded
    when it was issued (see :mod:`certificates.verify.register`), its status in the
    register and its list, and its dates. A credential without a current record is
    verified in full. Nothing is written: a lookup is a read.
    """
    codes = [canonical_code(text) for text in texts]
    # A malformed code still costs a lookup (of a code that cannot exist), like an unknown one.
    lookup = sorted({code or "" for code in codes})
    found = _find_with_records(lookup)
    now = trust.now if trust is not None else None
    context = _LookupContext(trust, now)
    reports = []
    for code in codes:
        row = found.get(code) if code else None
        if row is None:
            reports.append(NOT_FOUND_REPORT)
            continue
        reports.append(_code_report(row, context))
    return reports


class _LookupContext:
    """What the lookups of one request share, each part made only when first needed."""

    def __init__(self, trust: Trust | None, now: datetime | None) -> None:
        self._trust = trust
        self._now = now

    @property
    def now(self) -> datetime:
        if self._now is None:
            from lms.db import utcnow

            self._now = utcnow()
        return self._now

    @property
    def trust(self) -> Trust:
        if self._trust is None:
            self._trust = online_trust(self.now, cache={})
        return self._trust

    def key_known(self, multikey: str | None, in_register: bool) -> bool:
        """Return whether a key is still one of the issuer's (current or retired)."""
        if self._trust is not None and self._trust.key_ids is not None:
            return multikey in self._trust.key_ids
        return in_register


def _code_report(row: Any, context: _LookupContext) -> Report:
    from certificates import issuer

    credential = row.credential
    authenticity = None
    if context.key_known(row.public_multikey, row.known_key is not None):
        authenticity = register.recorded_authenticity(
            credential,
            row.credential_sha256,
            issuer.trusted_methods([row.public_multikey]),
            issuer.issuer_ids(),
        )
    if authenticity is None:
        logger.info("certificate %s has no current check record; verifying", row.code)
        authenticity = check_authenticity(credential, context.trust.resolve_key)
    status_check, status = _register_status(credential, row.list_credential)
    entry = RegisterEntry(
        code=row.code,
        status=row.status,
        revocation_reason=row.revocation_reason or "",
        pdf_sha256=row.pdf_sha256,
    )
    status_check, status = _status_from_register(status_check, status, entry)
    result = authenticity.with_checks(status_check, check_validity(credential, context.now))
    checks = result.checks
    overall = verdict(checks, status, credential, context.now)
    shown: dict[str, Any] = {}
    if all(check.passed for check in checks if check.name in AUTHENTICITY):
        shown = {**summary(credential), "status": status}
    valid = all(check.passed for check in checks)
    CERTIFICATES_VERIFIED.labels(str(valid).lower()).inc()
    return Report(
        valid=valid,
        status=overall,
        checks=checks,
        credential=shown,
        reason=entry.revocation_reason if status == REVOKED else "",
        code=row.code,
    )


def _register_status(credential: dict[str, Any], list_credential: Any) -> tuple[Check, str]:
    """Return the status the register's current list gives the credential.

    The list is the one this register signs whenever a status changes; it is read as
    stored, not re-signed or re-verified here.
    """
    entry = credential.get("credentialStatus")
    if entry is None:
        return NO_STATUS_ENTRY
    if list_credential is None:
        unavailable = N_("not checked: status list %(url)s is unavailable")
        url = entry.get("statusListCredential") if isinstance(entry, dict) else ""
        return Check.said(STATUS, False, unavailable, url=str(url)), UNKNOWN
    return status_in_list(entry, list_credential)


@functools.cache
def _lookup_statement() -> Any:
    """Return the one query of a lookup, built once: what the register knows of each code.

    Per code: the credential and register columns, the check record, whether its key
    is still in the key set, and the current status list credential. Not the PDF.
    """
    import sqlalchemy as sa

    from certificates.models import Certificate, SigningKey, StatusList

    check = register.CredentialCheck
    return (
        sa.select(
            Certificate.code,
            Certificate.credential,
            Certificate.status,
            Certificate.revocation_reason,
            Certificate.pdf_sha256,
            check.credential_sha256,
            check.public_multikey,
            SigningKey.public_multikey.label("known_key"),
            StatusList.credential.label("list_credential"),
        )
        .outerjoin(check, check.certificate_id == Certificate.id)
        .outerjoin(SigningKey, SigningKey.public_multikey == check.public_multikey)
        .outerjoin(StatusList, StatusList.id == Certificate.status_list_id)
        .where(Certificate.code.in_(sa.bindparam("codes", expanding=True)))
    )


def _find_with_records(codes: list[str]) -> dict[str, Any]:
    """Return what the register knows of each of these codes, by code, in one query."""
    from lms.extensions import db

    rows = db.session.execute(_lookup_statement(), {"codes": codes})
    return {row.code: row for row in rows}


def verify_upload(data: bytes, *, kind: str | None = None) -> Report:
    """Verify an uploaded PDF or credential JSON online (keys, lists and register)."""
    return verify_document(data, online_trust(), kind=kind)
