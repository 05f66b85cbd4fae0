"""The demo holds an issued certificate (Cyrillic name), a revoked one, and one to issue."""

from __future__ import annotations

from flask import current_app

from certificates import issuer, queries
from certificates.credentials.verification import verify_credential
from tests.certificates.test_issuance import status_source


def test_demo_certificates(db):
    from lms.db import utcnow

    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.flush()
    certs = {c.snapshot["holder_name"]: c for c in queries.all_certificates()}
    assert certs["Стефан Маринов"].status == "active"
    assert certs["Jonas Weber"].status == "revoked"
    assert "Issued in error" in certs["Jonas Weber"].revocation_reason
    report = verify_credential(
        certs["Стефан Маринов"].credential,
        issuer.key_resolver(),
        now=utcnow(),
        status_lists=status_source(db),
    )
    assert report.valid, report.result.as_list()
    queue = queries.eligible_queue(queries.scheme_by_code("S4C-PM"))
    assert "Елена Николова" in [row.user.name for row in queue]
    assert {s.code for s in queries.active_schemes()} >= {"S4C-PM", "S4C-PMC", "S4C-PD"}
    # Loading again adds nothing.
    from certificates import demo

    assert demo.load() == []
    assert len(queries.all_certificates()) == 2


def test_demo_completions_follow_from_the_gradebook(db):
    """Every completion the certificates rest on is what the gradebook rules compute."""
    import sqlalchemy as sa

    from courses.gradebook.models import CourseCompletion
    from courses.gradebook.operations import recompute_course
    from courses.models import Course

    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.flush()
    before = {
        (c.user_id, c.course_id): (c.completed, c.grade)
        for c in db.session.scalars(sa.select(CourseCompletion))
    }
    for course in db.session.scalars(sa.select(Course)):
        assert recompute_course(course, "check") == 0, course.code
    holder = next(
        c for c in queries.all_certificates() if c.snapshot["holder_name"] == "Стефан Маринов"
    )
    assert before[(holder.user_id, queries.scheme_by_code("S4C-PM").requirements[0].course_id)][0]
