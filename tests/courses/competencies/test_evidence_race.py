"""Two instructors withdrawing the same evidence at once: one withdrawal, one clear refusal.

Runs with real commits on both engines. The unique ``supersedes_id`` lets a row
be superseded once; the loser's insert fails and is reported, not lost.
"""

import threading
from datetime import date, timedelta

import sqlalchemy as sa

from courses.competencies import operations as ops
from courses.competencies.models import Evidence
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role, User


def _arrange() -> tuple[int, list[int]]:
    instructors = [
        create_user(
            email=f"race-teacher{i}@example.org",
            name=f"Teacher {i}",
            password=None,
            roles=[Role.INSTRUCTOR],
        )
        for i in range(2)
    ]
    trainee = create_user(email="race-trainee@example.org", name="Trainee", password=None)
    course = Course(code="RACE-K", title_en="Race", state="published", instructors=instructors)
    cohort = Cohort(
        course=course,
        name="Spring",
        starts_on=date.today(),
        ends_on=date.today() + timedelta(days=30),
    )
    db.session.add(Enrolment(cohort=cohort, user=trainee, status=EnrolmentStatus.ACTIVE))
    admin = create_user(
        email="race-admin@example.org", name="Admin", password=None, roles=[Role.ADMIN]
    )
    framework = ops.create_framework(code="RACE-F", name_en="Race framework", actor=admin)
    competency = ops.create_competency(framework, code="R.1", title_en="Run", actor=admin)
    row = ops.record_evidence(
        trainee,
        competency,
        framework.levels[2],
        actor=instructors[0],
        note="Ran the meeting",
        course=course,
    )
    db.session.commit()
    return row.id, [i.id for i in instructors]


def test_two_withdrawals_of_one_row_give_one(committing_app):
    evidence_id, instructor_ids = _arrange()
    db.session.remove()
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def withdraw(instructor_id: int) -> None:
        try:
            with committing_app.app_context():
                row = db.session.get(Evidence, evidence_id)
                actor = db.session.get(User, instructor_id)
                # End the read transaction: on SQLite it holds the write lock (IMMEDIATE).
                db.session.rollback()
                barrier.wait()
                try:
                    ops.withdraw_evidence(row, actor=actor, note=f"by {instructor_id}")
                    db.session.commit()
                    outcomes.append("withdrawn")
                except ops.CompetencyError as error:
                    db.session.rollback()
                    outcomes.append(error.message)
                db.session.remove()
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=withdraw, args=(i,)) for i in instructor_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(outcomes) == sorted(
        [
            "withdrawn",
            "This evidence was changed by someone else in the meantime. Reload and try again.",
        ]
    )
    rows = db.session.scalars(sa.select(Evidence).order_by(Evidence.id)).all()
    assert len(rows) == 2
    assert rows[1].supersedes_id == evidence_id
