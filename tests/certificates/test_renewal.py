"""Renewal supersedes; a later grade change flags the certificate for review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from certificates import operations as ops
from certificates import queries
from certificates.models import Certificate
from courses.assessments.grades import set_grade
from courses.models import Cohort, Enrolment, EnrolmentStatus
from lms.models import AuditLog, Role
from tests.certificates.conftest import release_exam
from tests.certificates.test_issuance import NOW


@pytest.fixture
def cert(db, world, trainee):
    world.scheme.renewal_rule = "exam"
    return ops.issue_certificate(world.scheme, trainee, actor=world.certifier, now=NOW)


def test_renewal_needs_a_new_exam_pass(db, world, cert):
    with pytest.raises(ops.CertificationError, match="not been passed again"):
        ops.renew_certificate(cert, actor=world.certifier, now=NOW + timedelta(days=1))
    assert cert.status == "active"


def test_renewal_supersedes_and_both_stay(db, world, cert, trainee):
    later = NOW + timedelta(days=700)
    release_exam(db, trainee, world.exam, 90, at=later - timedelta(days=1))
    new = ops.renew_certificate(cert, actor=world.certifier, now=later)
    assert cert.status == "superseded"
    assert cert.superseded_by_id == new.id
    assert new.status == "active"
    assert new.code != cert.code
    assert new.valid_until > cert.valid_until
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 2
    with pytest.raises(ops.CertificationError, match="active or expired"):
        ops.renew_certificate(cert, actor=world.certifier, now=later)


def test_renewal_by_recent_evidence_without_competencies_is_refused(db, world, cert):
    world.scheme.renewal_rule = "recent_evidence"
    world.scheme.renewal_evidence_months = 12
    with pytest.raises(ops.CertificationError, match="newer than 12 months"):
        ops.renew_certificate(cert, actor=world.certifier)


def test_scheme_without_rule_cannot_renew(db, world, cert):
    world.scheme.renewal_rule = None
    with pytest.raises(ops.CertificationError, match="no renewal rule"):
        ops.renew_certificate(cert, actor=world.certifier)


def test_grade_change_flags_for_review(db, world, cert, trainee, make_user):
    cohort = Cohort(
        course=world.course,
        name="C",
        starts_on=datetime(2025, 1, 1, tzinfo=UTC).date(),
        ends_on=datetime(2025, 12, 1, tzinfo=UTC).date(),
    )
    db.session.add(cohort)
    db.session.add(Enrolment(cohort=cohort, user=trainee, status=EnrolmentStatus.ACTIVE))
    db.session.flush()
    instructor = make_user(roles=[Role.INSTRUCTOR])
    snapshot, pdf = dict(cert.snapshot), cert.pdf
    set_grade(world.exam, trainee, 10, actor=instructor, reason="Re-marked", release=True)
    assert cert.needs_review
    assert cert.snapshot == snapshot
    assert cert.pdf == pdf
    assert [c.id for c in queries.review_list()] == [cert.id]
    audit = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "certificate.needs_review")
    )
    assert audit.data["grade"]
    assert audit.actor_id == instructor.id
    ops.mark_reviewed(cert, actor=world.certifier, note="Still above the bar overall")
    assert not cert.needs_review
    assert queries.review_list() == []
