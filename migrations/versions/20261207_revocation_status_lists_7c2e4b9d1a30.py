"""One-bit revocation status lists with an index counter and a validity window.

Existing lists are the earlier two-bit ``message`` lists: they keep serving the
certificates on them; new certificates go on ``revocation`` lists.

Revision ID: 7c2e4b9d1a30
Revises: a7c3e915d2b4
Create Date: 2026-12-07 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7c2e4b9d1a30"
down_revision = "a7c3e915d2b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), server_default="message", nullable=False)
        )
        batch_op.add_column(
            sa.Column("allocated", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("index_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_status_lists_valid_until"), ["valid_until"], unique=False
        )
        batch_op.create_check_constraint(
            op.f("ck_status_lists_purpose_known"), "purpose IN ('revocation', 'message')"
        )


def downgrade():
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_status_lists_purpose_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_status_lists_valid_until"))
        batch_op.drop_column("valid_until")
        batch_op.drop_column("index_key")
        batch_op.drop_column("allocated")
        batch_op.drop_column("purpose")
