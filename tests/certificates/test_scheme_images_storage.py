"""Scheme logos and signature images in the file store, and the migration that moves them."""

from __future__ import annotations

import hashlib
import io

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from certificates import design
from lms import create_app
from lms.extensions import db
from lms.storage import read_bytes, remove_orphans, storage
from tests.certificates.test_pdf_storage_migration import _insert
from tests.certificates.test_schemes import _design, _image

BEFORE = "8f3c6a2d9e14"
AFTER = "2c7e9b4f1a63"


def test_logo_and_signature_are_stored_by_content_address(client, db, login_as, world):
    login_as(world.admin)
    logo, signature = _image("PNG"), _image("JPEG", size=(60, 20))
    assert _design(client, world, logo=(io.BytesIO(logo), "logo.png")).status_code == 302
    design.set_signature(world.scheme, signature, actor=world.admin)
    db.session.commit()
    scheme = world.scheme
    assert scheme.design_logo_key == hashlib.sha256(logo).hexdigest()
    assert scheme.signature_image_key == hashlib.sha256(signature).hexdigest()
    assert read_bytes(storage(), scheme.design_logo_key) == logo
    assert scheme.signature_image == signature
    # The cleanup of files no row names leaves them alone.
    remove_orphans(grace_seconds=-1)
    assert storage().exists(scheme.design_logo_key)
    assert storage().exists(scheme.signature_image_key)

    design.set_signature(scheme, None, remove=True, actor=world.admin)
    assert scheme.signature_image_key is None
    assert scheme.signature_image is None


def test_a_loaded_scheme_reads_its_logo_from_the_store_once(db, world, monkeypatch):
    logo = _image("PNG")
    world.scheme.design_logo = logo
    db.session.commit()
    store, opened = storage(), []
    real_open = store.open
    monkeypatch.setattr(store, "open", lambda key: opened.append(key) or real_open(key))
    db.session.expire_all()
    assert [world.scheme.design_logo for _ in range(3)] == [logo] * 3
    assert opened == [world.scheme.design_logo_key]


def test_images_move_to_the_store_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "test-secret-key-" * 4,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    logo, signature = b"\x89PNG\r\n\x1a\n a logo", b"\xff\xd8\xff a signature"
    with app.app_context():
        upgrade(revision=BEFORE)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _insert(conn, "schemes", id=1, code="SC-1", design_logo=logo, signature_image=signature)
            _insert(conn, "schemes", id=2, code="SC-2", design_logo=None, signature_image=None)
        upgrade(revision=AFTER)
        store = app.extensions["storage"]
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text("SELECT code, design_logo_key, signature_image_key FROM schemes")
            )
            keys = {code: (logo_key, signature_key) for code, logo_key, signature_key in rows}
        assert keys["SC-2"] == (None, None)
        assert read_bytes(store, keys["SC-1"][0]) == logo
        assert read_bytes(store, keys["SC-1"][1]) == signature

        downgrade(revision=BEFORE)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT code, design_logo, signature_image FROM schemes"))
            assert {code: (a, b) for code, a, b in rows} == {
                "SC-1": (logo, signature),
                "SC-2": (None, None),
            }
        engine.dispose()
        db.session.remove()
        db.engine.dispose()
