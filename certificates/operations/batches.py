"""Bulk issuance: every eligible trainee of a scheme, chunk by chunk, resumable."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from certificates import queries
from certificates.models import Certificate, IssuanceBatch, Scheme
from certificates.operations.common import CertificationError, _require_certifier
from certificates.operations.issuance import issue_certificate
from lms import audit
from lms.db import utcnow
from lms.extensions import db
from lms.models import User

logger = logging.getLogger(__name__)

ChunkHook = Callable[[IssuanceBatch], None]


def start_batch(
    scheme: Scheme, *, actor: User | None, now: datetime | None = None
) -> IssuanceBatch:
    """Fix the list of eligible trainees for a bulk run."""
    _require_certifier(actor)
    ids = queries.eligible_ids(scheme, now)
    batch = IssuanceBatch(
        scheme_id=scheme.id, started_by_id=actor.id if actor else None, user_ids=ids
    )
    db.session.add(batch)
    db.session.flush()
    audit.record("certificate.batch.start", batch, actor=actor, scheme=scheme.code, size=len(ids))
    return batch


def issue_batch(
    scheme: Scheme,
    actor: User | None,
    batch: IssuanceBatch | None = None,
    *,
    chunk_size: int = 25,
    on_chunk: ChunkHook | None = None,
    now: datetime | None = None,
) -> IssuanceBatch:
    """Issue to every eligible trainee, chunk by chunk; resume a run that stopped half-way.

    Each certificate is committed as it is issued (see :mod:`.issuance`). After each
    chunk the batch's position and counts are flushed and ``on_chunk(batch)`` runs;
    the caller commits there. A run that stopped half-way repeats its last chunk:
    trainees certified meanwhile are passed over, and the counts are read from the
    register, so nobody is issued or counted twice.
    """
    _require_certifier(actor)
    if batch is None:
        batch = queries.running_batch(scheme) or start_batch(scheme, actor=actor, now=now)
    ids = list(batch.user_ids)
    while batch.position < len(ids):
        chunk = ids[batch.position : batch.position + chunk_size]
        users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(chunk)))}
        for user_id in chunk:
            user = users.get(user_id)
            if user is None:
                continue
            try:
                # Returns the live certificate of a trainee who holds one: counted as
                # skipped, since only the batch's own certificates count as issued.
                issue_certificate(scheme, user, actor=actor, now=now, batch=batch)
            except CertificationError as error:
                logger.info("batch %s: user %s skipped: %s", batch.id, user_id, error)
        batch.position += len(chunk)
        _count_batch(batch)
        db.session.flush()
        if on_chunk is not None:
            on_chunk(batch)
    batch.state = "finished"
    batch.finished_at = utcnow()
    db.session.flush()
    audit.record(
        "certificate.batch.finish",
        batch,
        actor=actor,
        scheme=scheme.code,
        issued=batch.issued,
        skipped=batch.skipped,
    )
    return batch


def _count_batch(batch: IssuanceBatch) -> None:
    """Set the batch's counts from the register: its certificates, and the rest skipped."""
    batch.issued = db.session.execute(
        sa.select(sa.func.count()).select_from(Certificate).where(Certificate.batch_id == batch.id)
    ).scalar_one()
    batch.skipped = batch.position - batch.issued
