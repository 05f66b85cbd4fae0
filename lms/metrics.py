"""Prometheus metrics at ``/metrics``: request latency and certificate counts.

The page is off unless ``LMS_METRICS_TOKEN`` is set (404), and then needs
``Authorization: Bearer <token>`` (401 otherwise): counts of issued
certificates are not for everyone. Under gunicorn each worker is its own
process; with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty folder, emptied at
every start), prometheus_client keeps every worker's values in files there and
the page adds them up (``MultiProcessCollector``), so any worker answers for
all. ``gunicorn.conf.py`` marks exited workers dead.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "lms_request_duration_seconds",
    "Time to answer a request, by endpoint and status class.",
    ["endpoint", "status_class"],
)
CERTIFICATES_ISSUED = Counter("lms_certificates_issued", "Certificates issued.")
CERTIFICATES_VERIFIED = Counter(
    "lms_certificates_verified",
    "Certificates verified (by code, upload or API), by outcome.",
    ["valid"],
)
JOBS = Counter("lms_jobs", "Background jobs run, by task and outcome.", ["task", "outcome"])
JOB_DURATION = Histogram("lms_job_duration_seconds", "Time a background job ran.", ["task"])


def registry() -> CollectorRegistry:
    """Return the registry to expose: every worker's files in multiprocess mode, else this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def metrics_page() -> Response:
    """Answer with the exposition text, to a caller that presents the configured token."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), str(token).encode()
    ):
        return Response(
            "A valid bearer token is required.\n",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    return Response(generate_latest(registry()), headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    """Add ``/metrics`` and time every request by its endpoint (not its raw path).

    Uses the start time ``lms.requestlog`` records for the request.
    """
    app.add_url_rule("/metrics", "metrics", metrics_page, methods=["GET"])

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
            REQUEST_LATENCY.labels(endpoint, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started
            )
        return response
