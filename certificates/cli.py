"""The ``lms certificates`` and ``lms keys`` command groups.

Other modules add commands to :data:`certificates_group` (``verify`` does).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from lms.extensions import db


@click.group("certificates")
def certificates_group() -> None:
    """Issue, list and change certificates."""


@click.group("keys")
def keys_group() -> None:
    """Manage the issuer's signing keys."""


def _actor(email: str | None):
    """Return the user acting, or None for the system itself."""
    if not email:
        return None
    from lms.auth.operations import find_user_by_email

    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with the e-mail {email}")
    return user


def _scheme(code: str):
    from certificates import queries

    scheme = queries.scheme_by_code(code)
    if scheme is None:
        raise click.ClickException(f"no scheme with the code {code}")
    return scheme


def _certificate(code: str):
    from certificates import queries

    cert = queries.certificate_by_code(code)
    if cert is None:
        raise click.ClickException(f"no certificate with the code {code}")
    return cert


def _run(action):
    """Run an operation; on a domain error roll back and exit 1 with its message."""
    from certificates.operations import CertificationError

    try:
        result = action()
    except CertificationError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    return result


def certificate_summary(cert) -> dict:
    return {
        "code": cert.code,
        "status": cert.status,
        "holder": cert.snapshot.get("holder_name"),
        "scheme": cert.scheme.code,
        "issued_at": cert.issued_at.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "revocation_reason": cert.revocation_reason or None,
        "needs_review": cert.needs_review,
        "pdf_sha256": cert.pdf_sha256,
    }


@certificates_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per certificate.")
@with_appcontext
def list_command(as_json: bool) -> None:
    """List every certificate in the register."""
    from certificates import queries

    for cert in queries.all_certificates():
        item = certificate_summary(cert)
        if as_json:
            click.echo(json.dumps(item, ensure_ascii=False))
        else:
            click.echo(
                f"{item['code']}  {item['status']:<10} {item['scheme']:<12} {item['holder']}"
            )


@certificates_group.command("issue")
@click.option("--scheme", "scheme_code", required=True)
@click.option("--trainee", "trainee_email", required=True)
@click.option("--as", "actor_email", help="The certifier's e-mail (default: the system).")
@with_appcontext
def issue_command(scheme_code: str, trainee_email: str, actor_email: str | None) -> None:
    """Issue a certificate to one trainee (or show the one they hold)."""
    from certificates import operations as ops

    scheme = _scheme(scheme_code)
    trainee = _actor(trainee_email)
    actor = _actor(actor_email)
    cert = _run(lambda: ops.issue_certificate(scheme, trainee, actor=actor))
    click.echo(json.dumps(certificate_summary(cert), ensure_ascii=False))


@certificates_group.command("issue-batch")
@click.option("--scheme", "scheme_code", required=True)
@click.option("--as", "actor_email", help="The certifier's e-mail (default: the system).")
@click.option("--chunk-size", default=25, show_default=True, type=click.IntRange(1, 1000))
@with_appcontext
def issue_batch_command(scheme_code: str, actor_email: str | None, chunk_size: int) -> None:
    """Issue to every eligible trainee; a run stopped half-way resumes where it stopped."""
    from certificates import operations as ops
    from certificates import queries

    scheme = _scheme(scheme_code)
    actor = _actor(actor_email)
    try:
        batch = queries.running_batch(scheme)
        if batch is None:
            batch = ops.start_batch(scheme, actor=actor)
            db.session.commit()
        else:
            click.echo(f"Resuming batch {batch.id} at {batch.position}/{len(batch.user_ids)}.")
        done = batch.position
        with click.progressbar(length=len(batch.user_ids), label="Issuing") as bar:
            bar.update(done)

            def after_chunk(current):
                nonlocal done
                db.session.commit()
                bar.update(current.position - done)
                done = current.position

            batch = ops.issue_batch(
                scheme, actor, batch, chunk_size=chunk_size, on_chunk=after_chunk
            )
    except ops.CertificationError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Issued {batch.issued}, skipped {batch.skipped} (batch {batch.id}).")


@certificates_group.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why; kept and shown with the certificate.")
@click.option("--as", "actor_email", help="The certifier's e-mail (default: the system).")
@with_appcontext
def revoke_command(code: str, reason: str, actor_email: str | None) -> None:
    """Revoke a certificate for good (the row and the reason stay)."""
    from certificates import operations as ops

    cert = _certificate(code)
    actor = _actor(actor_email)
    _run(lambda: ops.revoke(cert, reason=reason, actor=actor))
    click.echo(f"{cert.code} revoked.")


@certificates_group.command("suspend")
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--as", "actor_email", help="The certifier's e-mail (default: the system).")
@with_appcontext
def suspend_command(code: str, reason: str, actor_email: str | None) -> None:
    """Suspend a certificate (reversible)."""
    from certificates import operations as ops

    cert = _certificate(code)
    actor = _actor(actor_email)
    _run(lambda: ops.suspend(cert, reason=reason, actor=actor))
    click.echo(f"{cert.code} suspended.")


@certificates_group.command("reinstate")
@click.argument("code")
@click.option("--reason", default="")
@click.option("--as", "actor_email", help="The certifier's e-mail (default: the system).")
@with_appcontext
def reinstate_command(code: str, reason: str, actor_email: str | None) -> None:
    """Lift a suspension."""
    from certificates import operations as ops

    cert = _certificate(code)
    actor = _actor(actor_email)
    _run(lambda: ops.reinstate(cert, reason=reason, actor=actor))
    click.echo(f"{cert.code} reinstated.")


@certificates_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Mark certificates past their validity as expired."""
    from certificates import operations as ops

    count = _run(lambda: ops.expire_certificates())
    click.echo(f"{count} certificates expired.")


@certificates_group.command("refresh-status-lists")
@with_appcontext
def refresh_status_lists_command() -> None:
    """Re-sign the status lists whose validity is running out (run it hourly, e.g. from cron)."""
    from certificates import operations as ops

    count = _run(lambda: ops.refresh_status_lists())
    click.echo(f"{count} status lists re-signed.")


@keys_group.command("rotate")
@with_appcontext
def rotate_command() -> None:
    """Make a new current signing key; the old one stays published for verification."""
    from certificates import keys

    try:
        current = keys.rotate()
    except keys.SigningKeyError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Current signing key: {current.public_multikey}")
