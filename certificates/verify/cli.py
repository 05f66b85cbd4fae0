"""``lms certificates verify FILE``: verify a certificate offline, with no server at all.

It reads no database and opens no connection: the issuer's keys and the status list
are given as text or saved files (``/.well-known/did.json``, ``/issuer`` and
``/status-lists/<id>`` as downloaded). Only the register knows the sha256 of the PDF
as issued, so that check is left to the online verification.

A key vouches only for the issuer it belongs to: a saved DID document or issuer
Profile trusts its keys under its own id, and a bare ``z6Mk...`` key trusts only the
issuer given with ``--issuer`` (by default this centre's DID and, for certificates
issued before it, its ``<BASE_URL>/issuer``). A status list past its ``validUntil``
is not trusted: the report says to download a fresh one.
A PDF is checked for the centre's PAdES signature over the whole file, against the
PDF certificate saved from ``/issuer/pdf-certificate.pem``: the credential inside a
PDF can be genuine while the page around it was painted over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certificates.cli import certificates_group
from certificates.credentials import signing
from certificates.credentials.checks import ISSUER_KEY, STATUS
from certificates.credentials.verification import issuer_id
from certificates.verify import bounds, service
from lms import pdfsign

#: Offline, a file larger than this is not a certificate of ours.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: A saved DID document or Profile larger than this is not the issuer's.
MAX_KEY_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class TrustedKeys:
    """The keys the CLI was given and the issuer ids they vouch for."""

    resolve: signing.KeyResolver
    issuers: tuple[str, ...]


def _keys_from_document(text: str, issuer: str | None) -> TrustedKeys:
    """Return the keys a saved DID document or issuer Profile publishes under its own id."""
    path = Path(text)
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise click.BadParameter(f"{text} is too large to be a DID document or Profile")
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise click.BadParameter(f"{text} is not a readable JSON file") from exc
    owner = document.get("id") if isinstance(document, dict) else None
    if not isinstance(owner, str):
        raise click.BadParameter(f"{text} is neither a DID document nor an issuer Profile")
    if issuer is not None and issuer != owner:
        raise click.BadParameter(f"{text} holds the keys of {owner}, not of --issuer {issuer}")
    methods = document.get("verificationMethod")
    pairs = {}
    for method in methods if isinstance(methods, list) else []:
        if not isinstance(method, dict) or method.get("controller") != owner:
            continue
        method_id = method.get("id")
        if not isinstance(method_id, str) or not method_id.startswith(owner + "#"):
            continue  # a key of someone else listed here vouches for nothing
        try:
            pairs[method_id] = signing.public_key_from_multikey(
                str(method.get("publicKeyMultibase"))
            )
        except ValueError:
            continue
    if not pairs:
        raise click.BadParameter(f"{text} lists no Ed25519 key of {owner}")
    return TrustedKeys(signing.key_set_resolver(pairs), (owner,))


def _our_issuer_ids() -> tuple[str, ...]:
    """Return this centre's DID and its earlier issuer id, from BASE_URL."""
    from flask import has_app_context

    from certificates import issuer

    if not has_app_context():
        raise click.BadParameter("a bare key needs --issuer: the issuer it belongs to")
    return (issuer.issuer_did(), issuer.issuer_url())


def trusted_keys(text: str, issuer: str | None = None) -> TrustedKeys:
    """Return the keys ``text`` names: a ``z6Mk...``, or a saved did.json or /issuer file.

    A bare key is bound to ``issuer`` (by default this centre's DID and earlier issuer
    id): it does not vouch for a credential that names another issuer.
    """
    text = text.strip()
    if not text.startswith("z") and Path(text).is_file():
        return _keys_from_document(text, issuer)
    try:
        key = signing.public_key_from_multikey(text)
    except ValueError as exc:
        raise click.BadParameter(
            "give the issuer's public key (z6Mk...) or its saved did.json or /issuer JSON"
        ) from exc
    issuers = (issuer,) if issuer else _our_issuer_ids()
    methods = {f"{owner}#{text}" for owner in issuers}

    def resolve(method: str) -> Ed25519PublicKey | None:
        return key if method in methods else None

    return TrustedKeys(resolve, issuers)


def status_lists_from_file(path: str) -> service.StatusListSource:
    """Return a status-list source serving the one saved list credential in ``path``."""
    try:
        document = bounds.load_json(Path(path).read_bytes())
    except (OSError, bounds.Refused) as exc:
        raise click.BadParameter(f"{path} is not a readable JSON file") from exc
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise click.BadParameter(f"{path} is not a status list credential")

    def source(url: str) -> dict[str, Any] | None:
        return document if url == document["id"] else None

    return source


def pdf_certificates_from_file(path: str) -> tuple[x509.Certificate, ...]:
    """Return the certificates in a saved ``/issuer/pdf-certificate.pem``."""
    try:
        return tuple(pdfsign.certificates_from_pem(Path(path).read_bytes()))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(
            f"{path} is not a PEM certificate (save it from /issuer/pdf-certificate.pem)"
        ) from exc


def _no_key(method: str) -> None:
    return None


def verify_file(
    data: bytes,
    keys: TrustedKeys | None,
    status_list: str | None,
    now: datetime | None = None,
    pdf_certificate: str | None = None,
) -> service.Report:
    """Verify file bytes offline with bound keys, a saved status list and a PDF certificate."""
    trust = service.Trust(
        resolve_key=keys.resolve if keys else _no_key,
        status_lists=status_lists_from_file(status_list) if status_list else None,
        now=now or datetime.now(UTC),
        pdf_certificates=pdf_certificates_from_file(pdf_certificate) if pdf_certificate else None,
    )
    return service.verify_document(data, trust)


