"""Secrets that cannot be empty: the secret key file, written whole or not at all."""

from __future__ import annotations

import errno
import io
import os
from unittest import mock

import pytest
import sqlalchemy as sa

from lms import MIN_SECRET_KEY_LENGTH, ConfigurationError, create_app
from lms.extensions import db
from lms.files import write_secret_file


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize("content", ["", "\n", "abc123\n", "x" * (MIN_SECRET_KEY_LENGTH - 1)])
def test_an_empty_or_short_secret_key_file_is_refused(tmp_path, content):
    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    message = str(refused.value)
    assert str(tmp_path / "secret_key") in message  # says which file
    assert "empty" in message if not content.strip() else "too short" in message
    assert (tmp_path / "secret_key").read_text() == content  # and changes nothing


@pytest.mark.parametrize("key", ["", "short"])
def test_an_empty_or_short_configured_key_is_refused(tmp_path, monkeypatch, key):
    monkeypatch.setenv("LMS_SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match="LMS_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


def test_a_full_disk_on_first_start_leaves_no_key_file_and_a_clear_message(tmp_path):
    class FullDisk(io.FileIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    full = mock.patch("os.fdopen", lambda fd, mode: FullDisk(fd, "wb"))
    with full, pytest.raises(ConfigurationError) as refused:
        create_app({"INSTANCE_PATH": str(tmp_path)})
    assert "No space left on device" in str(refused.value)
    assert os.listdir(tmp_path) == []  # no empty key, no temporary file

    app = create_app({"INSTANCE_PATH": str(tmp_path)})  # space freed: the next start works
    assert len(app.secret_key) == 64
    assert app.secret_key == (tmp_path / "secret_key").read_text()


def test_write_secret_file_is_private_and_never_replaces(tmp_path):
    path = tmp_path / "signing"
    write_secret_file(path, b"first")
    assert path.read_bytes() == b"first"
    assert _mode(path) == 0o600
    with pytest.raises(FileExistsError):
        write_secret_file(path, b"second")
    assert path.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["signing"]  # no temporary file left


def test_the_instance_folder_and_sqlite_database_are_private(tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
        db.engine.dispose()
    assert _mode(instance) == 0o700
    assert _mode(instance / "lms.sqlite3") == 0o600
    assert _mode(instance / "secret_key") == 0o600
    for extra in ("lms.sqlite3-wal", "lms.sqlite3-shm"):
        if (instance / extra).exists():
            assert _mode(instance / extra) == 0o600
