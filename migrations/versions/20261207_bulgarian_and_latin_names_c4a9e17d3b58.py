"""Cohort names in Bulgarian and people's names in Latin letters.

Revision ID: c4a9e17d3b58
Revises: 9e4a2c7b5d13
Create Date: 2026-12-07 22:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4a9e17d3b58"
down_revision = "9e4a2c7b5d13"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_bg", sa.String(length=120), server_default="", nullable=False)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_latin", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("name_latin")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_column("name_bg")
