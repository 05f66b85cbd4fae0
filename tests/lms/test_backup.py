"""``lms backup`` and ``lms restore``: a whole instance comes back, certificates still verify.

Runs on the engine of LMS_TEST_DATABASE_URL: on PostgreSQL each test creates
(and drops) scratch databases next to the test database, because pg_dump only
sees committed data and a restore needs an empty database.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from contextlib import contextmanager
from unittest import mock

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lms import create_app
from lms.extensions import db
from tests.conftest import TEST_DATABASE_URL

BASE_URL = "http://lms.example.org"


@contextmanager
def scratch_databases(folder):
    """Yield ``make(name)``: the URL of a new, empty database, dropped afterwards."""
    created: list[str] = []
    admin = None
    if TEST_DATABASE_URL:
        base = make_url(TEST_DATABASE_URL)
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def make(name: str) -> str:
        if admin is None:
            return f"sqlite:///{folder / name}.sqlite3"
        database = f"{base.database}_{name}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        created.append(database)
        return base.set(database=database).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        if admin is not None:
            with admin.connect() as conn:
                for database in created:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.dispose()


@pytest.fixture
def database_url(tmp_path):
    with scratch_databases(tmp_path) as make:
        yield make


@contextmanager
def instance_app(instance, url, **config):
    """Build an app on ``instance`` and ``url`` as ``lms`` would; dispose its engine after."""
    app = create_app(
        {
            "TESTING": True,
            "BASE_URL": BASE_URL,  # credentials name the issuer by it
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_MEMORY_ALLOWED": True,
            **config,
        }
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def run(app, *args):
    """Run an ``lms`` command on ``app``; return the click result."""
    return app.test_cli_runner().invoke(args=list(args))


def verify_all(app) -> dict[str, tuple[bool, str]]:
    """Verify every certificate of ``app`` by its code: ``{code: (valid, status)}``.

    Each certificate's PDF is read from the file store too, which checks its sha256,
    and must carry the certificate's credential.
    """
    from certificates.models import Certificate
    from certificates.pdf import extract_credential
    from certificates.verify.service import verify_code

    with app.app_context():
        certificates = db.session.scalars(sa.select(Certificate)).all()
        reports = {cert.code: verify_code(cert.code) for cert in certificates}
        for cert in certificates:
            assert json.loads(extract_credential(cert.pdf)) == cert.credential
        db.session.remove()
    return {code: (report.valid, report.status) for code, report in reports.items()}


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """An instance with demo certificates, its archive, and its verification results."""
    folder = tmp_path_factory.mktemp("backup")
    with (
        mock.patch.dict(os.environ, {"LMS_BASE_URL": BASE_URL}),  # "demo" reads it
        scratch_databases(folder) as make,
        instance_app(folder / "source", make("source")) as source,
    ):
        result = run(source, "demo", "--no-serve")
        assert result.exit_code == 0, result.output
        before = verify_all(source)
        archive = folder / "backup.tar.gz"
        result = run(source, "backup", str(archive))
        assert result.exit_code == 0, result.output
    return archive, before, folder / "source"


def test_restored_instance_verifies_every_certificate(tmp_path, database_url, backed_up):
    archive, before, source = backed_up
    assert (True, "active") in before.values()
    assert (False, "revoked") in before.values()

    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert "instance/secret_key" in names
    assert any(name.startswith("instance/keys/") for name in names)
    # The certificates' PDFs, from the file store in the instance folder.
    assert any(name.startswith("instance/storage/") for name in names)
    assert not any(name.endswith(("lms.sqlite3", ".tmp")) for name in names if "instance/" in name)

    target, url = tmp_path / "restored", database_url("restore")
    with instance_app(target, url) as restored:
        result = run(restored, "restore", str(archive))
        assert result.exit_code == 0, result.output
    assert (target / "secret_key").read_text() == (source / "secret_key").read_text()
    with instance_app(target, url) as app:  # a new process: reads the restored files
        assert verify_all(app) == before
        client = app.test_client()
        code = next(code for code, (valid, _) in before.items() if valid)
        page = client.get(f"/verify/{code}")
        assert page.status_code == 200


def test_restore_refuses_a_database_that_is_not_empty(tmp_path, database_url, backed_up):
    archive = backed_up[0]
    with instance_app(tmp_path / "busy", database_url("busy")) as busy:
        with busy.app_context():
            db.create_all()
        result = run(busy, "restore", str(archive))
    assert result.exit_code != 0
    assert "restore only into an empty database" in result.output
    assert not (tmp_path / "busy" / "keys").exists()


def test_restore_refuses_an_instance_folder_with_files(tmp_path, database_url, backed_up):
    archive = backed_up[0]
    (tmp_path / "used" / "keys").mkdir(parents=True)
    (tmp_path / "used" / "keys" / "z6Mkold").write_text("old key\n")
    with instance_app(tmp_path / "used", database_url("used")) as used:
        result = run(used, "restore", str(archive))
        assert result.exit_code != 0
        assert "restore only into an empty instance folder" in result.output
        with used.app_context():
            assert sa.inspect(db.engine).get_table_names() == []


def tampered(archive, tmp_path, change):
    """Copy ``archive`` with ``change(name, data) -> data`` applied to each member."""
    copy = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(copy, "w:gz") as target:
        for info in source:
            data = change(info.name, source.extractfile(info).read())
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return copy


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda name, data: data + b"x" if name == "instance/secret_key" else data,
            id="altered-key-file",
        ),
        pytest.param(
            lambda name, data: (
                data[:-1] + bytes([data[-1] ^ 1]) if name.startswith("database/") else data
            ),
            id="altered-database",
        ),
        pytest.param(
            lambda name, data: (
                json.dumps({**json.loads(data), "files": {}}).encode()
                if name == "manifest.json"
                else data
            ),
            id="manifest-missing-files",
        ),
    ],
)
def test_tampered_archive_is_refused_before_anything_is_written(
    tmp_path, database_url, backed_up, change
):
    archive = backed_up[0]
    bad = tampered(archive, tmp_path, change)
    target = tmp_path / "target"
    with instance_app(target, database_url("target")) as app:
        key_before = (target / "secret_key").read_text()
        result = run(app, "restore", str(bad))
        assert result.exit_code != 0
        assert "altered" in result.output or "manifest lists" in result.output
        with app.app_context():
            assert sa.inspect(db.engine).get_table_names() == []
    assert (target / "secret_key").read_text() == key_before
    assert not (target / "keys").exists()


def test_truncated_archive_is_refused(tmp_path, database_url, backed_up):
    archive = backed_up[0]
    bad = tmp_path / "truncated.tar.gz"
    bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with instance_app(tmp_path / "target", database_url("target")) as app:
        result = run(app, "restore", str(bad))
    assert result.exit_code != 0
    assert "cannot be read as a backup archive" in result.output


def test_files_in_s3_are_backed_up_and_restored(tmp_path, database_url):
    """With the files in an S3 bucket, the archive carries them and restore puts them back."""
    from moto.server import ThreadedMotoServer

    from tests.lms.test_storage import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        s3 = {
            "STORAGE_BACKEND": "s3",
            "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "STORAGE_S3_REGION": "us-east-1",
            "STORAGE_S3_ACCESS_KEY_ID": "test",
            "STORAGE_S3_SECRET_ACCESS_KEY": "test",
            "STORAGE_S3_PREFIX": "lms/",
        }
        archive = tmp_path / "backup.tar.gz"
        with (
            mock.patch.dict(os.environ, {"LMS_BASE_URL": BASE_URL}),
            instance_app(
                tmp_path / "source", database_url("s3source"), STORAGE_S3_BUCKET="source", **s3
            ) as source,
        ):
            source.extensions["storage"].client.create_bucket(Bucket="source")
            result = run(source, "demo", "--no-serve")
            assert result.exit_code == 0, result.output
            before = verify_all(source)
            assert not (tmp_path / "source" / "storage").exists()  # the PDFs are in the bucket
            result = run(source, "backup", str(archive))
            assert result.exit_code == 0, result.output
        with tarfile.open(archive) as tar:
            stored = [name for name in tar.getnames() if name.startswith("stored/")]
        assert stored

        url = database_url("s3target")
        with instance_app(tmp_path / "target", url, STORAGE_S3_BUCKET="target", **s3) as target:
            target.extensions["storage"].client.create_bucket(Bucket="target")
            result = run(target, "restore", str(archive))
            assert result.exit_code == 0, result.output
            keys = {key for key, _ in target.extensions["storage"].listing()}
            assert {f"stored/{key}" for key in keys} == set(stored)
        with instance_app(tmp_path / "target", url, STORAGE_S3_BUCKET="target", **s3) as app:
            assert verify_all(app) == before
    finally:
        server.stop()
