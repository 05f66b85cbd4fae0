"""Files handed in for assignments move from the upload folder to the file store.

Each file, kept until now under a random name in the upload folder
(``LMS_ASSIGNMENT_UPLOAD_DIR``, by default ``<instance>/uploads/assignments``), is
written to the app's configured store (the instance folder's ``storage/`` or the S3
bucket, as for ``lms db upgrade``) under its sha256; the row keeps the key instead
of the name, and the old file is deleted once every row points at the store. A file
whose bytes no longer match the sha256 recorded at upload stops the upgrade. A row
whose file is missing keeps its recorded sha256 as the key: it had no file before
either, unless a rolled-back run of this upgrade already put it in the store.
Downgrading writes every file back under a new random name.

Revision ID: 8f3c6a2d9e14
Revises: 5d8b2f1e7a46
Create Date: 2026-12-08 02:30:00
"""

import logging
import os
import secrets
import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "8f3c6a2d9e14"
down_revision = "5d8b2f1e7a46"
branch_labels = None
depends_on = None

logger = logging.getLogger("alembic.runtime.migration")

submission_files = sa.table(
    "submission_files",
    sa.column("id", sa.Integer),
    sa.column("stored_name", sa.String),
    sa.column("file_key", sa.String),
    sa.column("sha256", sa.String),
)


def _store():
    """The app's file store (``lms db`` runs the migrations inside the app)."""
    from lms.storage import storage

    return storage()


def _upload_folder() -> Path:
    """The folder the files were kept in, as the app configured it before this revision."""
    from flask import current_app

    configured = current_app.config.get("ASSIGNMENT_UPLOAD_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.instance_path) / "uploads" / "assignments"


def upgrade():
    with op.batch_alter_table("submission_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_key", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    store, folder = _store(), _upload_folder()
    rows = bind.execute(
        sa.select(
            submission_files.c.id, submission_files.c.stored_name, submission_files.c.sha256
        ).order_by(submission_files.c.id)
    ).all()
    moved = []
    for row_id, stored_name, sha256 in rows:
        path = folder / stored_name
        if path.is_file():
            with path.open("rb") as stream:
                key = store.put(stream)
            if key != sha256:
                raise RuntimeError(
                    f"{path} (submission file {row_id}) does not match the sha256 recorded "
                    "when it was handed in: restore it from a backup, then upgrade again."
                )
            moved.append(path)
        else:
            key = sha256
            if not store.exists(key):
                logger.warning("%s (submission file %s) is missing", path, row_id)
        bind.execute(
            submission_files.update().where(submission_files.c.id == row_id).values(file_key=key)
        )
    with op.batch_alter_table("submission_files", schema=None) as batch_op:
        batch_op.alter_column("file_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_submission_files_file_key"), ["file_key"], unique=False
        )
        batch_op.drop_constraint(batch_op.f("uq_submission_files_stored_name"), type_="unique")
        batch_op.drop_column("stored_name")
    for path in moved:
        path.unlink(missing_ok=True)


def downgrade():
    from lms.storage import StorageError

    with op.batch_alter_table("submission_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_name", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    store, folder = _store(), _upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    rows = bind.execute(
        sa.select(submission_files.c.id, submission_files.c.file_key, submission_files.c.sha256)
    ).all()
    for row_id, key, sha256 in rows:
        stored_name = secrets.token_hex(16)
        try:
            _copy_out(store, key, sha256, folder / stored_name)
        except StorageError:
            logger.warning("stored file %s (submission file %s) is missing", key, row_id)
        bind.execute(
            submission_files.update()
            .where(submission_files.c.id == row_id)
            .values(stored_name=stored_name)
        )
    with op.batch_alter_table("submission_files", schema=None) as batch_op:
        batch_op.alter_column("stored_name", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_submission_files_stored_name"), ["stored_name"]
        )
        batch_op.drop_index(batch_op.f("ix_submission_files_file_key"))
        batch_op.drop_column("file_key")


def _copy_out(store, key: str, sha256: str, target: Path) -> None:
    """Write a stored file to ``target``, checking its sha256; leave nothing if it fails."""
    from lms.storage import open_verified

    partial = target.with_name(target.name + ".part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open_verified(store, key, sha256) as stream:
            shutil.copyfileobj(stream, out)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
