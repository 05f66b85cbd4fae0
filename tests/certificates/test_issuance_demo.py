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

    issued = len(queries.all_certificates())
    assert demo.load() == []
    assert len(queries.all_certificates()) == issued


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
        assert recompute_course(course, "check", actor=None) == 0, course.code
    holder = next(
        c for c in queries.all_certificates() if c.snapshot["holder_name"] == "Стефан Маринов"
    )
    assert before[(holder.user_id, queries.scheme_by_code("S4C-PM").requirements[0].course_id)][0]


def test_demo_certificate_lists_competencies_achieved(db):
    """The demo schemes require competencies; the issued certificate and its PDF list them."""
    import io

    import sqlalchemy as sa
    from pypdf import PdfReader

    from certificates import demo
    from courses.competencies.models import Competency, Evidence, EvidenceSource
    from lms.auth.operations import find_user_by_email

    for loader in current_app.extensions["lms_demo_loaders"]:
        loader()
    db.session.flush()
    scheme = queries.scheme_by_code("S4C-PM")
    ids = [r.competency_id for r in scheme.requirements if r.kind == "competency"]
    required = db.session.scalars(sa.select(Competency.code).where(Competency.id.in_(ids)))
    assert set(required) == {"PM.1", "PM.2", "PM.3"}
    assert {r.min_level for r in scheme.requirements if r.kind == "competency"} == {3}
    for code in ("S4C-PMC", "S4C-PD"):
        assert any(r.kind == "competency" for r in queries.scheme_by_code(code).requirements)

    cert = next(
        c for c in queries.all_certificates() if c.snapshot["holder_name"] == "Стефан Маринов"
    )
    listed = {c["code"]: c for c in cert.snapshot["competencies"]}
    assert set(listed) == {"PM.1", "PM.2", "PM.3"}
    assert all(c["level"] >= 3 and c["level_name"] for c in listed.values())
    pdf = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(cert.pdf)).pages
    )
    assert "Competencies achieved" in pdf
    assert any(c["title_bg"] in pdf or c["title_en"] in pdf for c in listed.values())

    # The levels missing from the other loaders were recorded by the course's instructor.
    stefan = find_user_by_email("stefan.marinov@example.org")
    shown = db.session.scalars(
        sa.select(Evidence).where(
            Evidence.user_id == stefan.id, Evidence.source == EvidenceSource.INSTRUCTOR
        )
    ).all()
    assert shown, "no instructor evidence for the holder"
    for row in shown:
        assert row.note
        assert row.course.is_taught_by(row.recorded_by)

    queue = {row.user.email for row in queries.eligible_queue(scheme)}
    assert "elena.nikolova@example.org" in queue
    maria = find_user_by_email("maria.ivanova@example.org")
    assert maria.email not in queue
    unmet = queries.eligibility_for(scheme, maria).unmet
    assert any(r.requirement.kind == "competency" for r in unmet)
    assert demo.load() == []
