"""Two trainees taking the last place at once: exactly one gets it.

Runs with real commits on both engines. On PostgreSQL the cohort row is locked
with SELECT ... FOR UPDATE; on SQLite the write transaction begins IMMEDIATE,
so the second one waits for the first to commit.
"""

import threading
from datetime import date, timedelta

import sqlalchemy as sa

from courses.enrolment import operations
from courses.models import Cohort, Course, Enrolment, EnrolmentStatus
from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import User


def _arrange(places_taken: int, capacity: int) -> tuple[int, list[int]]:
    course = Course(code="RACE1", title_en="Race", state="published")
    cohort = Cohort(
        course=course,
        name="Spring",
        starts_on=date.today() + timedelta(days=7),
        ends_on=date.today() + timedelta(days=30),
        capacity=capacity,
    )
    db.session.add(cohort)
    holders = [
        create_user(email=f"holder{i}@example.org", name=f"Holder {i}", password=None)
        for i in range(places_taken)
    ]
    racers = [
        create_user(email=f"racer{i}@example.org", name=f"Racer {i}", password=None)
        for i in range(2)
    ]
    db.session.flush()
    for holder in holders:
        operations.enrol(cohort, holder, actor=holder)
    db.session.commit()
    return cohort.id, [racer.id for racer in racers]


def _race(app, cohort_id: int, user_ids: list[int]) -> list[BaseException]:
    barrier = threading.Barrier(len(user_ids), timeout=30)
    errors: list[BaseException] = []

    def take_place(user_id: int) -> None:
        try:
            with app.app_context():
                barrier.wait()  # start both transactions together
                cohort = db.session.get(Cohort, cohort_id)
                user = db.session.get(User, user_id)
                operations.enrol(cohort, user, actor=user)
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=take_place, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_two_trainees_race_for_the_last_place(committing_app):
    cohort_id, racers = _arrange(places_taken=2, capacity=3)
    db.session.remove()

    errors = _race(committing_app, cohort_id, racers)

    assert errors == []
    rows = dict(
        db.session.execute(
            sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.user_id.in_(racers))
        ).all()
    )
    assert sorted(rows.values()) == [EnrolmentStatus.ACTIVE, EnrolmentStatus.WAITLISTED]
    active = db.session.scalar(
        sa.select(sa.func.count()).where(
            Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    )
    assert active == 3


def test_the_second_trainee_waits_for_the_first_to_commit(committing_app):
    """The first holds the last place uncommitted; the second must wait, then be waitlisted.

    Without the lock the second would count the places before the first commits
    and take the same place. The first gives the second up to a second to do so
    before committing: a lock that works makes that wait run out.
    """
    cohort_id, racers = _arrange(places_taken=0, capacity=1)
    db.session.remove()
    first_enrolled, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with committing_app.app_context():
                user = db.session.get(User, racers[0])
                operations.enrol(db.session.get(Cohort, cohort_id), user, actor=user)
                first_enrolled.set()
                second_done.wait(1)
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)
        finally:
            first_enrolled.set()

    def second() -> None:
        try:
            first_enrolled.wait(30)
            with committing_app.app_context():
                user = db.session.get(User, racers[1])
                operations.enrol(db.session.get(Cohort, cohort_id), user, actor=user)
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)
        finally:
            second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    rows = dict(
        db.session.execute(
            sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.user_id.in_(racers))
        ).all()
    )
    assert rows == {racers[0]: EnrolmentStatus.ACTIVE, racers[1]: EnrolmentStatus.WAITLISTED}


def test_a_withdrawal_racing_an_enrolment_never_overfills(committing_app):
    cohort_id, racers = _arrange(places_taken=1, capacity=1)
    holder = db.session.scalar(sa.select(Enrolment).where(Enrolment.cohort_id == cohort_id))
    holder_id = holder.id
    db.session.remove()
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def leave() -> None:
        try:
            with committing_app.app_context():
                barrier.wait()
                holder = db.session.get(Enrolment, holder_id)
                operations.withdraw(holder, actor=holder.user)
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    def join() -> None:
        try:
            with committing_app.app_context():
                barrier.wait()
                user = db.session.get(User, racers[0])
                operations.enrol(db.session.get(Cohort, cohort_id), user, actor=user)
                db.session.commit()
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=leave), threading.Thread(target=join)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    # Whichever came first, the newcomer ends up holding the single place.
    status = db.session.scalar(sa.select(Enrolment.status).where(Enrolment.user_id == racers[0]))
    assert status == EnrolmentStatus.ACTIVE
    active = db.session.scalar(
        sa.select(sa.func.count()).where(
            Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    )
    assert active == 1
