"""Whole-instance backups: ``lms backup ARCHIVE`` and ``lms restore ARCHIVE``.

One ``.tar.gz`` holds everything an instance needs to come back: the database
(an SQLite online backup, or ``pg_dump --format=custom`` for PostgreSQL), the
instance folder's files (secret key, signing keys, badges, uploads) and a
``manifest.json`` with the sha256 of every member. Stored files (certificate PDFs,
assignment uploads, scheme images) come along: inside the instance folder with it,
and from an S3 bucket as ``stored/`` members, put back into the restoring
instance's store. Restoring checks every digest before it writes anything, and
only ever fills an empty instance and database: it never merges into, or
overwrites, a live one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import URL, make_url

from lms.extensions import db
from lms.storage import LocalStorage, Storage, storage

MANIFEST = "manifest.json"
FORMAT = "skills4cities-lms-backup/1"
SQLITE_MEMBER = "database/lms.sqlite3"
POSTGRES_MEMBER = "database/lms.pgdump"
INSTANCE_PREFIX = "instance/"
# Stored files kept outside the instance folder (an S3 bucket): "stored/<sha256>".
STORED_PREFIX = "stored/"
# Files the app creates by itself when it starts; a fresh instance may hold them.
STARTUP_FILES = frozenset({"secret_key"})
# Rate-limit counters are not worth keeping; SQLite side files belong to a live database.
SKIPPED_NAMES = frozenset({"ratelimits.sqlite3"})
SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """The backup or restore cannot go ahead; the message says why and nothing was changed."""


def _sqlite_path(url: URL) -> Path | None:
    """Return the SQLite database file of ``url``, or None for another engine."""
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("Only an SQLite database in a file can be backed up.")
    return Path(url.database).resolve()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """Return a libpq connection URL for the PostgreSQL tools and an environment with the password.

    The password goes in ``PGPASSWORD``, not on the command line, where ``ps`` shows it.
    """
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run a PostgreSQL tool; raise BackupError with its message if it fails."""
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} was not found: install the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client) matching the server's version."
        ) from error
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()}") from error


def _skipped(relative: PurePosixPath, database: Path | None, instance: Path) -> bool:
    """Whether an instance file stays out of the archive (the live database, temporary files)."""
    name = relative.name
    if name.startswith(".") or name.endswith(".tmp"):
        return True
    base = name
    for suffix in SQLITE_SIDE_SUFFIXES:
        base = base.removesuffix(suffix)
    if base in SKIPPED_NAMES and len(relative.parts) == 1:
        return True
    if database is not None:
        candidate = instance / relative.parent / base
        if candidate == database:
            return True
    return False


