"""Record that each certificate's stored credential verified, for code lookups.

Existing certificates get their record from ``lms certificates record-checks``, which
verifies each in full first; until then a lookup verifies them in full.

Revision ID: 5d8e2f1c9b47
Revises: b4d81f2c6e07
Create Date: 2026-12-07 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5d8e2f1c9b47"
down_revision = "b4d81f2c6e07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credential_checks",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("credential_sha256", sa.String(length=64), nullable=False),
        sa.Column("public_multikey", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_credential_checks_certificate_id_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_credential_checks")),
    )


def downgrade():
    op.drop_table("credential_checks")
