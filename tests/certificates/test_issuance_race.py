"""Twenty parallel issue requests for one trainee and scheme produce one certificate."""

from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa

from certificates import issuer
from certificates import operations as ops
from certificates.models import Certificate, Scheme
from courses.assessments.models import Assessment, Grade, GradeStatus
from courses.gradebook.models import CourseCompletion
from courses.models import Course, CourseState
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role, User

THREADS = 20


def test_parallel_issue_gives_one_certificate(committing_app):
    course = Course(code="RACE-101", title_en="Race", state=CourseState.PUBLISHED)
    exam = Assessment(course=course, kind="quiz", title_en="Exam", max_points=Decimal(100))
    db.session.add_all([course, exam])
    certifier = create_user(
        email="race-cert@example.org", name="C", password=None, roles=[Role.CERTIFIER]
    )
    trainee = create_user(
        email="race-trainee@example.org", name="Рая", password=None, roles=[Role.TRAINEE]
    )
    db.session.flush()
    scheme = ops.create_scheme(code="RACE", title_en="Race scheme", actor=None)
    ops.add_requirement(scheme, kind="course", course=course, min_grade=50, actor=None)
    ops.add_requirement(scheme, kind="exam", assessment=exam, min_grade=50, actor=None)
    db.session.add(
        CourseCompletion(user_id=trainee.id, course_id=course.id, completed=True, grade=80)
    )
    db.session.add(
        Grade(assessment=exam, user_id=trainee.id, points=90, status=GradeStatus.RELEASED)
    )
    # The key and the first status list exist before the rush, as after the first issue.
    issuer.current_signing_key()
    ops.current_status_list()
    db.session.commit()
    ids = (scheme.id, trainee.id, certifier.id)
    db.session.remove()

    barrier = threading.Barrier(THREADS, timeout=60)
    results, errors = [], []

    def worker():
        with committing_app.app_context():
            try:
                # Wait before touching the database: on SQLite the first read begins
                # an IMMEDIATE transaction that would hold the others at the barrier.
                barrier.wait()
                s = db.session.get(Scheme, ids[0])
                t = db.session.get(User, ids[1])
                c = db.session.get(User, ids[2])
                cert = ops.issue_certificate(s, t, actor=c)
                db.session.commit()
                results.append(cert.code)
            except Exception as exc:  # reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == THREADS
    assert len(set(results)) == 1
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Certificate))
    assert count == 1
