"""A process killed between storing a handed-in file and committing its rows.

The file goes to the store first, so the crash leaves an unnamed file (which the
cleanup job removes once it is older than the grace period) and never a row
without its file.
"""

from __future__ import annotations

import sqlalchemy as sa

from lms.extensions import db
from tests.crash import kill_once_stored

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
    app, key = kill_once_stored(tmp_path, CHILD)
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
