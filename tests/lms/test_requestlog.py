"""Request ids and JSON log lines: every line of a request names it, the response echoes it."""

import io
import json
import logging

import pytest

from lms import requestlog


@pytest.fixture
def json_log(app):
    """Collect JSON log lines as the LMS_LOG_FORMAT=json handler writes them; parse them back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(requestlog.JsonFormatter())
    handler.addFilter(requestlog.RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_access_line_carries_request_fields(client, json_log):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-42.a:b"})
    assert response.headers["X-Request-ID"] == "edge-42.a:b"
    (access,) = [line for line in json_log() if line["logger"] == "lms.access"]
    assert access["request_id"] == "edge-42.a:b"
    assert access["method"] == "GET"
    assert access["path"] == "/healthz"
    assert access["status"] == 200
    assert access["level"] == "INFO"
    assert access["message"] == "GET /healthz 200"
    assert isinstance(access["duration_ms"], float)
    assert access["duration_ms"] >= 0
    assert access["time"].endswith("+00:00")


@pytest.mark.parametrize(
    "header",
    ["", "a" * 65, "bad id", "x;Set-Cookie=a", '{"json": 1}', "<script>", "ünïcode"],
)
def test_unsafe_request_id_is_replaced(client, json_log, header):
    response = client.get("/healthz", headers={"X-Request-ID": header})
    generated = response.headers["X-Request-ID"]
    assert generated != header
    assert len(generated) == 32
    assert generated.isalnum()
    (access,) = [line for line in json_log() if line["logger"] == "lms.access"]
    assert access["request_id"] == generated


def test_every_line_of_a_request_names_it(app, client, json_log, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/9")
    response = client.get("/readyz")
    request_id = response.headers["X-Request-ID"]
    lines = json_log()
    warning = next(line for line in lines if line["logger"] == "lms.health")
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == request_id
    assert warning["path"] == "/readyz"
    assert "redis" in warning["message"]
    assert "status" not in warning  # only the access line has the response fields
    assert {line["request_id"] for line in lines} == {request_id}


def test_requests_get_different_ids(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second


def test_json_format_is_switched_on_by_config(tmp_path):
    from lms import create_app

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "json"})
        create_app({"INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "json"})
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1  # a second app replaces the first app's handler
        assert isinstance(added[0].formatter, requestlog.JsonFormatter)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def test_text_format_leaves_logging_alone(tmp_path):
    from lms import create_app

    root = logging.getLogger()
    before = list(root.handlers)
    create_app({"INSTANCE_PATH": str(tmp_path)})
    assert root.handlers == before
