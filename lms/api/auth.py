"""Bearer-token authentication, scopes and the API's current user."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.local import LocalProxy

from lms.api.errors import abort
from lms.api.models import SCOPES, ApiToken
from lms.db import utcnow, writing
from lms.extensions import db, login_manager
from lms.models import Role, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "s4c_"  # noqa: S105 - marks our tokens in logs and secret scanners
# Which scope each role unlocks; every user may hold "read".
ROLE_SCOPES = {
    Role.TRAINEE: "learn",
    Role.INSTRUCTOR: "teach",
    Role.CERTIFIER: "certify",
    Role.ADMIN: "admin",
}
SCOPE_DESCRIPTIONS = {
    "read": "Read what the user may see (every user).",
    "learn": "Act as a trainee: enrol, study, take quizzes, submit work.",
    "teach": "Act as an instructor: manage cohorts, grade, release grades.",
    "certify": "Act as a certifier: issue, suspend and revoke certificates.",
    "admin": "Act as an administrator.",
}
# Recording every use would write on every request; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Every endpoint that reads the user is behind require_scope, which answers 401 without
# one; optional_scope endpoints read Flask-Login's current_user instead.
current_api_user: User = LocalProxy(lambda: g.get("api_user"))  # type: ignore[assignment]
current_api_token: ApiToken | None = LocalProxy(lambda: g.get("api_token"))  # type: ignore[assignment]


def hash_secret(secret: str) -> str:
    """Return the hex sha256 of a token as it is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def allowed_scopes(user: User) -> frozenset[str]:
    """Return the scopes ``user``'s roles allow (admins may hold every scope)."""
    if user.has_role(Role.ADMIN):
        return frozenset(SCOPES)
    return frozenset({"read"} | {s for role, s in ROLE_SCOPES.items() if user.has_role(role)})


def bearer_secret() -> str | None:
    """Return the token sent as ``Authorization: Bearer …``, if any."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        abort(
            401,
            "Send the token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_request"'},
        )
    return value.strip()


def find_token(secret: str) -> ApiToken | None:
    """Return the token whose secret is ``secret``, usable or not."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret)))


def authenticate() -> None:
    """Set the API user from the Bearer token; a session cookie never counts here."""
    limit = current_app.config["API_MAX_CONTENT_LENGTH"]
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"Request bodies are limited to {limit} bytes.")
    g.api_user = g.api_token = None
    # Flask-Login would load the user from the session cookie: pin it to the
    # token's user (or anonymous) so operations and audit see the right actor.
    login_manager._update_request_context_with_user(None)
    secret = bearer_secret()
    if secret is None:
        return
    token = find_token(secret)
    now = utcnow()
    if token is None or not token.is_usable(now):
        logger.info("refused API token %s", token.prefix if token else "(unknown)")
        abort(
            401,
            "The token is unknown, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    g.api_token, g.api_user = token, token.user
    login_manager._update_request_context_with_user(token.user)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        with writing(db.session):
            db.session.execute(
                sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )


def effective_scopes() -> frozenset[str]:
    """Return the current token's scopes that its user's roles still allow."""
    token = g.get("api_token")
    if token is None:
        return frozenset()
    return token.scope_set & allowed_scopes(token.user)


def has_scope(*scopes: str) -> bool:
    """Tell whether the current token carries any of ``scopes`` (its roles permitting)."""
    return bool(effective_scopes() & set(scopes))


def require_scope(*scopes: str) -> Callable:
    """Require a token carrying any of ``scopes``: 401 without a token, 403 without the scope.

    The scope is checked against the user's current roles too, so a token never
    grants more than its user holds. Role and relation checks still belong in the view.
    """
    unknown = set(scopes) - set(SCOPES)
    if not scopes or unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}")
    from lms.api import doc_helper

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("api_user") is None:
                abort(401, "This endpoint needs a token: 'Authorization: Bearer <token>'.")
            if not has_scope(*scopes):
                needed = " ".join(scopes)
                abort(
                    403,
                    f"The token lacks the scope this endpoint needs (one of: {needed}).",
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer realm="api", error="insufficient_scope", scope="{needed}"'
                        )
                    },
                )
            return view(*args, **kwargs)

        wrapped = doc_helper.doc(security=[{"bearerAuth": [scope]} for scope in scopes])(wrapped)
        wrapped = doc_helper.alt_response(401, response="UNAUTHORIZED")(wrapped)
        return doc_helper.alt_response(403, response="FORBIDDEN")(wrapped)

    return decorator


def optional_scope(*scopes: str) -> Callable:
    """Allow anonymous callers; a token, when sent, must carry any of ``scopes`` (else 403).

    For public reads such as the catalogue: the view then sees ``current_user`` as the
    token's user or anonymous, and shows what that user may see.
    """
    from lms.api import doc_helper

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("api_user") is not None and not has_scope(*scopes):
                needed = " ".join(scopes)
                abort(
                    403,
                    f"The token lacks the scope this endpoint needs (one of: {needed}).",
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer realm="api", error="insufficient_scope", scope="{needed}"'
                        )
                    },
                )
            return view(*args, **kwargs)

        security = [{}, *({"bearerAuth": [scope]} for scope in scopes)]
        wrapped = doc_helper.doc(security=security)(wrapped)
        wrapped = doc_helper.alt_response(401, response="UNAUTHORIZED")(wrapped)
        return doc_helper.alt_response(403, response="FORBIDDEN")(wrapped)

    return decorator
