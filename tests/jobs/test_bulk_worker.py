"""Bulk issuance on a real Celery worker: killed half-way, restarted, nobody twice or missed."""

from __future__ import annotations

import json
import signal
from decimal import Decimal

import sqlalchemy as sa

from certificates import operations as cert_ops
from certificates.bulk.models import BulkIssueJob
from certificates.models import Certificate, IssuanceBatch
from courses.assessments.models import Assessment
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role
from notifications.models import OutgoingMail
from tests.certificates.conftest import EARLIER, release_exam
from tests.conftest import sign_in
from tests.jobs.conftest import wait_for

TRAINEES = 48
CHUNK = 4


def _certify_world(count: int):
    """Commit a scheme, a certifier and ``count`` trainees who all qualify for it."""
    course = Course(code="BW-1", title_en="Grid ops", title_bg="Мрежи", state=CourseState.PUBLISHED)
    exam = Assessment(
        course=course,
        kind="quiz",
        title_en="Exam",
        title_bg="Изпит",
        max_points=Decimal(50),
        pass_percent=Decimal(60),
        published=True,
    )
    db.session.add_all([course, exam])
    db.session.flush()
    scheme = cert_ops.create_scheme(
        code="BW-SCH",
        actor=None,
        title_en="Grid operator",
        title_bg="Оператор",
        validity_months=36,
        eqf_level=5,
        workload_hours=100,
        esco_uris="",
        ecf_codes="",
    )
    cert_ops.add_requirement(scheme, kind="course", course=course, min_grade=60, actor=None)
    cert_ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=70, actor=None)
    certifier = create_user(
        email="certifier@example.org", name="Certa", password=None, roles=[Role.CERTIFIER]
    )
    trainees = []
    for n in range(count):
        user = create_user(
            email=f"t{n}@example.org", name=f"Trainee {n}", password=None, roles=[Role.TRAINEE]
        )
        db.session.flush()
        db.session.add(
            CourseCompletion(
                user_id=user.id,
                course_id=course.id,
                completed=True,
                grade=Decimal(80),
                completed_at=EARLIER,
            )
        )
        release_exam(db, user, exam, 90)
        trainees.append(user.id)
    db.session.commit()
    return scheme.code, certifier, trainees


def read(app, query):
    """Run ``query()`` in a fresh read transaction that takes no SQLite write lock.

    Return plain values, not rows: the rollback expires a row, and reading it again
    outside a request begins a write transaction that keeps the workers waiting.

    A GET request's transaction only reads; outside a request every transaction
    would begin IMMEDIATE and keep the workers from writing while the test polls.
    """
    with app.test_request_context("/"):
        db.session.rollback()
        try:
            return query()
        finally:
            db.session.rollback()


def _position(app) -> int:
    return read(app, lambda: db.session.scalar(sa.select(IssuanceBatch.position)))


def _job_state(app, job_id) -> str:
    return read(app, lambda: db.session.get(BulkIssueJob, job_id).state)


def test_killed_worker_mid_batch_is_redone_without_duplicates_or_holes(make_site):
    site = make_site(BULK_ISSUE_CHUNK_SIZE=CHUNK)
    with site.app.app_context():
        code, certifier, trainee_ids = _certify_world(TRAINEES)
        client = site.app.test_client()
        sign_in(client, certifier)
        response = client.post_form(
            f"/certification/schemes/{code}/bulk", headers={"X-Request-ID": "bulk-req-42"}
        )
        assert response.status_code == 302
        job_id = int(response.headers["Location"].rsplit("/", 1)[1])

        first = site.start_worker("first")
        wait_for(lambda: _position(site.app) >= 3 * CHUNK, what="a few chunks")
        site.kill(first)  # SIGKILL: no clean shutdown, the message stays unacknowledged
        stopped = _position(site.app)
        assert CHUNK <= stopped < TRAINEES  # it really stopped half-way
        progress = client.get(f"/certification/bulk/{job_id}.json").get_json()
        assert progress["state"] == "running"
        assert progress["done"] == stopped

        site.start_worker("second")
        wait_for(lambda: _job_state(site.app, job_id) == "finished", what="the batch to finish")
        users = read(site.app, lambda: db.session.scalars(sa.select(Certificate.user_id)).all())
        assert len(users) == TRAINEES  # exactly
        assert len(set(users)) == TRAINEES  # 0 duplicates
        assert set(users) == set(trainee_ids)  # 0 holes
        batch = read(
            site.app,
            lambda: db.session.execute(
                sa.select(IssuanceBatch.state, IssuanceBatch.issued, IssuanceBatch.skipped)
            ).one(),
        )
        assert tuple(batch) == ("finished", TRAINEES, 0)
        progress = client.get(f"/certification/bulk/{job_id}.json").get_json()
        assert progress["state"] == "finished"
        assert progress["done"] == progress["total"] == TRAINEES

        # Each holder is told by e-mail exactly once; the second worker sends them.
        def all_sent():
            sent = read(site.app, lambda: db.session.scalars(sa.select(OutgoingMail.sent_at)).all())
            return len(sent) == TRAINEES and all(sent)

        wait_for(all_sent, what="the e-mails")
        recipients = read(
            site.app, lambda: db.session.scalars(sa.select(OutgoingMail.recipient)).all()
        )
        assert sorted(recipients) == sorted(f"t{n}@example.org" for n in range(TRAINEES))

    # The page's request id is on the job's log lines, in both workers.
    lines = [json.loads(line) for line in site.log("second").splitlines() if line.startswith("{")]
    chunks = [line for line in lines if line["logger"] == "certificates.bulk.tasks"]
    assert chunks
    assert {line["request_id"] for line in chunks} == {"bulk-req-42"}


def test_cancel_stops_after_the_chunk_and_resume_finishes(make_site):
    site = make_site(BULK_ISSUE_CHUNK_SIZE=CHUNK)
    with site.app.app_context():
        code, certifier, trainee_ids = _certify_world(TRAINEES)
        client = site.app.test_client()
        sign_in(client, certifier)
        job_id = int(
            client.post_form(f"/certification/schemes/{code}/bulk")
            .headers["Location"]
            .rsplit("/", 1)[1]
        )
        worker = site.start_worker("only")
        wait_for(lambda: _position(site.app) >= CHUNK, what="a first chunk")
        db.session.rollback()  # the client's requests share this session: no stale snapshot
        client.post_form(f"/certification/bulk/{job_id}/cancel")

        def settled():
            state, lease_until = read(
                site.app,
                lambda: db.session.execute(
                    sa.select(BulkIssueJob.state, BulkIssueJob.lease_until).where(
                        BulkIssueJob.id == job_id
                    )
                ).one(),
            )
            return state == "cancelled" and lease_until is None

        wait_for(settled, what="the cancelled job to let go")
        held = _position(site.app)
        assert held < TRAINEES
        assert _position(site.app) == held  # nothing more happens while cancelled
        page = client.get(f"/certification/bulk/{job_id}").get_data(as_text=True)
        assert "Resume" in page

        db.session.rollback()
        client.post_form(f"/certification/bulk/{job_id}/resume")
        wait_for(lambda: _job_state(site.app, job_id) == "finished", what="the resumed batch")
        users = read(site.app, lambda: db.session.scalars(sa.select(Certificate.user_id)).all())
        assert sorted(users) == sorted(trainee_ids)
        site.kill(worker, signal.SIGTERM)
