"""``lms certificates verify FILE``: verify a certificate offline, with no server at all.

It reads no database and opens no connection: the issuer's public key and the status
list are given as text or saved files (``/issuer`` and ``/status-lists/<id>`` as
downloaded). Only the register knows the sha256 of the PDF as issued, so that check
is left to the online verification.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certificates.cli import certificates_group
from certificates.credentials import signing
from certificates.credentials.checks import ISSUER_KEY, STATUS
from certificates.verify import service

logger = logging.getLogger(__name__)

#: Offline, a file larger than this is not a certificate of ours.
MAX_FILE_BYTES = 20 * 1024 * 1024


def resolver_from_key(text: str) -> signing.KeyResolver:
    """Return a resolver trusting the key ``text`` names: a ``z6Mk...`` or a saved /issuer file.

    A bare Multikey is trusted under whatever issuer id the credential names (the key
    itself is what is trusted); a saved issuer Profile trusts each of its
    verification methods under its own id.
    """
    path = Path(text)
    if not text.startswith("z") and path.is_file():
        try:
            profile = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise click.BadParameter(f"{text} is not a readable JSON file") from exc
        methods = profile.get("verificationMethod") if isinstance(profile, dict) else None
        pairs = {}
        for method in methods if isinstance(methods, list) else []:
            if not isinstance(method, dict):
                continue
            try:
                key = signing.public_key_from_multikey(str(method.get("publicKeyMultibase")))
            except ValueError:
                continue
            if isinstance(method.get("id"), str):
                pairs[method["id"]] = key
        if not pairs:
            raise click.BadParameter(f"{text} lists no Ed25519 verification method")
        return signing.key_set_resolver(pairs)
    try:
        key = signing.public_key_from_multikey(text.strip())
    except ValueError as exc:
        raise click.BadParameter(
            "give the issuer's public key (z6Mk...) or a saved /issuer JSON file"
        ) from exc
    multikey = text.strip()

    def resolve(method: str) -> Ed25519PublicKey | None:
        return key if method.partition("#")[2] == multikey else None

    return resolve


def status_lists_from_file(path: str) -> service.StatusListSource:
    """Return a status-list source serving the one saved list credential in ``path``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.BadParameter(f"{path} is not a readable JSON file") from exc
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise click.BadParameter(f"{path} is not a status list credential")

    def source(url: str) -> dict[str, Any] | None:
        return document if url == document["id"] else None

    return source


def _no_key(method: str) -> None:
    return None


def verify_file(
    data: bytes,
    issuer_key: str | None,
    status_list: str | None,
    now: datetime | None = None,
) -> service.Report:
    """Verify file bytes offline with the given key and saved status list."""
    trust = service.Trust(
        resolve_key=resolver_from_key(issuer_key) if issuer_key else _no_key,
        status_lists=status_lists_from_file(status_list) if status_list else None,
        now=now or datetime.now(UTC),
    )
    return service.verify_document(data, trust)


def _notes(report: service.Report, issuer_key: str | None, status_list: str | None) -> list[str]:
    notes = []
    if issuer_key is None and not report.error:
        notes.append(
            "issuer key not given: pass --issuer-key with the issuer's z6Mk... key"
            " or its saved /issuer JSON"
        )
    if status_list is None and not report.error:
        notes.append(
            "status unknown: no status list given; download /status-lists/<id> and pass"
            " it with --status-list to check for revocation and suspension"
        )
    if report.kind == service.PDF and not report.error:
        notes.append(
            "issued file not checked offline: only the register knows the issued PDF's"
            " sha256; verify the PDF online to check that its page is unchanged"
        )
    return notes


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=False))
@click.option(
    "--issuer-key",
    "issuer_key",
    metavar="KEY",
    help="The issuer's public key (z6Mk...), or a saved copy of its /issuer JSON.",
)
@click.option(
    "--status-list",
    "status_list",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved copy of the status list (/status-lists/<id>) the credential names.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(file: str, issuer_key: str | None, status_list: str | None, as_json: bool):
    """Verify a certificate PDF or credential JSON offline; exit 0 only if every check passes."""
    path = Path(file)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise click.ClickException(f"{file} is larger than {MAX_FILE_BYTES // 2**20} MB")
    report = verify_file(path.read_bytes(), issuer_key, status_list)
    notes = _notes(report, issuer_key, status_list)
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
        credential = report.credential
        if credential:
            click.echo(
                f"holder: {credential.get('holder', '')}; "
                f"achievement: {credential.get('achievement', {}).get('name', '')}"
            )
        verdict = "VALID" if report.valid else f"NOT VALID ({report.status})"
        click.echo(f"result: {verdict}")
    click.get_current_context().exit(0 if report.valid else 1)


# Importing this module (the factory does) makes the command ``lms certificates verify``.
certificates_group.add_command(verify_command)
