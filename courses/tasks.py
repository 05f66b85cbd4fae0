"""Periodic upkeep of the courses on Celery beat (``lms jobs periodic`` runs them without)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import current_app

from lms import jobs

logger = logging.getLogger(__name__)

#: Seconds an uploaded, never confirmed enrolment CSV is kept (as the import page does).
CSV_PREVIEW_MAX_AGE = 24 * 3600


@jobs.periodic("courses.expire_quiz_attempts", 5 * 60)
def expire_quiz_attempts() -> int:
    """Close and grade quiz attempts left past their deadline (``lms quizzes expire``)."""
    from courses.assessments.quizzes.operations import expire_all_due

    count = expire_all_due()
    jobs.commit()
    return count


def remove_old_files(folder: Path, pattern: str, max_age: float) -> int:
    """Delete files in ``folder`` matching ``pattern`` older than ``max_age`` seconds."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for path in folder.glob(pattern):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another worker removed it first
    return removed


@jobs.periodic("courses.clean_stale_files", 60 * 60)
def clean_stale_files() -> dict[str, int]:
    """Remove enrolment CSV previews nobody confirmed and files a killed process left.

    That is partial uploads, and stored files (certificate PDFs, assignment uploads,
    scheme images) that no row names, written by a process that died before its row
    committed.
    """
    from courses.assessments.assignments import storage
    from lms import storage as file_store

    previews = remove_old_files(
        Path(current_app.instance_path) / "enrolment-imports", "*.json", CSV_PREVIEW_MAX_AGE
    )
    parts = storage.remove_stale_parts(storage.upload_dir())
    orphans = file_store.remove_orphans()
    if previews:
        logger.info("removed %s stale enrolment CSV previews", previews)
    if orphans:
        logger.info("removed %s stored files no row names", orphans)
    return {"csv_previews": previews, "partial_uploads": parts, "stored_orphans": orphans}
