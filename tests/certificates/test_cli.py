"""The ``lms certificates`` and ``lms keys`` commands."""

from __future__ import annotations

import json

import sqlalchemy as sa

from certificates import issuer
from certificates.models import Certificate, SigningKey


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_issue_list_revoke(app, db, world, trainee):
    result = _run(
        app,
        "certificates",
        "issue",
        "--scheme",
        world.scheme.code,
        "--trainee",
        trainee.email,
        "--as",
        world.certifier.email,
    )
    assert result.exit_code == 0, result.output
    code = json.loads(result.output)["code"]
    result = _run(app, "certificates", "list", "--json")
    items = [json.loads(line) for line in result.output.splitlines()]
    assert items[0]["code"] == code
    assert items[0]["holder"] == "Мария Иванова-Петрова"
    assert items[0]["status"] == "active"
    assert items[0]["scheme"] == world.scheme.code
    assert _run(app, "certificates", "suspend", code, "--reason", "Check").exit_code == 0
    assert _run(app, "certificates", "reinstate", code).exit_code == 0
    result = _run(app, "certificates", "revoke", code, "--reason", "Issued in error")
    assert result.exit_code == 0, result.output
    item = json.loads(_run(app, "certificates", "list", "--json").output)
    assert item["status"] == "revoked"
    assert item["revocation_reason"] == "Issued in error"


def test_bad_inputs_exit_with_a_message(app, db, world, trainee, make_user):
    result = _run(app, "certificates", "issue", "--scheme", "NOPE", "--trainee", trainee.email)
    assert result.exit_code == 1
    assert "no scheme" in result.output
    weak = make_user()
    result = _run(
        app, "certificates", "issue", "--scheme", world.scheme.code, "--trainee", weak.email
    )
    assert result.exit_code == 1
    assert "not eligible" in result.output
    assert _run(app, "certificates", "revoke", "XXXXX", "--reason", "r").exit_code == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0


def test_issue_batch_and_expire(app, db, world, trainee):
    result = _run(app, "certificates", "issue-batch", "--scheme", world.scheme.code)
    assert result.exit_code == 0, result.output
    assert "Issued 1, skipped 0" in result.output
    result = _run(app, "certificates", "expire")
    assert result.exit_code == 0
    assert "0 certificates expired" in result.output


def test_keys_rotate(app, db):
    old = issuer.current_signing_key()
    result = _run(app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    rows = db.session.scalars(sa.select(SigningKey).order_by(SigningKey.id)).all()
    assert len(rows) == 2
    assert rows[0].public_multikey == old.public_multikey
    assert rows[0].retired_at is not None
    assert rows[1].public_multikey in result.output
    # Both stay in the DID document, so what the old key signed still verifies anywhere.
    document = issuer.did_document()
    did = issuer.issuer_did()
    assert [m["id"] for m in document["verificationMethod"]] == [
        f"{did}#{row.public_multikey}" for row in rows
    ]
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]


def test_group_is_exposed_for_other_commands():
    from certificates.cli import certificates_group

    assert {
        "list",
        "issue",
        "issue-batch",
        "revoke",
        "suspend",
        "reinstate",
        "expire",
        "refresh-status-lists",
    } <= set(certificates_group.commands)
