"""/metrics: Prometheus text behind a bearer token; request latency by endpoint."""

import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)


def scrape(client) -> dict:
    """Return ``{(sample name, sorted labels): value}`` parsed back from /metrics."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_are_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_wrong_token_is_refused(client, metrics_on, header):
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "lms_" not in response.get_data(as_text=True)


def test_latency_is_labelled_by_endpoint_and_status_class(client, metrics_on):
    key = (
        "lms_request_duration_seconds_count",
        (("endpoint", "main.health"), ("status_class", "2xx")),
    )
    missing = (
        "lms_request_duration_seconds_count",
        (("endpoint", "unmatched"), ("status_class", "4xx")),
    )
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page/12345")
    after = scrape(client)
    assert after[key] - before.get(key, 0) == 2
    assert after[missing] - before.get(missing, 0) == 1
    assert not any("12345" in str(labels) for _, labels in after)


def test_workers_values_are_added_up_in_multiprocess_mode(tmp_path):
    """Two processes count into PROMETHEUS_MULTIPROC_DIR; a third one's page shows the sum."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    count = "from lms.metrics import CERTIFICATES_ISSUED; CERTIFICATES_ISSUED.inc(3)"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True)  # noqa: S603
    show = (
        "from prometheus_client import generate_latest; from lms.metrics import registry; "
        "print(generate_latest(registry()).decode())"
    )
    text = subprocess.run(  # noqa: S603
        [sys.executable, "-c", show], env=env, check=True, capture_output=True, text=True
    ).stdout
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples["lms_certificates_issued_total"] == 6
