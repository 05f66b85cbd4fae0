"""Stored files: certificate PDFs, assignment uploads, scheme logos, content-addressed.

One interface, two backends. ``LocalStorage`` (the default) keeps the files in
``<instance>/storage``; ``S3Storage`` keeps them in any S3-compatible bucket
(``LMS_STORAGE_BACKEND=s3`` with ``LMS_STORAGE_S3_BUCKET``, and optionally
``LMS_STORAGE_S3_PREFIX``, ``LMS_STORAGE_S3_ENDPOINT_URL``, ``LMS_STORAGE_S3_REGION``;
credentials come from ``LMS_STORAGE_S3_ACCESS_KEY_ID``/``LMS_STORAGE_S3_SECRET_ACCESS_KEY``
or boto3's own environment and configuration files, never from the repository).

Every object's key is the sha256 of its content, so writing the same bytes twice
is harmless. A file is written before the database row that names it commits: a
crash between the two leaves at most an unnamed file, which the cleanup job
removes once it is older than a grace period, and never a row without its file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app

CHUNK = 1024 * 1024
KEY_PATTERN = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """A stored object is missing, damaged or could not be written."""


class TooLarge(StorageError):
    """The stream is longer than the limit; nothing was stored."""


class Storage(Protocol):
    def put(self, stream: IO[bytes], max_size: int | None = None) -> str:
        """Store ``stream``; return its key (the sha256 hex of the content)."""

    def open(self, key: str) -> IO[bytes]:
        """Return a binary stream of the object; raise StorageError if it is missing."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def listing(self) -> Iterator[tuple[str, float]]:
        """Yield ``(key, modified time as a Unix timestamp)`` of every object."""

    def check(self) -> None:
        """Raise if the store cannot be written and read right now."""


def _check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise StorageError(f"not a storage key: {key!r}")
    return key


def put_bytes(storage: Storage, data: bytes) -> str:
    return storage.put(io.BytesIO(data))


def read_bytes(storage: Storage, key: str, sha256: str | None = None) -> bytes:
    """Read a whole object and check its digest against ``sha256`` (default: the key)."""
    with storage.open(key) as stream:
        data = stream.read()
    if hashlib.sha256(data).hexdigest() != (sha256 or key):
        raise StorageError(f"stored object {key} does not match its sha256")
    return data


class VerifyingReader(io.RawIOBase):
    """Pass a stored object through while hashing it; fail at the end if it was altered."""

    def __init__(self, inner: IO[bytes], sha256: str):
        self._inner, self._expected, self._hash = inner, sha256, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        if not data:
            if self._hash.hexdigest() != self._expected:
                raise StorageError("stored object does not match its sha256")
            return 0
        self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_verified(storage: Storage, key: str, sha256: str | None = None) -> IO[bytes]:
    """A buffered stream of the object that raises StorageError at its end if it was altered."""
    return io.BufferedReader(VerifyingReader(storage.open(key), sha256 or key), CHUNK)


class LocalStorage:
    """Objects as files under ``root/ab/cd/<sha256>``, written atomically."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, stream: IO[bytes], max_size: int | None = None) -> str:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        # A dot name: the backup and the key listing skip a file still being written.
        handle, temp_name = tempfile.mkstemp(prefix=".put-", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise TooLarge(f"larger than {max_size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = digest.hexdigest()
            target = self._path(key)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, target)
            _fsync_dir(target.parent)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as error:
            raise StorageError(f"stored object {key} is missing") from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def listing(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if KEY_PATTERN.fullmatch(path.name) and path.is_file():
                yield path.name, path.stat().st_mtime

    def check(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix=".readyz-", suffix=".tmp"):
            pass


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class S3Storage:
    """Objects in an S3-compatible bucket under ``prefix + <sha256>``."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        client: Any = None,
    ):
        if client is None:
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
            )
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def _name(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def put(self, stream: IO[bytes], max_size: int | None = None) -> str:
        # The key is the content's digest, known only at the end: spool to a temporary
        # file first (in memory while small), then upload it under its final name, so
        # the bucket never holds a partial object under a key.
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise TooLarge(f"larger than {max_size} bytes")
                digest.update(chunk)
                spool.write(chunk)
            key = digest.hexdigest()
            spool.seek(0)
            # Uploaded even when the key exists: that renews its modification time, so
            # the orphan cleanup leaves alone an old object a new row is about to name.
            self.client.upload_fileobj(spool, self.bucket, self._name(key))
        return key

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            raise StorageError(f"stored object {key} is missing") from error
        return answer["Body"]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def listing(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix) :]
                if KEY_PATTERN.fullmatch(name):
                    yield name, item["LastModified"].timestamp()

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def from_config(app: Flask) -> Storage:
    """Build the store the app's configuration names (``STORAGE_BACKEND``: local or s3)."""
    backend = (app.config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        root = app.config.get("STORAGE_PATH") or Path(app.instance_path) / "storage"
        return LocalStorage(root)
    if backend == "s3":
        bucket = app.config.get("STORAGE_S3_BUCKET")
        if not bucket:
            raise StorageError("LMS_STORAGE_BACKEND=s3 needs LMS_STORAGE_S3_BUCKET")
        return S3Storage(
            bucket,
            prefix=app.config.get("STORAGE_S3_PREFIX") or "",
            endpoint_url=app.config.get("STORAGE_S3_ENDPOINT_URL"),
            region=app.config.get("STORAGE_S3_REGION"),
            access_key_id=app.config.get("STORAGE_S3_ACCESS_KEY_ID"),
            secret_access_key=app.config.get("STORAGE_S3_SECRET_ACCESS_KEY"),
        )
    raise StorageError(f"unknown LMS_STORAGE_BACKEND {backend!r}: use local or s3")


def init_app(app: Flask) -> None:
    app.extensions["storage"] = from_config(app)


def storage() -> Storage:
    """The current app's store."""
    return current_app.extensions["storage"]


def orphans(store: Storage, named: set[str], grace_seconds: float) -> list[str]:
    """Keys no row names whose objects are older than the grace period."""
    cutoff = time.time() - grace_seconds
    return [key for key, modified in store.listing() if key not in named and modified < cutoff]


def named_keys() -> set[str]:
    """Every key a database row names.

    Certificate PDFs, files handed in for assignments, and the logos and signature
    images of certification schemes.
    """
    import sqlalchemy as sa

    from certificates.models import Certificate, Scheme
    from courses.assessments.assignments.models import SubmissionFile
    from lms.extensions import db

    columns = (
        Certificate.pdf_key,
        SubmissionFile.file_key,
        Scheme.design_logo_key,
        Scheme.signature_image_key,
    )
    named: set[str] = set()
    for column in columns:
        named.update(db.session.scalars(sa.select(column).where(column.is_not(None))))
    return named


def remove_orphans(grace_seconds: float | None = None) -> int:
    """Delete stored objects that no row names and that are older than the grace period.

    A file is written before the row that names it commits, so a young unnamed file may
    belong to a request still under way: only those older than
    ``STORAGE_ORPHAN_GRACE_SECONDS`` go. The listing is taken before the names are read,
    so a row committed in between keeps its file.
    """
    if grace_seconds is None:
        grace_seconds = current_app.config["STORAGE_ORPHAN_GRACE_SECONDS"]
    store = storage()
    cutoff = time.time() - grace_seconds
    candidates = [key for key, modified in store.listing() if modified < cutoff]
    if not candidates:
        return 0
    named = named_keys()
    removed = 0
    for key in candidates:
        if key not in named:
            store.delete(key)
            removed += 1
    return removed