def _credential_issuer(data: bytes) -> str | None:
    """Return the issuer id the file's credential names, if it can be read."""
    try:
        kind = service.sniff(data)
        credential = (
            service.credential_from_pdf(data)
            if kind == service.PDF
            else service.parse_credential(data)
        )
    except service.VerifyInputError:
        return None
    return issuer_id(credential)


def _notes(
    report: service.Report,
    issuer_key: str | None,
    status_list: str | None,
    *,
    bound_to: tuple[str, ...] = (),
    named: str | None = None,
    pdf_certificate: str | None = None,
) -> list[str]:
    notes = []
    if issuer_key is None and not report.error:
        notes.append(
            "issuer key not given: pass --issuer-key with the issuer's saved"
            " /.well-known/did.json (or its z6Mk... key with --issuer)"
        )
    elif bound_to and named and named not in bound_to and not report.error:
        notes.append(
            f"the key was given for {' and '.join(bound_to)}, but the credential names the"
            f" issuer {named}: a key vouches only for its own issuer"
        )
    if status_list is None and not report.error:
        notes.append(
            "status unknown: no status list given; download /status-lists/<id> and pass"
            " it with --status-list to check for revocation"
        )
    if report.kind == service.PDF and not report.error and pdf_certificate is None:
        notes.append(
            "PDF signer not checked: without the centre's PDF certificate anyone could"
            " have signed this file; download /issuer/pdf-certificate.pem and pass it"
            " with --pdf-certificate"
        )
    return notes


def _certified(credential: dict[str, Any]) -> tuple[str, str]:
    """Return the holder's name and the certification, as the signed credential says."""
    achievement = credential.get("achievement")
    name = achievement.get("name", "") if isinstance(achievement, dict) else ""
    return str(credential.get("holder", "")), str(name)


def _outcome(report: service.Report) -> str:
    """Return the last line: the verdict, and for a PDF in doubt what to believe."""
    if report.valid:
        return "result: VALID"
    if report.status == service.CHANGED_FILE:
        holder, certification = _certified(report.credential)
        return (
            "result: NOT VALID (changed file): the credential is genuine; this file was"
            " changed after issue; the name and certification it certifies are"
            f" {holder!r}, {certification!r}; compare with the printed page or check by code"
        )
    if report.status == service.FILE_UNCHECKED:
        return (
            "result: NOT CONFIRMED (PDF signer not checked): the credential is genuine and"
            " the PDF's signature covers the whole file, but nothing says the centre"
            " signed it; pass --pdf-certificate"
        )
    return f"result: NOT VALID ({report.status})"


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
@click.option(
    "--issuer-key",
    "issuer_key",
    metavar="KEY",
    help="The issuer's saved /.well-known/did.json (or /issuer JSON), or a public key z6Mk...",
)
@click.option(
    "--issuer",
    "issuer",
    metavar="ID",
    help="The issuer a bare --issuer-key belongs to (default: this centre's did:web).",
)
@click.option(
    "--status-list",
    "status_list",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved copy of the status list (/status-lists/<id>) the credential names.",
)
@click.option(
    "--pdf-certificate",
    "pdf_certificate",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="The centre's PDF signing certificate, saved from /issuer/pdf-certificate.pem.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(
    file: str,
    issuer_key: str | None,
    issuer: str | None,
    status_list: str | None,
    pdf_certificate: str | None,
    as_json: bool,
):
    """Verify a certificate PDF or credential JSON offline; exit 0 only if every check passes."""
    path = Path(file)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise click.ClickException(f"{file} is larger than {MAX_FILE_BYTES // 2**20} MB")
    if issuer and not issuer_key:
        raise click.BadParameter("--issuer names whose key --issuer-key is; give the key too")
    data = path.read_bytes()
    keys = trusted_keys(issuer_key, issuer) if issuer_key else None
    report = verify_file(data, keys, status_list, None, pdf_certificate)
    notes = _notes(
        report,
        issuer_key,
        status_list,
        pdf_certificate=pdf_certificate,
        bound_to=keys.issuers if keys else (),
        named=_credential_issuer(data),
    )
    if as_json:
        body = report.as_dict()
        body["notes"] = notes
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for check in report.checks:
            detail = check.detail
            if check.name == STATUS and not check.passed and status_list is None:
                detail = f"unknown ({detail})"
            if check.name == ISSUER_KEY and not check.passed and issuer_key is None:
                detail = f"{detail} (no --issuer-key given)"
            click.echo(f"{'PASS' if check.passed else 'FAIL'}  {check.name}: {detail}")
        for note in notes:
            click.echo(f"note  {note}")
        if report.credential:
            holder, certification = _certified(report.credential)
            # What the issuer signed, set apart: the page of a changed file may say otherwise.
            click.echo("")
            click.echo("== the signed credential certifies ==")
            click.echo(f"   HOLDER:        {holder}")
            click.echo(f"   CERTIFICATION: {certification}")
            if report.kind == service.PDF:
                click.echo("   (the name printed on the page must be this one)")
            click.echo("")
        click.echo(_outcome(report))
    click.get_current_context().exit(0 if report.valid else 1)


# Importing this module (the factory does) makes the command ``lms certificates verify``.
certificates_group.add_command(verify_command)
