"""The bulk issuance job: one chunk per run, then it sends itself the next one.

A run carries the position it expects the batch at. A repeat of a run whose
chunk was committed already (a redelivered message) finds the batch further on
and stops; a run whose worker died before committing finds the batch where it
expects it and issues the chunk again (``issue_batch`` skips whoever already
holds a certificate). The lease keeps two workers off the same batch at once.
"""

from __future__ import annotations

import logging

from certificates import operations as ops
from certificates.bulk import operations as bulk_ops
from certificates.bulk.models import BulkIssueJob
from lms import jobs
from lms.db import utcnow
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)


class _ChunkDone(Exception):
    """Raised after a chunk is committed, to hand the rest to the next run."""


@jobs.task(name="certificates.bulk.issue_chunk", bind=True, max_retries=None)
def issue_chunk(self, job_id: int, position: int) -> str:
    """Issue the next chunk of the job's batch if it is still at ``position``."""
    job = db.session.get(BulkIssueJob, job_id)
    if job is None or job.state != "running":
        return "stopped"
    if job.batch.position != position:
        return "stale"
    if not bulk_ops.claim(job_id, utcnow()):
        if self.request.is_eager:  # in-process: nobody else can be on it; a crash left it
            return "busy"
        # Another worker is on it, or one died holding the lease: look again later.
        raise self.retry(countdown=bulk_ops.lease_seconds())
    job = db.session.get(BulkIssueJob, job_id)
    assert job is not None, "claim() has just leased this job"
    db.session.refresh(job.batch)
    batch = job.batch
    if job.state != "running" or batch.position != position:
        _release(job)
        return "stale"
    actor = db.session.get(User, batch.started_by_id) if batch.started_by_id else None

    def after_chunk(_batch) -> None:
        job.lease_until = None
        db.session.commit()
        raise _ChunkDone

    try:
        ops.issue_batch(batch.scheme, actor, batch, chunk_size=job.chunk_size, on_chunk=after_chunk)
    except _ChunkDone:
        logger.info("bulk job %s: %s of %s done", job_id, batch.position, len(batch.user_ids))
        jobs.enqueue(issue_chunk, job_id, batch.position)
        db.session.commit()  # ends the read above; on a worker, sends the next chunk
        return "chunk"
    except ops.CertificationError as error:
        db.session.rollback()
        failed = db.session.get(BulkIssueJob, job_id)
        assert failed is not None, "the rollback leaves the job as it was"
        failed.state = "failed"
        failed.error = error.message[:500]
        failed.lease_until = None
        db.session.commit()
        logger.warning("bulk job %s failed: %s", job_id, error.message)
        return "failed"
    job.state = "finished"
    job.lease_until = None
    db.session.commit()
    logger.info("bulk job %s finished: %s issued, %s skipped", job.id, batch.issued, batch.skipped)
    return "finished"


def _release(job: BulkIssueJob) -> None:
    job.lease_until = None
    db.session.commit()
