"""A bulk issuance run as a background job: its state, and who is working on it now."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certificates.models import IssuanceBatch
from lms.db import UTCDateTime, utcnow
from lms.extensions import Model


class BulkIssueJob(Model):
    """Drives one IssuanceBatch chunk by chunk on the workers; can be cancelled and resumed."""

    __tablename__ = "bulk_issue_jobs"
    __table_args__ = (
        sa.CheckConstraint(
            "state IN ('running', 'cancelled', 'finished', 'failed')", name="state_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("issuance_batches.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(sa.String(16), default="running")
    chunk_size: Mapped[int] = mapped_column(default=25)
    # A worker holds the lease while it issues a chunk; one killed mid-chunk loses it
    # when it runs out, and the redelivered job takes over from the last commit.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    batch: Mapped[IssuanceBatch] = relationship()

    def __repr__(self) -> str:
        return f"<BulkIssueJob {self.id} batch={self.batch_id} {self.state}>"
