"""Jobs without a broker: they run in the web process, so the demo needs only Python."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from certificates import operations as cert_ops
from certificates.bulk.models import BulkIssueJob
from certificates.models import Certificate, CertificateStatus
from lms import jobs, metrics
from lms.db import utcnow
from lms.models import Role
from notifications.models import OutgoingMail


@pytest.fixture
def trainees(make_user, qualify, world):
    return [qualify(make_user(name=f"Trainee {i:02d}"), world) for i in range(5)]


def test_bulk_from_the_page_runs_in_process_and_shows_the_result(
    app, client, db, login_as, world, trainees
):
    app.config["BULK_ISSUE_CHUNK_SIZE"] = 2
    try:
        login_as(world.certifier)
        confirm = client.get(f"/certification/schemes/{world.scheme.code}/batch")
        assert f'action="/certification/schemes/{world.scheme.code}/bulk"' in confirm.text
        response = client.post_form(f"/certification/schemes/{world.scheme.code}/bulk")
    finally:
        app.config.pop("BULK_ISSUE_CHUNK_SIZE")
    assert response.status_code == 302
    job = db.session.scalars(sa.select(BulkIssueJob)).one()
    assert response.headers["Location"] == f"/certification/bulk/{job.id}"
    assert job.state == "finished"
    assert job.chunk_size == 2
    users = db.session.scalars(sa.select(Certificate.user_id)).all()
    assert sorted(users) == sorted(t.id for t in trainees)

    progress = client.get(f"/certification/bulk/{job.id}.json").get_json()
    assert progress == {
        "id": job.id,
        "state": "finished",
        "batch_state": "finished",
        "total": 5,
        "done": 5,
        "issued": 5,
        "skipped": 0,
        "percent": 100,
        "error": "",
    }
    page = client.get(f"/certification/bulk/{job.id}").get_data(as_text=True)
    assert '<script src="/static/bulk/progress.js"></script>' in page
    assert "<script>" not in page  # the CSP allows no inline script
    script = client.get("/static/bulk/progress.js")
    assert script.status_code == 200
    assert b"fetch(url" in script.data
    script.close()


def test_cancelled_job_resumes_from_where_its_batch_stopped(db, world, trainees):
    from certificates.bulk import operations as bulk_ops

    class Stop(Exception):
        pass

    def stop_after_first_chunk(_batch):
        db.session.commit()
        raise Stop

    batch = cert_ops.start_batch(world.scheme, actor=world.certifier)
    with pytest.raises(Stop):
        cert_ops.issue_batch(
            world.scheme, world.certifier, batch, chunk_size=2, on_chunk=stop_after_first_chunk
        )
    job = BulkIssueJob(batch=batch, chunk_size=2, state="cancelled")
    db.session.add(job)
    db.session.commit()
    assert batch.position == 2
    bulk_ops.resume(job, actor=world.certifier)
    db.session.commit()
    assert job.state == "finished"
    assert (batch.state, batch.issued, batch.skipped) == ("finished", 5, 0)
    assert len(set(db.session.scalars(sa.select(Certificate.user_id)))) == 5


def test_bulk_pages_only_for_certifiers(client, db, login_as, world, trainees, make_user):
    from certificates.bulk import operations as bulk_ops

    job = bulk_ops.start(world.scheme, actor=world.certifier)
    db.session.commit()
    urls = [
        ("GET", f"/certification/bulk/{job.id}"),
        ("GET", f"/certification/bulk/{job.id}.json"),
        ("POST", f"/certification/bulk/{job.id}/cancel"),
        ("POST", f"/certification/bulk/{job.id}/resume"),
        ("POST", f"/certification/schemes/{world.scheme.code}/bulk"),
    ]
    for role in (Role.TRAINEE, Role.INSTRUCTOR, Role.EMPLOYER):
        login_as(make_user(roles=[role]))
        for method, url in urls:
            response = client.get(url) if method == "GET" else client.post_form(url)
            assert response.status_code == 403, (role, url)
    client.post_form("/logout")
    for method, url in urls:
        response = client.get(url) if method == "GET" else client.post(url)
        assert response.status_code in (302, 400), url
    for who in (world.certifier, world.admin):
        login_as(who)
        for method, url in urls:
            response = client.get(url) if method == "GET" else client.post_form(url)
            assert response.status_code in (200, 302), (who, url)


def test_periodic_jobs_are_on_the_beat_schedule(app):
    schedule = jobs.celery.conf.beat_schedule
    assert set(schedule) >= {
        "certificates.expire",
        "certificates.refresh_status_lists",
        "courses.expire_quiz_attempts",
        "courses.clean_stale_files",
        "notifications.reminders",
        "notifications.digests",
        "notifications.resend_unsent",
    }
    assert all(entry["task"] in jobs.celery.tasks for entry in schedule.values())


def test_lms_jobs_periodic_runs_them_all_here(app, db, world, qualify, make_user):
    cert = cert_ops.issue_certificate(
        world.scheme, qualify(make_user(), world), actor=world.certifier
    )
    cert.valid_until = utcnow() - timedelta(days=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "periodic"])
    assert result.exit_code == 0, result.output
    assert "certificates.expire: 1" in result.output
    assert (
        "courses.clean_stale_files: {'csv_previews': 0, 'partial_uploads': 0, 'stored_orphans': 0}"
        in result.output
    )
    db.session.refresh(cert)
    assert cert.status == CertificateStatus.EXPIRED


def test_worker_and_beat_need_a_broker(app):
    for command in ("worker", "beat"):
        result = app.test_cli_runner().invoke(args=[command])
        assert result.exit_code != 0
        assert "LMS_CELERY_BROKER_URL is not set" in result.output


def test_jobs_are_counted_and_timed(db, world, qualify, make_user):
    def count(outcome):
        return metrics.JOBS.labels("notifications.deliver_mail", outcome)._value.get()

    before = count("succeeded")
    cert_ops.issue_certificate(world.scheme, qualify(make_user(), world), actor=world.certifier)
    assert count("succeeded") == before + 1
    assert metrics.JOB_DURATION.labels("notifications.deliver_mail")._sum.get() > 0


def test_a_failing_job_never_undoes_the_callers_work(app, db, world, qualify, make_user):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)
    try:
        trainee = qualify(make_user(), world)
        cert = cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
        db.session.commit()
    finally:
        app.config.update(MAIL_SERVER=None, MAIL_PORT=587, MAIL_USE_TLS=True)
    assert cert.id is not None
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.sent_at is None
    assert mail.attempts >= 1
    assert "refused" in mail.last_error.lower()
