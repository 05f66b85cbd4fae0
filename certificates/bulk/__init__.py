"""Bulk issuance as a background job, with a progress page, cancel and resume."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from certificates import tasks  # noqa: F401 - declares the periodic certificate jobs
    from certificates.bulk import tasks as bulk_tasks  # noqa: F401 - declares the job
    from certificates.bulk.views import bp

    app.register_blueprint(bp)
