"""Kill a child process once it has stored a file, before it commits the rows naming it.

The child script (run with ``python -c``) writes the stored file's key to the path in
``CRASH_MARKER`` and then stalls; the test SIGKILLs it there and opens the site it left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from lms import create_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "crash-test-secret-key-" * 3


def kill_once_stored(tmp_path: Path, script: str) -> tuple[Flask, str]:
    """Run ``script`` on a fresh SQLite site, kill it once it stored a file.

    Return an app on the site it left behind and the stored file's key.
    """
    instance, marker = tmp_path / "instance", tmp_path / "written"
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    env = {
        **os.environ,
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_DATABASE_URL": url,
        "LMS_SECRET_KEY": SECRET,
        "LMS_BASE_URL": "http://localhost",
        "CRASH_MARKER": str(marker),
        "PYTHONPATH": str(ROOT),
    }
    child = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() or not marker.read_text():
            assert child.poll() is None, child.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the child never stored the file"
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
        }
    )
    return app, marker.read_text()
