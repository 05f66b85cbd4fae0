"""A process killed between storing a handed-in file and committing its rows.

The file goes to the store first, so the crash leaves an unnamed file (which the
cleanup job removes once it is older than the grace period) and never a row
without its file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from lms import create_app
from lms.extensions import db

ROOT = Path(__file__).resolve().parents[3]

# Runs in the child: a trainee hands in a file, and the process stops for good right
# after the file is in the store and before the submission's rows commit.
CHILD = r"""
import os, sys, time
from lms import create_app
from lms.extensions import db

app = create_app()
with app.app_context():
    from tests.courses.assignments.conftest import PDF
    from tests.courses.assignments.test_file_store import seed_submission

    db.create_all()

    def stall(key):
        with open(os.environ["CRASH_MARKER"], "w") as marker:
            marker.write(key)
        time.sleep(600)  # killed here: the file is stored, the rows are not committed

    seed_submission(PDF + b"handed in just before the crash", before_commit=stall)
    sys.exit("the submission committed: the process was not killed")
"""


def test_killed_between_file_and_rows_leaves_only_an_orphan(tmp_path):
    instance, marker = tmp_path / "instance", tmp_path / "written"
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    env = {
        **os.environ,
        "LMS_INSTANCE_PATH": str(instance),
        "LMS_DATABASE_URL": url,
        "LMS_SECRET_KEY": "crash-test-secret-key-" * 3,
        "LMS_BASE_URL": "http://localhost",
        "CRASH_MARKER": str(marker),
        "PYTHONPATH": str(ROOT),
    }
    child = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", CHILD],
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
    key = marker.read_text()

    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "crash-test-secret-key-" * 3,
        }
    )
    with app.app_context():
        from courses.assessments.assignments.models import Submission, SubmissionFile
        from courses.assessments.assignments.storage import remove_stale_parts, upload_dir
        from lms.storage import remove_orphans, storage

        # No row without its file: no row at all; the file is there, named by nothing.
        for model in (Submission, SubmissionFile):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
        assert storage().exists(key)
        # A young file may belong to a request still under way: the cleanup keeps it.
        result = app.test_cli_runner().invoke(args=["jobs", "periodic"])
        assert result.exit_code == 0, result.output
        assert "'stored_orphans': 0" in result.output
        assert storage().exists(key)
        # Past the grace period it goes, as does the copy the upload was checked in.
        assert remove_orphans(grace_seconds=0) == 1
        assert not storage().exists(key)
        checked = list(upload_dir().glob("*.part"))
        assert len(checked) == 1
        assert remove_stale_parts(upload_dir(), older_than=0) == 1
        db.session.remove()
        db.engine.dispose()
