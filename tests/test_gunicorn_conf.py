"""gunicorn.conf.py: real workers add up their metrics and write JSON access lines.

Starts ``gunicorn -w 2`` from the repository folder (where gunicorn reads the
configuration) with PROMETHEUS_MULTIPROC_DIR and LMS_LOG_FORMAT=json.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "gunicorn-metrics-token"
REQUESTS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    """GET a URL of the local server; return status and body."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local http
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_two_workers_share_metrics_and_log_json(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.update(
        LMS_INSTANCE_PATH=str(tmp_path / "instance"),
        LMS_SECRET_KEY="gunicorn-test-secret-" * 2,
        LMS_METRICS_TOKEN=TOKEN,
        LMS_LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        WEB_CONCURRENCY="2",
        GUNICORN_GRACEFUL_TIMEOUT="2",
    )
    port = _free_port()
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [sys.executable, "-m", "gunicorn", f"--bind=127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
            ids = []
            for n in range(REQUESTS):
                request = urllib.request.Request(  # noqa: S310 - local http
                    base + "/healthz", headers={"X-Request-ID": f"t-{n}"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    ids.append(response.headers["X-Request-ID"])
            assert ids == [f"t-{n}" for n in range(REQUESTS)]
            status, text = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    health = (
        "lms_request_duration_seconds_count",
        (("endpoint", "main.health"), ("status_class", "2xx")),
    )
    # Every request counted once, whichever of the two workers answered it (plus the probes).
    assert samples[health] >= REQUESTS
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [
        line for line in lines if line["logger"] == "lms.access" and line["path"] == "/healthz"
    ]
    answered = {line["request_id"] for line in access}
    assert {f"t-{n}" for n in range(REQUESTS)} <= answered
    assert samples[health] == len(access)
    assert not (metrics_dir / "counter_1.db").exists()  # emptied at start
