"""Issuing and verifying certificates show in the Prometheus counters at /metrics."""

from prometheus_client.parser import text_string_to_metric_families

from certificates import operations
from certificates.verify.service import verify_code

TOKEN = "metrics-token-for-tests"


def scrape(client) -> dict:
    """Return ``{(sample name, labels): value}`` parsed back from /metrics."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_issuing_and_verifying_are_counted(app, client, trainee, world, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    issued = ("lms_certificates_issued_total", ())
    valid = ("lms_certificates_verified_total", (("valid", "true"),))
    before = scrape(client)
    cert = operations.issue_certificate(world.scheme, trainee, actor=world.certifier)
    assert verify_code(cert.code).valid
    assert client.get(f"/verify/{cert.code}").status_code == 200
    after = scrape(client)
    assert after[issued] - before.get(issued, 0) == 1
    assert after[valid] - before.get(valid, 0) == 2
