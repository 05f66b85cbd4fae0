"""A site with real Celery workers: Redis as broker, worker processes started and killed.

The site has its own database (an SQLite file, or the PostgreSQL test database
emptied afterwards) because the workers are other processes: they only see
committed rows, not the rolled-back transaction of the other tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from lms import create_app
from lms.extensions import db
from tests.certificates.conftest import (  # noqa: F401 - fixtures for the in-process tests
    make_course_with_exam,
    make_scheme,
    qualify,
    world,
)
from tests.conftest import TEST_DATABASE_URL, Client

REDIS_URL = os.environ.get("LMS_TEST_CELERY_URL", "redis://127.0.0.1:6379/4")
LMS = str(Path(sys.executable).with_name("lms"))
SECRET = "worker-test-secret-key-" * 2


@dataclass
class Site:
    app: object
    env: dict[str, str]
    folder: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen:
        """Start ``lms worker`` (one process, no pool) logging to ``<name>.log``."""
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(  # noqa: S603 - our own lms command, fixed arguments
            [
                LMS,
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={name}@%h",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")


def wait_for(check: Callable[[], object], *, timeout: float = 180, what: str = "") -> object:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what or check}")


@pytest.fixture
def make_site(_app, tmp_path):
    """Build the site: ``make_site(MAIL_SERVER=..., ...)`` adds settings (app and workers)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    made: list[Site] = []

    def make(**settings) -> Site:
        url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'site.sqlite3'}"
        config = {
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "CELERY_BROKER_URL": REDIS_URL,
            # A killed worker's job comes back after this many seconds.
            "CELERY_VISIBILITY_TIMEOUT": 6,
            "BULK_ISSUE_LEASE_SECONDS": 6,
            "BASE_URL": "http://localhost",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **settings,
        }
        instance = tmp_path / "instance"
        app = create_app(
            {
                **config,
                "TESTING": True,
                "INSTANCE_PATH": str(instance),
                "RATELIMIT_STORAGE_URI": "memory://",
                "RATELIMIT_MEMORY_ALLOWED": True,
            }
        )
        app.test_client_class = Client
        with app.app_context():
            db.create_all()
        # JSON log lines from the workers, so a test can find the request id in them.
        env = {**os.environ, "LMS_INSTANCE_PATH": str(instance), "LMS_LOG_FORMAT": "json"}
        # LMS_* values are read as JSON when they parse: false, not False.
        env.update(
            {
                f"LMS_{key}": json.dumps(value) if isinstance(value, bool) else str(value)
                for key, value in config.items()
            }
        )
        site = Site(app, env, tmp_path)
        made.append(site)
        return site

    yield make
    for site in made:
        for process in site.workers:
            site.kill(process)
        with site.app.app_context():
            db.session.remove()
            if TEST_DATABASE_URL:
                with db.engine.begin() as conn:
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
            for engine in db.engines.values():
                engine.dispose()
    redis.Redis.from_url(REDIS_URL).flushdb()
