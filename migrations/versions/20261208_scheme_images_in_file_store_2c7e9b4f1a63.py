"""Scheme logos and signature images move from database columns to the file store.

Each image is written to the app's configured store (as for ``lms db upgrade``)
under its sha256, which the scheme row keeps instead of the bytes. Downgrading
reads them back into the columns.

Revision ID: 2c7e9b4f1a63
Revises: 8f3c6a2d9e14
Create Date: 2026-12-08 03:00:00
"""

import io

import sqlalchemy as sa
from alembic import op

revision = "2c7e9b4f1a63"
down_revision = "8f3c6a2d9e14"
branch_labels = None
depends_on = None

#: (column with the bytes, column with the key in the store)
IMAGES = (("design_logo", "design_logo_key"), ("signature_image", "signature_image_key"))

schemes = sa.table(
    "schemes",
    sa.column("id", sa.Integer),
    *(sa.column(data, sa.LargeBinary) for data, _key in IMAGES),
    *(sa.column(key, sa.String) for _data, key in IMAGES),
)


def _store():
    """The app's file store (``lms db`` runs the migrations inside the app)."""
    from lms.storage import storage

    return storage()


def upgrade():
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        for _data, key in IMAGES:
            batch_op.add_column(sa.Column(key, sa.String(length=64), nullable=True))
    bind = op.get_bind()
    store = _store()
    for data, key in IMAGES:
        column = schemes.c[data]
        ids = bind.execute(sa.select(schemes.c.id).where(column.is_not(None))).scalars().all()
        for row_id in ids:  # one image in memory at a time
            image = bind.execute(sa.select(column).where(schemes.c.id == row_id)).scalar_one()
            bind.execute(
                schemes.update()
                .where(schemes.c.id == row_id)
                .values({key: store.put(io.BytesIO(image)) if image else None})
            )
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        for data, _key in IMAGES:
            batch_op.drop_column(data)


def downgrade():
    from lms.storage import read_bytes

    with op.batch_alter_table("schemes", schema=None) as batch_op:
        for data, _key in IMAGES:
            batch_op.add_column(sa.Column(data, sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    store = _store()
    for data, key in IMAGES:
        column = schemes.c[key]
        rows = bind.execute(sa.select(schemes.c.id, column).where(column.is_not(None))).all()
        for row_id, stored in rows:
            bind.execute(
                schemes.update()
                .where(schemes.c.id == row_id)
                .values({data: read_bytes(store, stored)})
            )
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        for _data, key in IMAGES:
            batch_op.drop_column(key)
