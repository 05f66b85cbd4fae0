"""Bulk issuance commits each certificate and resumes after a crash without duplicates or gaps."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from certificates import operations as ops
from certificates import queries
from certificates.models import Certificate, IssuanceBatch
from certificates.operations import batches


class Crash(Exception):
    pass


@pytest.fixture
def trainees(make_user, qualify, world):
    return [qualify(make_user(name=f"Trainee {i:02d}"), world) for i in range(7)]


def test_batch_issues_to_everyone_eligible(db, world, trainees, make_user, qualify):
    qualify(make_user(), world, grade=10)  # not eligible
    batch = ops.issue_batch(world.scheme, world.certifier, chunk_size=3)
    assert batch.state == "finished"
    assert batch.issued == 7
    assert batch.position == 7
    certs = db.session.scalars(sa.select(Certificate)).all()
    assert sorted(c.user_id for c in certs) == sorted(t.id for t in trainees)
    assert all(c.batch_id == batch.id for c in certs)
    assert queries.eligible_queue(world.scheme) == []


def test_crash_after_first_chunk_resumes(db, world, trainees):
    calls = []

    def crash_once(batch):
        db.session.commit()
        calls.append(batch.position)
        if len(calls) == 1:
            raise Crash

    with pytest.raises(Crash):
        ops.issue_batch(world.scheme, world.certifier, chunk_size=3, on_chunk=crash_once)
    db.session.rollback()
    stopped = queries.running_batch(world.scheme)
    assert stopped.position == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 3

    batch = ops.issue_batch(world.scheme, world.certifier, chunk_size=3, on_chunk=crash_once)
    assert batch.id == stopped.id
    assert batch.state == "finished"
    assert batch.issued == 7
    assert batch.skipped == 0
    user_ids = db.session.scalars(sa.select(Certificate.user_id)).all()
    assert sorted(user_ids) == sorted(t.id for t in trainees)  # no duplicates, no gaps
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IssuanceBatch)) == 1


def test_crash_inside_a_chunk_repeats_it(db, world, trainees, monkeypatch):
    real = ops.issue_certificate
    issued = []

    def flaky(scheme, user, **kwargs):
        if len(issued) == 4:
            issued.append("crash")
            raise Crash
        issued.append(user.id)
        return real(scheme, user, **kwargs)

    monkeypatch.setattr(batches, "issue_certificate", flaky)
    with pytest.raises(Crash):
        ops.issue_batch(
            world.scheme, world.certifier, chunk_size=3, on_chunk=lambda b: db.session.commit()
        )
    db.session.rollback()
    # Each certificate is committed as it is made: the one issued in the broken chunk stays.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 4
    assert queries.running_batch(world.scheme).position == 3
    monkeypatch.setattr(batches, "issue_certificate", real)
    batch = ops.issue_batch(world.scheme, world.certifier, chunk_size=3)
    assert batch.state == "finished"
    # The repeated chunk passes over the trainee certified before the crash, and the
    # counts come from the register: nobody issued or counted twice.
    assert (batch.issued, batch.skipped, batch.position) == (7, 0, 7)
    user_ids = db.session.scalars(sa.select(Certificate.user_id)).all()
    assert sorted(user_ids) == sorted(t.id for t in trainees)


def test_batch_button_on_the_queue_page(client, db, login_as, world, trainees):
    login_as(world.certifier)
    page = client.get(f"/certification/schemes/{world.scheme.code}").get_data(as_text=True)
    assert "Trainee 00" in page
    response = client.post_form(f"/certification/schemes/{world.scheme.code}/bulk")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 7
