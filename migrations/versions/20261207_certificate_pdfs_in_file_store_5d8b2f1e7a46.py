"""Certificate PDFs move from a database column to the file store.

Each certificate's bytes are written to the app's configured store (the instance
folder's ``storage/`` by default, or the S3 bucket when ``LMS_STORAGE_BACKEND=s3``
is set for the ``lms db upgrade`` run), named by their sha256; the row keeps the key.
Downgrading reads them back into the column.

Revision ID: 5d8b2f1e7a46
Revises: c4a9e17d3b58
Create Date: 2026-12-07 23:30:00
"""

import hashlib
import io

import sqlalchemy as sa
from alembic import op

revision = "5d8b2f1e7a46"
down_revision = "c4a9e17d3b58"
branch_labels = None
depends_on = None

certificates = sa.table(
    "certificates",
    sa.column("id", sa.Integer),
    sa.column("pdf", sa.LargeBinary),
    sa.column("pdf_key", sa.String),
    sa.column("pdf_sha256", sa.String),
)


def _store():
    """The app's file store (``lms db`` runs the migrations inside the app)."""
    from lms.storage import storage

    return storage()


def upgrade():
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdf_key", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    store = _store()
    ids = bind.execute(sa.select(certificates.c.id).order_by(certificates.c.id)).scalars().all()
    for row_id in ids:  # one row's bytes in memory at a time
        pdf = bind.execute(
            sa.select(certificates.c.pdf).where(certificates.c.id == row_id)
        ).scalar_one()
        key = store.put(io.BytesIO(pdf))
        bind.execute(
            certificates.update()
            .where(certificates.c.id == row_id)
            .values(pdf_key=key, pdf_sha256=hashlib.sha256(pdf).hexdigest())
        )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column("pdf_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_certificates_pdf_key"), ["pdf_key"], unique=False)
        batch_op.drop_column("pdf")


def downgrade():
    from lms.storage import read_bytes

    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pdf", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    store = _store()
    rows = bind.execute(
        sa.select(certificates.c.id, certificates.c.pdf_key, certificates.c.pdf_sha256)
    ).all()
    for row_id, key, sha256 in rows:
        bind.execute(
            certificates.update()
            .where(certificates.c.id == row_id)
            .values(pdf=read_bytes(store, key, sha256))
        )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column("pdf", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_index(batch_op.f("ix_certificates_pdf_key"))
        batch_op.drop_column("pdf_key")
