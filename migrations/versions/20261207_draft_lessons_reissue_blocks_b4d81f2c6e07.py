"""Draft lessons, re-issue blocked after a revocation in error, signature images.

Existing lessons stay published. A certificate revoked in error keeps its
trainee from the scheme until a certifier records who cleared it, when and why.
A scheme may hold its signatory's signature image for the printed certificate.

Revision ID: b4d81f2c6e07
Revises: b4e81f27c6d5
Create Date: 2026-12-07 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b4d81f2c6e07"
down_revision = "b4e81f27c6d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_image", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_in_error", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("reissue_cleared_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reissue_cleared_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reissue_clearance_reason", sa.String(length=500), server_default="", nullable=False
            )
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_reissue_cleared_by_id"),
            ["reissue_cleared_by_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_certificates_reissue_cleared_by_id_users"),
            "users",
            ["reissue_cleared_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_certificates_reissue_cleared_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_certificates_reissue_cleared_by_id"))
        batch_op.drop_column("reissue_clearance_reason")
        batch_op.drop_column("reissue_cleared_at")
        batch_op.drop_column("reissue_cleared_by_id")
        batch_op.drop_column("revoked_in_error")
    with op.batch_alter_table("lessons", schema=None) as batch_op:
        batch_op.drop_column("published")
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.drop_column("signature_image")
