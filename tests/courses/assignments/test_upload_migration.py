"""The migration that moves handed-in files from the upload folder to the file store."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import sqlalchemy as sa
from alembic import command
from flask_migrate import downgrade, upgrade

from lms import create_app
from lms.extensions import db
from lms.storage import read_bytes
from tests.certificates.test_pdf_storage_migration import _insert

BEFORE = "5d8b2f1e7a46"
AFTER = "8f3c6a2d9e14"
FILES = {"a" * 32: b"%PDF-1.7 first upload", "b" * 32: b"%PDF-1.7 second upload" * 1000}


def _app(tmp_path):
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}",
        }
    )


def _old_rows(tmp_path, files: dict[str, bytes], sha256s: dict[str, str] | None = None):
    """Rows of the upload table before the migration, and their files in the upload folder."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    folder = tmp_path / "uploads" / "assignments"
    folder.mkdir(parents=True, exist_ok=True)  # the app made it when it started
    # A plain connection, without the app's foreign-key checks: rows of their own.
    plain = sa.create_engine(url, module=sqlite3)
    sa.event.listen(plain, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=OFF"))
    with plain.connect() as conn:
        # The rows they hang on: the table's copy in the upgrade checks foreign keys.
        _insert(conn, "users", id=1, email="trainee@example.org")
        _insert(conn, "courses", id=1, code="AS-1", state="published", pass_mark=50)
        _insert(conn, "assessments", id=1, course_id=1, kind="assignment", pass_percent=50)
        _insert(
            conn,
            "assignments",
            assessment_id=1,
            late_policy="accept",
            late_percent_per_day=0,
            resubmission="graded",
            marking="points",
        )
        _insert(conn, "submissions", id=1, status="submitted", marking_status="draft", days_late=0)
        for name, data in files.items():
            (folder / name).write_bytes(data)
            sha256 = (sha256s or {}).get(name) or hashlib.sha256(data).hexdigest()
            _insert(conn, "submission_files", stored_name=name, size=len(data), sha256=sha256)
        conn.commit()
    plain.dispose()
    return folder


def test_uploads_move_to_the_store_and_back(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE)
        folder = _old_rows(tmp_path, FILES)
        upgrade(revision=AFTER)
        store = app.extensions["storage"]
        rows = db.session.execute(sa.text("SELECT file_key, sha256 FROM submission_files")).all()
        assert {key for key, _ in rows} == {hashlib.sha256(d).hexdigest() for d in FILES.values()}
        for key, sha256 in rows:
            assert key == sha256
            assert read_bytes(store, key) in FILES.values()
        assert list(folder.iterdir()) == []  # moved, not copied
        db.session.remove()

        downgrade(revision=BEFORE)
        rows = db.session.execute(sa.text("SELECT stored_name, sha256 FROM submission_files"))
        back = {name: (folder / name).read_bytes() for name, _sha256 in rows}
        assert sorted(back.values()) == sorted(FILES.values())  # under new random names
        assert set(back) == {path.name for path in folder.iterdir()}
        db.session.remove()
        db.engine.dispose()


def test_a_file_that_no_longer_matches_its_sha256_stops_the_upgrade(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        upgrade(revision=BEFORE)
        folder = _old_rows(tmp_path, {"c" * 32: b"%PDF-1.7 altered"}, {"c" * 32: "0" * 64})
        config = app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError, match="does not match the sha256 recorded"):
            command.upgrade(config, AFTER)  # flask_migrate's would hide the message
        assert (folder / ("c" * 32)).read_bytes() == b"%PDF-1.7 altered"  # left as it was
        db.session.remove()
        db.engine.dispose()
