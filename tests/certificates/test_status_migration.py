"""The migration to revocation lists: lists that exist already become two-bit message lists."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from lms import create_app

BEFORE = "545a71b50188"


def test_existing_lists_become_message_lists_and_new_ones_revocation_lists(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        upgrade(revision=BEFORE)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO status_lists (bits, updated_at, credential, version)"
                    " VALUES (:bits, '2025-06-01 12:00:00', NULL, 1)"
                ),
                {"bits": bytes(32 * 1024)},
            )
        upgrade()
        with engine.begin() as conn:
            row = conn.execute(
                sa.text("SELECT purpose, allocated, index_key, valid_until FROM status_lists")
            ).one()
            assert tuple(row) == ("message", 0, None, None)
        # The database itself refuses a purpose the code does not know.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE status_lists SET purpose = 'suspension'"))
        engine.dispose()
        from certificates import operations as ops
        from lms.extensions import db

        new = ops.current_status_list()
        assert new.purpose == "revocation"
        assert new.id == 2
        assert ops.refresh_status_lists() == 1  # the old list gets its validity window
        db.session.commit()
        with db.engine.connect() as conn:
            purposes = conn.execute(
                sa.text("SELECT purpose FROM status_lists ORDER BY id")
            ).scalars()
            assert list(purposes) == ["message", "revocation"]
        db.session.remove()
        db.engine.dispose()
