"""Ed25519 signing keys: created on first use in ``<instance>/keys/`` or given by the environment.

The private half never enters the database: each key is a file named by its
public Multikey and holding its secret Multikey (mode 0600). ``LMS_SIGNING_KEY``
(a secret Multikey) overrides the files and is then the current key. The
``signing_keys`` table records every public key, current and retired; the issuer's
DID document publishes them all, so certificates signed before a rotation still verify.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from certificates.credentials import signing
from certificates.models import SigningKey
from lms import audit
from lms.db import utcnow
from lms.extensions import db
from lms.files import write_secret_file
from lms.models import User

logger = logging.getLogger(__name__)

#: Config key filled from the environment variable ``LMS_SIGNING_KEY``.
ENV_CONFIG_KEY = "SIGNING_KEY"

# Private keys read from disk, by (keys folder, public multikey): files never change.
_cache: dict[tuple[str, str], Ed25519PrivateKey] = {}


class SigningKeyError(RuntimeError):
    """A signing key cannot be used or rotated as asked."""


@dataclass(frozen=True)
class CurrentKey:
    """The key new credentials are signed with."""

    row: SigningKey
    private_key: Ed25519PrivateKey

    @property
    def public_multikey(self) -> str:
        return self.row.public_multikey

    @property
    def verification_method(self) -> str:
        """Return the DID URL new proofs name: ``<did>#<multikey>``."""
        from certificates.issuer import verification_method_url

        return verification_method_url(self.row.public_multikey)


def keys_dir() -> Path:
    """Return the folder holding the private keys, creating it private to the owner."""
    path = Path(current_app.instance_path) / "keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_key(key: Ed25519PrivateKey) -> str:
    """Store a new private key as ``<keys>/<public multikey>``: mode 0600, whole or not at all."""
    public = signing.public_multikey(key)
    path = keys_dir() / public
    write_secret_file(path, (signing.private_multikey(key) + "\n").encode("ascii"))
    _cache[(str(path.parent), public)] = key
    logger.info("created signing key %s in %s", public, path.parent)
    return public


def _read_key(public: str) -> Ed25519PrivateKey | None:
    """Return the stored private key of ``public``, or None if this instance lacks it."""
    folder = keys_dir()
    cached = _cache.get((str(folder), public))
    if cached is not None:
        return cached
    path = folder / public
    try:
        key = signing.private_key_from_multikey(path.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        logger.error("signing key file %s does not hold a secret multikey", path)
        return None
    if signing.public_multikey(key) != public:
        logger.error("signing key file %s holds another key", path)
        return None
    _cache[(str(folder), public)] = key
    return key


def _env_key() -> Ed25519PrivateKey | None:
    text = current_app.config.get(ENV_CONFIG_KEY)
    if not text:
        return None
    try:
        return signing.private_key_from_multikey(str(text).strip())
    except ValueError as exc:
        raise SigningKeyError("LMS_SIGNING_KEY is not a secret Ed25519 Multikey") from exc


def all_keys() -> list[SigningKey]:
    """Return every signing key, current and retired, oldest first."""
    return list(db.session.scalars(sa.select(SigningKey).order_by(SigningKey.id)))


def _retire_others(keep: SigningKey | None) -> None:
    now = utcnow()
    for row in db.session.scalars(sa.select(SigningKey).where(SigningKey.retired_at.is_(None))):
        if row is not keep:
            row.retired_at = now
            logger.info("retired signing key %s", row.public_multikey)


def _record(public: str) -> SigningKey:
    row = SigningKey(public_multikey=public)
    db.session.add(row)
    db.session.flush()
    return row


def current_key() -> CurrentKey:
    """Return the current key, recording or creating it on first use (flushes, never commits)."""
    env_key = _env_key()
    if env_key is not None:
        public = signing.public_multikey(env_key)
        row = db.session.scalar(sa.select(SigningKey).filter_by(public_multikey=public))
        if row is None or row.retired_at is not None:
            if row is None:
                row = _record(public)
            row.retired_at = None
            _retire_others(row)
            db.session.flush()
            audit.record("signing_key.current", row, actor=None, source="environment")
        return CurrentKey(row, env_key)

    rows = db.session.scalars(
        sa.select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.id.desc())
    ).all()
    for row in rows:
        key = _read_key(row.public_multikey)
        if key is not None:
            return CurrentKey(row, key)
        # A current key whose private half is not in this instance cannot sign; retire it
        # (its public half stays published, so what it signed still verifies).
        logger.warning("current signing key %s has no private key here", row.public_multikey)
    return _create(reason="first use")


def _create(*, reason: str, actor: User | None = None) -> CurrentKey:
    key = signing.generate_key()
    row = _record(_write_key(key))
    _retire_others(row)
    db.session.flush()
    audit.record("signing_key.create", row, actor=actor, reason=reason)
    return CurrentKey(row, key)


def rotate(*, actor: User | None = None) -> CurrentKey:
    """Make a new current key and retire the previous ones (they stay for verification)."""
    if _env_key() is not None:
        raise SigningKeyError(
            "the signing key is given by LMS_SIGNING_KEY: set a new key there instead"
        )
    current = _create(reason="rotation", actor=actor)
    logger.info("rotated signing key; current is %s", current.public_multikey)
    return current
