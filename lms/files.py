"""Files the application writes for itself: secrets, atomically and private to the owner."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data`` with mode 0600, whole or not at all.

    The bytes go to a temporary file in the same folder, are flushed to disk,
    and only then linked under the final name: a full disk or a killed process
    leaves no empty or truncated secret behind. An existing ``path`` is never
    replaced (FileExistsError): another process may have created it first, and
    both must then use the same secret.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(temporary, path)  # fails if it exists, unlike rename
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries, so a new file's name survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
