"""Log-in limits hold across real gunicorn worker processes.

Starts ``gunicorn -w 2`` on a temporary SQLite database, once with the default
shared counters (a file in the instance folder) and once with Redis, sends
wrong passwords for one account and checks that the limit of five holds for
the whole server, and that both workers answered; the same for the verification
pages' per-address limit (60 a minute by default, six here).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
EMAIL = "worker.test@example.org"
PASSWORD = "correct horse battery"
VERIFY_LIMIT = 6
# Generous: a worker replaced every three requests starts slowly on a loaded machine.
TIMEOUT = 60


def _make_instance(path: Path) -> str:
    """Create the database of a fresh instance with one account; return its URL."""
    from lms import create_app
    from lms.auth.operations import create_user
    from lms.extensions import db

    url = f"sqlite:///{path / 'lms.sqlite3'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(path),
            "SECRET_KEY": "workers-test-secret-" * 2,
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        db.create_all()
        create_user(email=EMAIL, name="Worker Test", password=PASSWORD)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A cookie-keeping HTTP client that never follows redirects."""

    def __init__(self, base: str):
        self.base = base
        no_redirects = type(
            "NoRedirects",
            (urllib.request.HTTPRedirectHandler,),
            {"redirect_request": lambda *args, **kwargs: None},
        )
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), no_redirects
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.fixture(params=["instance file", "redis"])
def server(request, tmp_path):
    """A two-worker gunicorn (workers replaced often) on a fresh instance; yields (URL, log)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.update(
        LMS_INSTANCE_PATH=str(tmp_path),
        LMS_DATABASE_URL=_make_instance(tmp_path),
        LMS_SECRET_KEY="workers-test-secret-" * 2,
        LMS_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        LMS_VERIFY_RATE_LIMIT=f"{VERIFY_LIMIT} per minute",
    )
    if request.param == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env["LMS_RATELIMIT_STORAGE_URI"] = REDIS_URL
    port = _free_port()
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    error_output = error_log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            f"--access-logfile={access_log}",
            "--access-logformat=%(p)s %(m)s %(U)s %(s)s",
            "--graceful-timeout=2",
            "--preload",  # import once, then fork: the counters must survive the fork
            # Each process answers three requests and is replaced: however the two share
            # the work, the guesses meet several processes, respawned ones included.
            "--max-requests=3",
            "--max-requests-jitter=0",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=error_output,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 3 * TIMEOUT  # slow to start on a busy machine
        while True:
            try:
                if Browser(base).request("/login")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, error_log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield base, access_log
    finally:
        process.send_signal(signal.SIGINT)  # quick shutdown
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
            process.kill()
            process.wait(30)
        error_output.close()
        if request.param == "redis":
            redis.Redis.from_url(REDIS_URL).flushdb()


def test_the_limit_holds_across_two_workers(server):
    base, access_log = server
    statuses = []
    for n in range(12):
        guesser = Browser(base)  # a new connection and no cookies each time
        status, page = guesser.request("/login")
        assert status == 200
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        status, _page = guesser.request(
            "/login", {"csrf_token": token, "email": EMAIL, "password": f"guess {n}"}
        )
        statuses.append(status)
    assert statuses == [200] * 5 + [429] * 7
    time.sleep(0.2)  # gunicorn writes the access log after the response
    workers = {line.split()[0] for line in access_log.read_text().splitlines() if " POST " in line}
    assert len(workers) >= 4, "several worker processes should have answered log-in attempts"


def test_the_verification_limit_holds_across_two_workers(server):
    base, access_log = server
    statuses = [Browser(base).request("/verify")[0] for _ in range(VERIFY_LIMIT + 5)]
    assert statuses == [200] * VERIFY_LIMIT + [429] * 5
    time.sleep(0.2)  # gunicorn writes the access log after the response
    lines = access_log.read_text().splitlines()
    workers = {line.split()[0] for line in lines if " GET /verify " in line}
    assert len(workers) >= 3, "several worker processes should have answered"
