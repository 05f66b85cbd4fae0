"""Verification counts by scheme and month (never who verified).

Revision ID: 9e4a2c7b5d13
Revises: 3b8f1c6d2e94
Create Date: 2026-12-07 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9e4a2c7b5d13"
down_revision = "3b8f1c6d2e94"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "verification_counts",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"],
            ["schemes.id"],
            name=op.f("fk_verification_counts_scheme_id_schemes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scheme_id", "month", name=op.f("pk_verification_counts")),
    )


def downgrade():
    op.drop_table("verification_counts")