def _instance_files(instance: Path, database: Path | None) -> Iterator[tuple[PurePosixPath, Path]]:
    """Yield ``(relative path, path)`` of every instance file the archive keeps, sorted."""
    for path in sorted(instance.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = PurePosixPath(path.relative_to(instance).as_posix())
        if not _skipped(relative, database, instance):
            yield relative, path


def create_backup(archive: str | Path) -> dict:
    """Write the current app's database and instance files to ``archive``; return the manifest."""
    archive = Path(archive)
    if archive.exists():
        raise BackupError(f"{archive} already exists: choose a new file name.")
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    instance = Path(current_app.instance_path).resolve()
    database = _sqlite_path(url)
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "database"
        if database is not None:
            member = SQLITE_MEMBER
            source = sqlite3.connect(database)
            target = sqlite3.connect(dump)
            try:
                with target:
                    source.backup(target)  # consistent even while workers write
            finally:
                target.close()
                source.close()
        elif url.get_backend_name() == "postgresql":
            member = POSTGRES_MEMBER
            conninfo, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", conninfo], env)
        else:
            raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")

        members = [(member, dump)] + [
            (INSTANCE_PREFIX + str(relative), path)
            for relative, path in _instance_files(instance, database)
        ]
        members += _stored_files(instance, Path(scratch) / "stored")
        manifest = {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": url.get_backend_name(),
            "files": {name: _sha256(path) for name, path in members},
        }
        partial = archive.with_name(f".{archive.name}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
                for name, path in members:
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                    with path.open("rb") as member_file:
                        tar.addfile(info, member_file)
            os.replace(partial, archive)  # a half-written archive never has the final name
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _outside(instance: Path) -> Storage | None:
    """The app's file store when its files are not in the instance folder, else None."""
    store = storage()
    if isinstance(store, LocalStorage) and store.root.resolve().is_relative_to(instance):
        return None
    return store


def _stored_files(instance: Path, scratch: Path) -> list[tuple[str, Path]]:
    """Copy the stored files kept outside the instance folder into ``scratch``."""
    store = _outside(instance)
    if store is None:
        return []
    scratch.mkdir()
    members = []
    for key, _modified in sorted(store.listing()):
        path = scratch / key
        with store.open(key) as source, path.open("wb") as out:
            shutil.copyfileobj(source, out)
        members.append((STORED_PREFIX + key, path))
    return members


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_archive(archive: Path, scratch: Path) -> dict:
    """Unpack ``archive`` into ``scratch`` and check every member against the manifest.

    Refuses an archive whose files are missing, extra, altered, or named outside
    the archive (absolute paths, ``..``, links).
    """
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            names = []
            for info in tar:
                path = PurePosixPath(info.name)
                if not info.isfile() or path.is_absolute() or ".." in path.parts:
                    raise BackupError(f"{archive} holds an unsafe member {info.name!r}.")
                names.append(info.name)
                target = scratch / "members" / path
                target.parent.mkdir(parents=True, exist_ok=True)
                member = tar.extractfile(info)
                assert member is not None, "a regular file (checked above) extracts"
                with member as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (OSError, tarfile.TarError, EOFError) as error:
        raise BackupError(f"{archive} cannot be read as a backup archive: {error}") from error
    members = scratch / "members"
    try:
        manifest = json.loads((members / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{archive} has no readable {MANIFEST}.") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a backup this version can restore.")
    if len(names) != len(set(names)) or set(names) != set(files) | {MANIFEST}:
        raise BackupError(f"{archive} does not hold exactly the files its manifest lists.")
    for name, expected in files.items():
        if _sha256(members / name) != expected:
            raise BackupError(f"{archive} is damaged or altered: {name} does not match its sha256.")
    return manifest


def restore_backup(archive: str | Path) -> dict:
    """Restore ``archive`` into the current app's empty instance and database.

    Returns the archive's manifest.
    """
    archive = Path(archive)
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    instance = Path(current_app.instance_path).resolve()
    database = _sqlite_path(url)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        manifest = _read_archive(archive, scratch)
        members = scratch / "members"
        engine = url.get_backend_name()
        member = SQLITE_MEMBER if engine == "sqlite" else POSTGRES_MEMBER
        if member not in manifest["files"]:
            raise BackupError(
                f"{archive} holds a {manifest.get('engine')} database; "
                f"this instance uses {engine}. Restore it into a {manifest.get('engine')} database."
            )
        _require_empty(instance, database)

        db.session.remove()
        db.engine.dispose()
        if database is not None:
            partial = database.with_name(f".{database.name}.restore.tmp")
            shutil.copyfile(members / member, partial)
            os.chmod(partial, 0o600)
            for suffix in SQLITE_SIDE_SUFFIXES:
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            os.replace(partial, database)
        else:
            conninfo, env = _libpq(url)
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={conninfo}",
                    str(members / member),
                ],
                env,
            )
        for name in manifest["files"]:
            if name.startswith(STORED_PREFIX):
                with (members / name).open("rb") as stored:
                    key = storage().put(stored)
                if STORED_PREFIX + key != name:
                    raise BackupError(f"{archive}: {name} is not named by its sha256.")
                continue
            if not name.startswith(INSTANCE_PREFIX):
                continue
            target = instance / name[len(INSTANCE_PREFIX) :]
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restore.tmp")
            shutil.copyfile(members / name, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, target)
    return manifest


def _require_empty(instance: Path, database: Path | None) -> None:
    """Refuse to restore over data: the database must have no tables, the instance no files.

    A file the app makes when it starts (a generated secret key) is allowed: the
    archive's replaces it.
    """
    tables = sa.inspect(db.engine).get_table_names()
    if tables:
        raise BackupError(
            f"The database already has {len(tables)} tables: restore only into an empty "
            "database (create a new one, or drop this one's tables after a backup of its own)."
        )
    present = [
        str(relative)
        for relative, _ in _instance_files(instance, database)
        if str(relative) not in STARTUP_FILES
    ]
    if present:
        raise BackupError(
            f"The instance folder {instance} already holds files ({', '.join(present[:5])}): "
            "restore only into an empty instance folder."
        )
