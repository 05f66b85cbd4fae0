"""The file store: the same behaviour from the instance folder and from an S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import socket

import pytest

from lms import storage as storage_module
from lms.storage import LocalStorage, S3Storage, StorageError, TooLarge


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    """A real S3 API (moto's server) on a free local port, for the whole module."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_store(endpoint: str, bucket: str, prefix: str = "pdfs/") -> S3Storage:
    store = S3Storage(
        bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
    )
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "storage")
    endpoint = request.getfixturevalue("moto_endpoint")
    return s3_store(endpoint, f"test-{request.node.name.split('[')[0][-40:].replace('_', '-')}")


def test_put_returns_the_content_address_and_reads_back(store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    key = store.put(io.BytesIO(data))
    assert key == hashlib.sha256(data).hexdigest()
    assert store.exists(key)
    with store.open(key) as stream:
        assert stream.read() == data
    assert storage_module.read_bytes(store, key) == data
    with storage_module.open_verified(store, key) as stream:
        assert stream.read() == data


def test_same_content_twice_is_one_object(store):
    first = store.put(io.BytesIO(b"same bytes"))
    second = store.put(io.BytesIO(b"same bytes"))
    assert first == second
    assert [key for key, _ in store.listing()] == [first]


def test_size_limit_stores_nothing(store):
    with pytest.raises(TooLarge):
        store.put(io.BytesIO(b"x" * 1001), max_size=1000)
    assert list(store.listing()) == []
    key = store.put(io.BytesIO(b"x" * 1000), max_size=1000)
    assert store.exists(key)


def test_delete_and_missing(store):
    key = store.put(io.BytesIO(b"to delete"))
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(StorageError):
        store.open(key)
    store.delete(key)  # deleting twice is harmless


def test_keys_are_checked(store):
    with pytest.raises(StorageError):
        store.exists("../secret_key")


def test_orphans_respect_the_grace_period(store):
    named = store.put(io.BytesIO(b"named by a row"))
    unnamed = store.put(io.BytesIO(b"named by nothing"))
    assert storage_module.orphans(store, {named}, grace_seconds=3600) == []
    assert storage_module.orphans(store, {named}, grace_seconds=-60) == [unnamed]


def test_altered_object_fails_verification(tmp_path):
    store = LocalStorage(tmp_path)
    key = store.put(io.BytesIO(b"original"))
    path = store._path(key)
    path.write_bytes(b"tampered")
    with pytest.raises(StorageError):
        storage_module.read_bytes(store, key)
    with pytest.raises(StorageError), storage_module.open_verified(store, key) as stream:
        stream.read()


def test_local_write_leaves_no_partial_file_under_a_key(tmp_path):
    store = LocalStorage(tmp_path)

    class Failing(io.RawIOBase):
        sent = 0

        def readable(self):
            return True

        def read(self, size=-1):
            if self.sent:
                raise OSError("connection reset")
            self.sent += 1
            return b"first chunk"

    with pytest.raises(OSError, match="connection reset"):
        store.put(Failing())
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
    assert list(store.listing()) == []


def test_s3_prefix_keeps_other_objects_apart(moto_endpoint):
    store = s3_store(moto_endpoint, "shared-bucket", prefix="lms/")
    store.client.put_object(Bucket="shared-bucket", Key="other/file.txt", Body=b"not ours")
    key = store.put(io.BytesIO(b"ours"))
    assert [k for k, _ in store.listing()] == [key]
    listed = store.client.list_objects_v2(Bucket="shared-bucket")["Contents"]
    assert {item["Key"] for item in listed} == {"other/file.txt", f"lms/{key}"}


def test_factory_default_is_the_instance_folder(app):
    store = app.extensions["storage"]
    assert isinstance(store, LocalStorage)
    assert str(store.root).startswith(str(app.instance_path))


def test_factory_builds_s3_from_config(app, moto_endpoint, monkeypatch):
    from lms.storage import from_config

    for name, value in {
        "STORAGE_BACKEND": "s3",
        "STORAGE_S3_BUCKET": "from-config",
        "STORAGE_S3_PREFIX": "p/",
        "STORAGE_S3_ENDPOINT_URL": moto_endpoint,
        "STORAGE_S3_REGION": "us-east-1",
        "STORAGE_S3_ACCESS_KEY_ID": "test",
        "STORAGE_S3_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    store = from_config(app)
    assert isinstance(store, S3Storage)
    store.client.create_bucket(Bucket="from-config")
    key = store.put(io.BytesIO(b"configured"))
    assert storage_module.read_bytes(store, key) == b"configured"
    store.check()


def test_factory_refuses_an_unknown_backend(app, monkeypatch):
    from lms.storage import from_config

    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "ftp")
    with pytest.raises(StorageError):
        from_config(app)
