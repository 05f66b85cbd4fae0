"""Start, cancel and resume bulk issuance jobs, built on ``start_batch``/``issue_batch``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from certificates import operations as ops
from certificates import queries
from certificates.bulk.models import BulkIssueJob
from certificates.models import Scheme
from lms import audit, jobs
from lms.db import affected_rows
from lms.extensions import db
from lms.models import User

DEFAULT_LEASE_SECONDS = 300


def lease_seconds() -> int:
    return int(current_app.config.get("BULK_ISSUE_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)


def job_for_batch(batch_id: int) -> BulkIssueJob | None:
    return db.session.scalar(sa.select(BulkIssueJob).where(BulkIssueJob.batch_id == batch_id))


def start(scheme: Scheme, *, actor: User | None, chunk_size: int | None = None) -> BulkIssueJob:
    """Start (or take up) the scheme's bulk run and send its first chunk to the workers."""
    chunk_size = chunk_size or int(current_app.config.get("BULK_ISSUE_CHUNK_SIZE") or 25)
    batch = queries.running_batch(scheme) or ops.start_batch(scheme, actor=actor)
    job = job_for_batch(batch.id)
    if job is None:
        job = BulkIssueJob(batch=batch, chunk_size=chunk_size)
        db.session.add(job)
    job.state = "running"
    job.error = ""
    db.session.flush()
    audit.record("certificate.bulk_job.start", job, actor=actor, batch=batch.id)
    _send(job)
    return job


def cancel(job: BulkIssueJob, *, actor: User | None) -> BulkIssueJob:
    """Stop the job after the chunk in progress; what was issued stays issued."""
    if job.state == "running":
        job.state = "cancelled"
        db.session.flush()
        audit.record("certificate.bulk_job.cancel", job, actor=actor, at=job.batch.position)
    return job


def resume(job: BulkIssueJob, *, actor: User | None) -> BulkIssueJob:
    """Carry a cancelled (or stalled) job on from where its batch stopped."""
    if job.batch.state != "running":
        return job
    job.state = "running"
    job.lease_until = None
    db.session.flush()
    audit.record("certificate.bulk_job.resume", job, actor=actor, at=job.batch.position)
    _send(job)
    return job


def _send(job: BulkIssueJob) -> None:
    from certificates.bulk.tasks import issue_chunk

    jobs.enqueue(issue_chunk, job.id, job.batch.position)


def claim(job_id: int, now: datetime) -> bool:
    """Take the job's lease unless a live worker holds it; committed at once."""
    taken = affected_rows(
        db.session.execute(
            sa.update(BulkIssueJob)
            .where(
                BulkIssueJob.id == job_id,
                sa.or_(BulkIssueJob.lease_until.is_(None), BulkIssueJob.lease_until < now),
            )
            .values(lease_until=now + timedelta(seconds=lease_seconds()))
        )
    )
    db.session.commit()
    return bool(taken)


def progress(job: BulkIssueJob) -> dict[str, Any]:
    """Return the job's progress as plain data (the JSON the progress page polls)."""
    batch = job.batch
    total = len(batch.user_ids)
    return {
        "id": job.id,
        "state": job.state,
        "batch_state": batch.state,
        "total": total,
        "done": batch.position,
        "issued": batch.issued,
        "skipped": batch.skipped,
        "percent": round(100 * batch.position / total) if total else 100,
        "error": job.error,
    }
