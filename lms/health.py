"""Readiness: can this process serve requests right now?

``/healthz`` says the process is alive; ``/readyz`` checks what a request needs:
the database, Redis when the app is configured to use it, and a writable
instance folder (new secrets, mail outbox, uploads) and the file store (certificate
PDFs: a local folder or an S3 bucket). A load balancer stops
sending traffic to an instance whose ``/readyz`` answers 503, and the body
names what is down.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from lms.extensions import db

logger = logging.getLogger(__name__)

REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
# Seconds a readiness probe waits for Redis: a probe must answer quickly.
REDIS_TIMEOUT = 2


def check_database() -> None:
    """Run ``SELECT 1`` on the application database."""
    db.session.execute(sa.text("SELECT 1"))


def redis_urls(app: Flask) -> list[str]:
    """Return the Redis URLs the app is configured to use (rate-limit storage, ``REDIS_URL``)."""
    urls = []
    for key in ("RATELIMIT_STORAGE_URI", "REDIS_URL"):
        url = app.config.get(key)
        if url and urlsplit(url).scheme in REDIS_SCHEMES and url not in urls:
            urls.append(url)
    return urls


def check_redis(url: str) -> None:
    """Send PING to the Redis server at ``url``."""
    import redis

    if url.startswith("redis+unix://"):
        url = "unix://" + url[len("redis+unix://") :]
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def check_instance_folder() -> None:
    """Create and remove a temporary file in the instance folder."""
    with tempfile.NamedTemporaryFile(dir=current_app.instance_path, prefix=".readyz-"):
        pass


def check_storage() -> None:
    """Write-test the file store (the instance folder's, or the S3 bucket)."""
    from lms.storage import storage

    storage().check()


def readiness() -> tuple[dict, bool]:
    """Run every check; return ``({name: "ok" | "down: reason"}, all_ok)``."""
    checks: dict[str, Callable[[], None]] = {"database": check_database}
    urls = redis_urls(current_app)
    for index, url in enumerate(urls):
        name = "redis" if len(urls) == 1 else f"redis{index + 1}"
        checks[name] = functools.partial(check_redis, url)
    checks["instance_folder"] = check_instance_folder
    checks["storage"] = check_storage

    results, ready = {}, True
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, error)
            results[name] = f"down: {type(error).__name__}"
            ready = False
        else:
            results[name] = "ok"
    return results, ready
