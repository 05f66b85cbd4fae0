"""Readiness: /readyz checks the database, Redis when configured, and the instance folder."""

import socket


def closed_port() -> int:
    """Return a local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "instance_folder": "ok", "storage": "ok"},
    }


def test_stopped_redis_makes_the_instance_not_ready(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{closed_port()}/9")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "down"
    assert response.json["checks"]["redis"].startswith("down")
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["instance_folder"] == "ok"


def test_running_redis_is_checked(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/9")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "ok"


def test_read_only_instance_folder_is_reported(app, client, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(app.instance_path) + "/missing/folder")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["instance_folder"].startswith("down")
    assert response.json["checks"]["database"] == "ok"


def test_unreachable_storage_is_reported(app, client, monkeypatch):
    from lms.storage import S3Storage

    store = S3Storage(
        "certificates",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
    )
    store.client.meta.config.retries = {"max_attempts": 1}
    monkeypatch.setitem(app.extensions, "storage", store)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"].startswith("down")
    assert response.json["checks"]["database"] == "ok"
