"""Periodic certificate upkeep on Celery beat (``lms jobs periodic`` runs them without)."""

from __future__ import annotations

from lms import jobs


@jobs.periodic("certificates.expire", 60 * 60)
def expire() -> int:
    """Mark certificates whose validity ended as expired."""
    from certificates.operations import expire_certificates

    count = expire_certificates()
    jobs.commit()
    return count


@jobs.periodic("certificates.refresh_status_lists", 30 * 60)
def refresh_status_lists() -> int:
    """Re-sign the status lists before their signed copies lapse."""
    from certificates.operations import refresh_status_lists as refresh

    count = refresh()
    jobs.commit()
    return count
