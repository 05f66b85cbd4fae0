"""The ``lms`` command: the Flask CLI bound to the application, plus our own groups."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import cast

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.local import LocalProxy

from lms.extensions import db
from lms.models import Role


def _create_app(*args, **kwargs) -> Flask:
    from lms import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Skills4Cities LMS management commands."""


def register_demo_loader(app: Flask, loader: Callable[[], list[dict]]) -> None:
    """Add a demo-data loader; ``lms demo`` runs them in order. Each returns accounts to print."""
    loaders = app.extensions.setdefault("lms_demo_loaders", [])
    if loader not in loaders:
        loaders.append(loader)


def register_generator(app: Flask, step: Callable) -> None:
    """Add a step of ``lms generate``; steps run in order, each given the shared run."""
    steps = app.extensions.setdefault("lms_generators", [])
    if step not in steps:
        steps.append(step)


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    default=["trainee"],
    show_default=True,
    help="Repeat for several roles.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email: str, name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user account."""
    from lms.auth.operations import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(
            email=email, name=name, password=password, roles=[Role(r) for r in roles]
        )
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(json.dumps({"id": user.id, "email": user.email, "roles": sorted(user.roles)}))


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data only.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create or upgrade the database, load demo data once, print the accounts, serve."""
    from flask_migrate import upgrade

    if "LMS_BASE_URL" not in os.environ:
        # Links in demo certificates (QR codes, credential ids) point at this server.
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        current_app.config["BASE_URL"] = f"http://{shown_host}:{port}"
    upgrade()
    accounts: list[dict] = []
    for loader in current_app.extensions.get("lms_demo_loaders", []):
        accounts.extend(loader())
    db.session.commit()

    click.echo("\nDemo accounts (e-mail / password / roles):")
    for account in accounts:
        click.echo(f"  {account['email']:<34} {account['password']:<18} {account['roles']}")
    url = f"http://{host}:{port}/"
    if no_serve:
        click.echo(f"\nDatabase ready. Start the server with: lms demo --host {host} --port {port}")
        return
    click.echo(f"\nServing on {url}  (Ctrl+C to stop)")
    # Not app.run(): Flask ignores it inside its own CLI (FLASK_RUN_FROM_CLI).
    from werkzeug.serving import run_simple

    run_simple(
        host, port, cast("LocalProxy[Flask]", current_app)._get_current_object(), threaded=True
    )


@click.command("generate")
@click.option(
    "--size",
    type=click.Choice(["XS", "S", "M", "L"], case_sensitive=False),
    default="S",
    show_default=True,
    help="XS: 60 users; S: 1,000 users, 10 courses; M: 10,000, 100; L: 50,000, 250.",
)
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply the size.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same site.")
@click.option("--force", is_flag=True, help="Add a generated site beside data that is not.")
@with_appcontext
def generate_command(size: str, scale: float, seed: int, force: bool) -> None:
    """Create or upgrade the database and fill it with a generated site of SIZE."""
    import time

    from flask_migrate import upgrade

    from lms.generate import PASSWORD, SIZES, GenerationRefused, generate, scaled

    if scale <= 0:
        raise click.BadParameter("must be positive", param_hint="--scale")
    upgrade()
    chosen = scaled(SIZES[size.upper()], scale)
    started = time.perf_counter()
    try:
        run = generate(
            chosen,
            seed,
            current_app.extensions.get("lms_generators", []),
            force=force,
            progress=click.echo,
        )
    except GenerationRefused as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(
        f"\nGenerated size {chosen.name} (seed {seed}) in {time.perf_counter() - started:.1f} s:"
    )
    for table, count in sorted(run.counts.items()):
        click.echo(f"  {table:<28} {count:>10,}")
    click.echo(f"Every generated account has the password {PASSWORD}")


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(archive: str) -> None:
    """Write the database and instance files (keys, secrets, uploads) to ARCHIVE (.tar.gz)."""
    from lms.backup import BackupError, create_backup

    try:
        manifest = create_backup(archive)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {len(manifest['files'])} files to {archive}")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(archive: str) -> None:
    """Restore ARCHIVE into this EMPTY instance and database, after checking every file's sha256."""
    from lms.backup import BackupError, restore_backup

    try:
        manifest = restore_backup(archive)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {len(manifest['files'])} files from {archive}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(generate_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
