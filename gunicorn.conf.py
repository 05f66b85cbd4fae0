"""gunicorn settings for the LMS; gunicorn reads this file from the working directory.

``gunicorn wsgi:app`` then starts with these defaults; command-line options
(``-w 4``, ``--bind …``) still override them. Environment variables:

- ``WEB_CONCURRENCY``: worker processes (default: 2 per CPU plus one, at most 12).
- ``GUNICORN_TIMEOUT`` (60 s): a worker silent for longer is killed and replaced;
  PDF rendering of a large batch is the slowest request.
- ``GUNICORN_GRACEFUL_TIMEOUT`` (30 s): on restart, time to finish running requests.
- ``FORWARDED_ALLOW_IPS`` (127.0.0.1,::1): proxies trusted for X-Forwarded-Proto.
- ``PROMETHEUS_MULTIPROC_DIR``: set it (from the shell, to an empty folder) to add up
  every worker's metrics at ``/metrics``; it is emptied here at start.

gunicorn's own access log stays off: the application writes one access line per
request, with its request id (as JSON with ``LMS_LOG_FORMAT=json``).
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_DEFAULT_WORKERS = 12

workers = int(
    os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)
)
# The application warns about per-process rate limits from this number (lms.ratelimit).
os.environ.setdefault("WEB_CONCURRENCY", str(workers))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Replace workers now and then, staggered, so slow leaks never grow without bound.
max_requests = 2000
max_requests_jitter = 200
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Workers' heartbeat files in memory: on a disk-backed /tmp a slow disk gets workers killed.
SHARED_MEMORY = "/dev/shm"  # noqa: S108 - gunicorn's documented choice, not a temporary file
if Path(SHARED_MEMORY).is_dir() and os.access(SHARED_MEMORY, os.W_OK):
    worker_tmp_dir = SHARED_MEMORY


def on_starting(server) -> None:
    """Empty the metrics folder: values of an earlier run must not be added to this one's."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
