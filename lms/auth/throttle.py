"""Log-in throttling that guessers cannot turn against the people they target.

It follows OWASP's device cookies ("Slow Down Online Guessing Attacks with
Device Cookies"): a browser that has logged in to an account before holds a
signed cookie naming the account. Failed attempts from such a browser count
against that cookie only, so five wrong passwords typed elsewhere do not lock
the owner out. Browsers without one (or whose cookie is itself locked) share a
limit per account and a limit per address. Only failures count: a classroom of
thirty people logging in from one address uses up nothing.
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from werkzeug.wrappers import Response

from lms.auth.operations import normalise_email
from lms.auth.sessions import config_duration
from lms.extensions import limiter, remote_address
from lms.models import User

logger = logging.getLogger(__name__)

DEVICE_SALT = "lms.device-cookie"
# The accounts one browser remembers; older ones drop off.
DEVICE_ACCOUNTS_MAX = 5


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def _max_age() -> int:
    return int(config_duration("LOGIN_DEVICE_COOKIE_DURATION").total_seconds())


def _device_entries() -> list[dict]:
    """Return the accounts this browser's device cookie vouches for: ``[{"u": id, "n": nonce}]``."""
    raw = request.cookies.get(current_app.config["LOGIN_DEVICE_COOKIE_NAME"])
    if not raw:
        return []
    try:
        entries = _serializer().loads(raw, max_age=_max_age())
    except BadSignature:
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and {"u", "n"} <= e.keys()]


def device_nonce(user: User | None) -> str | None:
    """Return the nonce of this browser's device cookie for ``user``, if it holds a valid one."""
    if user is None:
        return None
    for entry in _device_entries():
        if entry["u"] == user.id:
            return str(entry["n"])
    return None


def remember_device(response: Response, user: User) -> Response:
    """Give this browser a fresh device cookie for ``user`` after a successful log-in."""
    entries = [{"u": user.id, "n": secrets.token_urlsafe(16)}]
    entries += [e for e in _device_entries() if e["u"] != user.id][: DEVICE_ACCOUNTS_MAX - 1]
    response.set_cookie(
        current_app.config["LOGIN_DEVICE_COOKIE_NAME"],
        _serializer().dumps(entries),
        max_age=_max_age(),
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Lax",
    )
    return response


def _limits(email: str, nonce: str | None) -> list[tuple[RateLimitItem, str]]:
    """Return the (limit, key) pairs that apply to an attempt on ``email``."""
    config = current_app.config
    if not limiter.enabled:  # RATELIMIT_ENABLED=False, as in benchmarks
        return []
    if nonce is not None:
        return [(parse(config["LOGIN_LIMIT_PER_DEVICE"]), f"device/{nonce}")]
    account = normalise_email(email)
    return [
        (parse(config["LOGIN_LIMIT_PER_ACCOUNT"]), f"account/{account}"),
        (parse(config["LOGIN_LIMIT_PER_ADDRESS"]), f"address/{remote_address()}"),
    ]


def _known_device(user: User | None) -> str | None:
    """Return the device nonce if this browser is known for ``user`` and not itself locked."""
    nonce = device_nonce(user)
    if nonce is None or not limiter.enabled:
        return nonce
    item = parse(current_app.config["LOGIN_LIMIT_PER_DEVICE"])
    if not limiter.limiter.test(item, "login", f"device/{nonce}"):
        return None  # a locked device cookie counts as no cookie (OWASP)
    return nonce


def wait_before_login(email: str, user: User | None) -> int | None:
    """Return the seconds this browser must wait before trying ``email`` again, or None."""
    nonce = _known_device(user)
    waits = []
    for item, key in _limits(email, nonce):
        if not limiter.limiter.test(item, "login", key):
            reset = limiter.limiter.get_window_stats(item, "login", key).reset_time
            waits.append(max(1, int(reset - time.time()) + 1))
    return max(waits) if waits else None


def record_failure(email: str, user: User | None) -> None:
    """Count a failed log-in against this browser's device cookie, or the account and address."""
    nonce = _known_device(user)
    for item, key in _limits(email, nonce):
        limiter.limiter.hit(item, "login", key)
    logger.info(
        "failed log-in from %s (%s)",
        remote_address(),
        "known device" if nonce else "unknown device",
    )
