"""The migration that moves certificate PDFs out of the database into the file store."""

from __future__ import annotations

import hashlib
import sqlite3

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from lms import create_app
from lms.storage import read_bytes

BEFORE = "c4a9e17d3b58"
AFTER = "5d8b2f1e7a46"


def _filler(column: dict):
    kind = column["type"]
    if isinstance(kind, sa.Integer | sa.Boolean):
        return 1
    if isinstance(kind, sa.LargeBinary):
        return b"\0"
    if isinstance(kind, sa.JSON):
        return "{}"
    if isinstance(kind, sa.DateTime | sa.Date):
        return "2025-06-01 12:00:00"
    return "x"


def _insert(conn, table: str, **given) -> None:
    """Insert a row of ``table`` with ``given`` values and filler in every other required column."""
    columns = sa.inspect(conn).get_columns(table)
    values = {
        column["name"]: _filler(column)
        for column in columns
        if not column["nullable"] and column["name"] != "id"
    }
    values.update(given)
    conn.execute(sa.insert(sa.table(table, *(sa.column(name) for name in values))), values)


def test_pdfs_move_to_the_store_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    pdfs = {"CODE-1": b"%PDF-1.7 first certificate", "CODE-2": b"%PDF-1.7 second one" * 1000}
    with app.app_context():
        upgrade(revision=BEFORE)
        engine = sa.create_engine(url)
        # A plain connection, without the app's foreign-key checks: rows of their own,
        # without the schemes and users they would name.
        plain = sa.create_engine(url, module=sqlite3)
        sa.event.listen(plain, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=OFF"))
        with plain.connect() as conn:
            for user_id in (1, 2):
                _insert(conn, "users", id=user_id, email=f"holder{user_id}@example.org")
            _insert(conn, "schemes", id=1, code="SC-1")
            _insert(conn, "status_lists", id=1, purpose="revocation")
            _insert(conn, "signing_keys", id=1)
            for index, (code, pdf) in enumerate(pdfs.items()):
                _insert(
                    conn,
                    "certificates",
                    code=code,
                    status="active",
                    status_index=index,
                    user_id=index + 1,
                    pdf=pdf,
                    pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                )
            conn.commit()
        plain.dispose()
        upgrade(revision=AFTER)
        store = app.extensions["storage"]
        with engine.begin() as conn:
            assert "pdf" not in {c["name"] for c in sa.inspect(conn).get_columns("certificates")}
            rows = conn.execute(sa.text("SELECT code, pdf_key, pdf_sha256 FROM certificates"))
            moved = {code: (key, sha256) for code, key, sha256 in rows}
        assert set(moved) == set(pdfs)
        for code, (key, sha256) in moved.items():
            assert key == sha256 == hashlib.sha256(pdfs[code]).hexdigest()
            assert read_bytes(store, key) == pdfs[code]
        # The files are in the instance folder, where backups pick them up.
        assert all(list((tmp_path / "storage").rglob(key)) for key, _ in moved.values())

        downgrade(revision=BEFORE)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT code, pdf FROM certificates"))
            assert dict(rows.all()) == pdfs
            assert "pdf_key" not in {
                c["name"] for c in sa.inspect(conn).get_columns("certificates")
            }
        engine.dispose()
        from lms.extensions import db

        db.session.remove()
        db.engine.dispose()
