"""Verification counts: every real check of a certificate is counted by scheme and month.

Counted in memory, written additively in a transaction of its own; nothing about who
checked, nor which certificate, reaches the table.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import g

from certificates.models import Certificate, Scheme, SigningKey, StatusList
from certificates.verify import counts
from certificates.verify.counts import VerificationCount, month_start
from lms.auth.operations import create_user
from lms.db import request_is_read_only, utcnow
from lms.extensions import db as _db
from lms.models import Role
from tests.security.test_write_locks import another_connection_can_write

UNKNOWN = "7K3QD-0ZB9M-XT2RA-H5W8C"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")


@pytest.fixture
def tally(app):
    """A fresh in-memory tally for the test, as in a process just started."""
    app.extensions.pop(counts._EXTENSION, None)
    yield counts.tally(app)
    app.extensions.pop(counts._EXTENSION, None)


def stored(db) -> list[tuple[int, date, int]]:
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(
                VerificationCount.scheme_id, VerificationCount.month, VerificationCount.count
            ).order_by(VerificationCount.scheme_id, VerificationCount.month)
        )
    ]


def test_page_api_upload_and_bulk_checks_are_counted(client, db, login_as, tally, issued):
    code, month = issued.code, month_start()
    assert client.get(f"/verify/{code}").status_code == 200
    assert client.get(f"/verify/{code.lower()}").status_code == 200
    assert client.get(f"/api/v1/verify/{code}").status_code == 200
    page = client.post_form(
        "/verify",
        {"file": (io.BytesIO(issued.pdf), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200
    api = client.post("/api/v1/verify", data=issued.pdf, content_type="application/pdf")
    assert api.status_code == 200
    api_json = client.post(
        "/api/v1/verify", data=issued.credential_bytes, content_type="application/json"
    )
    assert api_json.status_code == 200
    vc_api = client.post("/credentials/verify", json={"verifiableCredential": issued.credential})
    assert vc_api.status_code == 200
    assert tally.pending() == {(code, month): 7}
    login_as(Role.EMPLOYER)
    bulk = client.post_form("/verify/bulk", {"codes": f"{code}\n{UNKNOWN}\n{code}", "show": "1"})
    assert bulk.status_code == 200
    assert tally.pending() == {(code, month): 9}  # the unknown code is not counted

    assert counts.flush() == 9
    assert stored(db) == [(issued.certificate.scheme_id, month, 9)]
    assert tally.pending() == {}


def test_unknown_codes_bad_files_and_refused_requests_are_not_counted(
    app, client, tally, issued, monkeypatch
):
    assert client.get(f"/verify/{UNKNOWN}").status_code == 404
    assert client.get("/verify", query_string={"code": "not a code"}).status_code == 404
    assert client.get("/verify/%3Cscript%3E").status_code == 404
    assert client.get(f"/api/v1/verify/{UNKNOWN}").status_code == 404
    garbage = client.post("/api/v1/verify", data=b"{}", content_type="application/json")
    assert garbage.status_code == 422
    bad_page = client.post_form(
        "/verify",
        {"file": (io.BytesIO(b"%PDF-1.4 nothing"), "certificate.pdf")},
        content_type="multipart/form-data",
    )
    assert bad_page.status_code == 400
    assert tally.pending() == {}

    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "2 per minute")
    statuses = [client.get(f"/verify/{issued.code}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert tally.pending() == {(issued.code, month_start()): 2}


def test_a_flush_is_idempotent_and_flushes_add_up(app, db, tally, issued, make_certificate):
    scheme_id = issued.certificate.scheme_id
    month = month_start()
    counts.record(*[SimpleNamespace(code=issued.code)] * 3)
    assert counts.flush() == 3
    assert counts.flush() == 0  # nothing left: a second flush adds nothing
    assert stored(db) == [(scheme_id, month, 3)]

    # Another process, or the same one later: its counts add to the same row.
    app.extensions.pop(counts._EXTENSION)
    other = make_certificate()  # same scheme, another holder
    counts.record(SimpleNamespace(code=issued.code), SimpleNamespace(code=other.code))
    counts.record(SimpleNamespace(code=None), SimpleNamespace(code="GONE-CODE"))
    assert counts.flush() == 2  # the code of no certificate is dropped
    assert stored(db) == [(scheme_id, month, 5)]


def test_a_failed_flush_keeps_the_counts(db, tally, issued, monkeypatch):
    counts.record(SimpleNamespace(code=issued.code))

    def broken(taken):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(counts, "_write", broken)
    assert counts.flush() == 0
    assert tally.pending() == {(issued.code, month_start()): 1}
    monkeypatch.undo()
    assert counts.flush() == 1
    assert stored(db) == [(issued.certificate.scheme_id, month_start(), 1)]


def test_the_table_holds_no_personal_data(db, tally, issued):
    columns = {
        c["name"] for c in sa.inspect(db.session.connection()).get_columns("verification_counts")
    }
    assert columns == {"scheme_id", "month", "count"}
    counts.record(SimpleNamespace(code=issued.code))
    counts.flush()
    row = db.session.execute(sa.select(VerificationCount.__table__)).one()
    assert issued.code not in repr(tuple(row))
    assert row.month.day == 1  # the month, nothing finer


def test_a_flush_is_due_once_per_interval(app, tally, issued, monkeypatch):
    monkeypatch.setitem(app.config, counts.SETTING, 3600)
    counts.record(SimpleNamespace(code=issued.code))
    assert tally.pending()  # not due yet: kept in memory
    monkeypatch.setitem(app.config, counts.SETTING, 0)
    counts.record(SimpleNamespace(code=issued.code))
    assert tally.pending() == {}  # due: written


class Statements:
    """Collect the statements run, with whether each was a declared write."""

    def __init__(self, bind):
        self.bind = bind
        self.writes: list[tuple[str, bool]] = []
        self.read_only: list[bool] = []

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(WRITES):
            self.writes.append((statement.strip()[:40], g.get("lms_writing", False)))
        elif statement.lstrip().upper().startswith("SELECT"):
            self.read_only.append(request_is_read_only())

    def __enter__(self):
        sa.event.listen(self.bind, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.bind, "before_cursor_execute", self._on_execute)


def test_a_verify_page_writes_nothing_in_the_request(app, client, db, tally, issued, monkeypatch):
    with Statements(db.engine) as seen:
        assert client.get(f"/verify/{issued.code}").status_code == 200
        assert client.get(f"/api/v1/verify/{issued.code}").status_code == 200
    assert seen.writes == []
    assert seen.read_only
    assert all(seen.read_only)
    # When a flush is due, its write is declared and made apart from the request's reads.
    monkeypatch.setitem(app.config, counts.SETTING, 0)
    with Statements(db.engine) as seen:
        assert client.get(f"/verify/{issued.code}").status_code == 200
    assert seen.writes
    assert all(declared for _statement, declared in seen.writes)
    assert stored(db) == [(issued.certificate.scheme_id, month_start(), 3)]


def _certificate_row(db) -> tuple[str, int]:
    """Write a certificate in the register for real; return its code and scheme id."""
    scheme = Scheme(code="SC-COUNT", title_en="Counted")
    user = create_user(email="counted@example.org", name="Counted", password=None)
    key = SigningKey(public_multikey="z6MkCountsTest")
    status_list = StatusList(purpose="revocation", bits=b"\0" * 16)
    now = utcnow()
    certificate = Certificate(
        code="COUNT-1",
        scheme=scheme,
        user=user,
        status="active",
        status_list=status_list,
        status_index=1,
        issued_at=now,
        valid_from=now,
        valid_until=now + timedelta(days=365),
        signing_key=key,
        snapshot={},
        credential={},
        pdf=b"%PDF-",
        pdf_sha256=hashlib.sha256(b"%PDF-").hexdigest(),
    )
    db.session.add(certificate)
    db.session.flush()
    # Read before the commit: reading after it would begin a transaction of its own.
    found = certificate.code, certificate.scheme_id
    db.session.commit()
    return found


def test_the_flush_takes_the_write_lock_only_for_itself(committing_app, monkeypatch):
    committing_app.extensions.pop(counts._EXTENSION, None)
    code, scheme_id = _certificate_row(_db)
    monkeypatch.setitem(committing_app.config, counts.SETTING, 0)
    try:
        with committing_app.test_request_context(f"/verify/{code}", method="GET"):
            assert _db.session.scalar(sa.select(Scheme.code).where(Scheme.id == scheme_id))
            assert another_connection_can_write()  # the request reads, holding no lock
            counts.record(SimpleNamespace(code=code))  # due at once: flushed now
            assert another_connection_can_write()  # the flush committed and let go
            assert _db.session().in_transaction()  # the request's read is still open
            with _db.engine.connect() as other:
                written = other.execute(sa.select(VerificationCount.count)).scalars().all()
            assert written == [1]
    finally:
        committing_app.extensions.pop(counts._EXTENSION, None)
