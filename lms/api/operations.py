"""Create and revoke personal access tokens."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from lms import audit
from lms.api.auth import TOKEN_PREFIX, allowed_scopes, hash_secret
from lms.api.models import SCOPES, ApiToken
from lms.db import column_length, utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)

MAX_LIFETIME = timedelta(days=366)
NAME_MAX = column_length(ApiToken.__table__.c.name)
DISPLAY_PREFIX_LENGTH = 12


class TokenError(UserError):
    """A token cannot be created or revoked as asked."""


def create_token(
    user: User, *, name: str, scopes: list[str] | set[str], expires_at: datetime
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its secret, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise TokenError(f"Give the token a name of 1 to {NAME_MAX} characters.")
    chosen = set(scopes)
    if not chosen:
        raise TokenError("Choose at least one scope.")
    if chosen - set(SCOPES):
        raise TokenError("Unknown scope: {}.".format(", ".join(sorted(chosen - set(SCOPES)))))
    refused = chosen - allowed_scopes(user)
    if refused:
        raise TokenError("Your roles do not allow the scope {}.".format(", ".join(sorted(refused))))
    if expires_at.tzinfo is None:
        raise TokenError("The expiry needs a time zone.")
    now = utcnow()
    if expires_at <= now:
        raise TokenError("The expiry must be in the future.")
    if expires_at > now + MAX_LIFETIME:
        raise TokenError("A token may live at most one year.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        scopes=" ".join(s for s in SCOPES if s in chosen),
        expires_at=expires_at,
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.create", token, actor=user, name=name, scopes=token.scopes)
    logger.info("user %s created API token %s", user.id, token.prefix)
    return token, secret


def revoke_token(token: ApiToken, *, actor: User) -> ApiToken:
    """Revoke ``token`` from now on; the row stays for the record."""
    if token.revoked_at is not None:
        raise TokenError("This token is already revoked.")
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record("api_token.revoke", token, actor=actor, name=token.name)
    logger.info("user %s revoked API token %s", actor.id, token.prefix)
    return token
