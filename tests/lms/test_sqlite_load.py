"""Under gunicorn with 4 workers on one SQLite file, reads, writes and uploads never lock.

Verification uploads (genuine and hostile) take no write lock, so they cannot make the
site's writes fail with "database is locked"; writes wait their turn. SQLite only: the
PostgreSQL run skips it, as it runs once.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load-test-password-1"
SECONDS = 8
THREADS = 8
TIMEOUT = 120

pytestmark = pytest.mark.skipif(
    TEST_DATABASE_URL is not None, reason="SQLite only; runs once, in the SQLite run"
)

PREPARE = """
import json, os, sys
sys.path.insert(0, "bench")
import bench_verify
from lms import create_app
from lms.auth.operations import create_user
from lms.extensions import db
from certificates.models import Certificate

code = bench_verify.prepare(dict(os.environ))
app = create_app()
with app.app_context():
    create_user(email="writer@example.org", name="Writer", password=sys.argv[1])
    db.session.commit()
    credential = db.session.query(Certificate).filter_by(code=code).one().credential
print(json.dumps({"code": code, "credential": credential}))
"""


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_verify", ROOT / "bench" / "bench_verify.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csrf(session, url: str) -> str:
    page = session.get(url, timeout=TIMEOUT).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_mixed_load_gives_no_lock_errors_and_no_5xx(tmp_path):
    bench = _bench()
    port = bench.free_port()
    env = bench.lms_environment(tmp_path, port)
    env["LMS_VERIFY_DOCUMENT_RATE_LIMIT"] = "1000000 per minute"
    prepared = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", PREPARE, PASSWORD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    setup = json.loads(prepared.stdout.strip().splitlines()[-1])
    genuine = json.dumps(setup["credential"]).encode()
    hostile = json.loads(genuine)
    hostile["credentialSubject"]["result"][0]["alignment"] = [
        {"type": ["Alignment"], "targetName": "x", "targetUrl": "https://e.example/"}
    ] * 20
    hostile = json.dumps(hostile).encode()
    base = f"http://{bench.HOST}:{port}"
    process = bench.serve("wsgi:app", port, 4, ROOT, env)
    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def worker(number: int) -> None:
        session = requests.Session()
        writer = number % 2 == 0
        if writer:
            token = _csrf(session, f"{base}/login")
            session.post(
                f"{base}/login",
                data={"csrf_token": token, "email": "writer@example.org", "password": PASSWORD},
                timeout=TIMEOUT,
            )
        deadline = time.monotonic() + SECONDS
        turn = 0
        while time.monotonic() < deadline:
            turn += 1
            kind = ("read", "upload", "hostile", "write" if writer else "read")[turn % 4]
            try:
                response = send(session, kind, turn)
            except requests.RequestException as exc:  # a timeout is a failure too
                outcome = (kind, 0, repr(exc))
            else:
                outcome = (kind, response.status_code, response.text[:2000])
            with lock:
                outcomes.append(outcome)

    def send(session, kind: str, turn: int):
        if kind == "read":
            return session.get(f"{base}/verify/{setup['code']}", timeout=TIMEOUT)
        if kind in ("upload", "hostile"):
            return session.post(
                f"{base}/api/v1/verify",
                data=genuine if kind == "upload" else hostile,
                headers={"Content-Type": "application/json"},
                timeout=TIMEOUT,
            )
        token = _csrf(session, f"{base}/courses")
        return session.post(
            f"{base}/language",
            data={"csrf_token": token, "language": ("bg", "en")[turn % 8 // 4], "next": "/"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
    expected = {"read": 200, "upload": 200, "hostile": 422, "write": 302}
    wrong = [(kind, status) for kind, status, _ in outcomes if status != expected[kind]]
    locked = [kind for kind, _, body in outcomes if "database is locked" in body]
    assert {kind for kind, _, _ in outcomes} == set(expected)
    assert wrong == []
    assert locked == []
    assert len(outcomes) > 40
