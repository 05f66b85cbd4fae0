"""Enrolment rules: capacity, waiting list, promotion order, windows, withdrawal."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from courses.enrolment import operations
from courses.enrolment.operations import CohortData, EnrolmentError
from courses.models import CourseState, Enrolment, EnrolmentStatus
from lms.models import AuditLog, Role

TODAY = date(2026, 3, 10)


@pytest.fixture
def course(make_course, make_user):
    return make_course(instructors=[make_user(roles=[Role.INSTRUCTOR])])


def statuses(db, cohort) -> dict[str, str]:
    rows = db.session.execute(
        sa.select(Enrolment.user_id, Enrolment.status).where(Enrolment.cohort_id == cohort.id)
    ).all()
    return dict(rows)


def test_enrol_takes_a_place_then_waitlists_when_full(db, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=2)
    first, second, third = make_user(), make_user(), make_user()
    assert operations.enrol(cohort, first, actor=first).status == EnrolmentStatus.ACTIVE
    assert operations.enrol(cohort, second, actor=second).status == EnrolmentStatus.ACTIVE
    waiting = operations.enrol(cohort, third, actor=third)
    assert waiting.status == EnrolmentStatus.WAITLISTED
    assert waiting.enrolled_at is None
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.object_type == "Enrolment")
    ).all()
    assert actions.count("enrolment.create") == 3


def test_unlimited_cohort_never_waitlists(course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=None)
    for _ in range(5):
        user = make_user()
        assert operations.enrol(cohort, user, actor=user).status == EnrolmentStatus.ACTIVE


def test_enrolling_twice_is_refused(course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=1)
    first, second = make_user(name="Ana"), make_user(name="Boris")
    operations.enrol(cohort, first, actor=first)
    operations.enrol(cohort, second, actor=second)
    with pytest.raises(EnrolmentError, match="Ana is already enrolled"):
        operations.enrol(cohort, first, actor=first)
    with pytest.raises(EnrolmentError, match="Boris is already on the waiting list"):
        operations.enrol(cohort, second, actor=second)


def test_withdrawal_promotes_the_first_in_the_waiting_list(db, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=1)
    holder = make_user()
    queue = [make_user() for _ in range(3)]
    operations.enrol(cohort, holder, actor=holder)
    for user in queue:
        operations.enrol(cohort, user, actor=user)

    operations.withdraw(
        db.session.scalar(sa.select(Enrolment).filter_by(user_id=holder.id)),
        actor=course.instructors[0],
    )
    result = statuses(db, cohort)
    assert result[holder.id] == "withdrawn"
    assert [result[u.id] for u in queue] == ["active", "waitlisted", "waitlisted"]

    promoted = db.session.scalar(sa.select(Enrolment).filter_by(user_id=queue[0].id))
    assert promoted.enrolled_at is not None
    operations.withdraw(promoted, actor=course.instructors[0])
    result = statuses(db, cohort)
    assert [result[u.id] for u in queue] == ["withdrawn", "active", "waitlisted"]


def test_promotion_follows_queue_time_not_insertion_order(
    db, course, make_cohort, make_user, make_enrolment
):
    cohort = make_cohort(course, capacity=1)
    holder = make_enrolment(cohort, make_user())
    late, early = make_user(), make_user()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    make_enrolment(cohort, late, status="waitlisted", queued_at=base + timedelta(hours=2))
    make_enrolment(cohort, early, status="waitlisted", queued_at=base + timedelta(hours=1))
    operations.withdraw(holder, actor=course.instructors[0])
    result = statuses(db, cohort)
    assert result[early.id] == "active"
    assert result[late.id] == "waitlisted"


def test_withdrawing_from_the_waiting_list_promotes_nobody(db, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=1)
    holder, waiting, other = make_user(), make_user(), make_user()
    for user in (holder, waiting, other):
        operations.enrol(cohort, user, actor=user)
    operations.withdraw(
        db.session.scalar(sa.select(Enrolment).filter_by(user_id=waiting.id)),
        actor=course.instructors[0],
    )
    result = statuses(db, cohort)
    assert result == {holder.id: "active", waiting.id: "withdrawn", other.id: "waitlisted"}


def test_withdrawing_twice_is_refused(db, course, make_cohort, make_user):
    cohort = make_cohort(course)
    user = make_user()
    enrolment = operations.enrol(cohort, user, actor=user)
    operations.withdraw(enrolment, actor=course.instructors[0])
    with pytest.raises(EnrolmentError, match="already withdrawn"):
        operations.withdraw(enrolment, actor=course.instructors[0])


def test_re_enrolling_after_withdrawal_reuses_the_row_and_queues_at_the_back(
    db, course, make_cohort, make_user
):
    cohort = make_cohort(course, capacity=1)
    first, second = make_user(), make_user()
    row = operations.enrol(cohort, first, actor=first)
    operations.withdraw(row, actor=course.instructors[0])
    operations.enrol(cohort, second, actor=second)
    again = operations.enrol(cohort, first, actor=first)
    assert again.id == row.id
    assert again.status == EnrolmentStatus.WAITLISTED
    assert again.withdrawn_at is None
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Enrolment).filter_by(user_id=first.id)
    )
    assert count == 1


def test_raising_capacity_promotes_in_order(db, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=1)
    users = [make_user() for _ in range(4)]
    for user in users:
        operations.enrol(cohort, user, actor=user)
    data = CohortData(
        name=cohort.name,
        starts_on=cohort.starts_on,
        ends_on=cohort.ends_on,
        capacity=3,
        enrol_opens_on=None,
        enrol_closes_on=None,
        self_enrolment=True,
    )
    operations.update_cohort(cohort, data, actor=course.instructors[0])
    result = statuses(db, cohort)
    assert [result[u.id] for u in users] == ["active", "active", "active", "waitlisted"]

    data.capacity = None
    operations.update_cohort(cohort, data, actor=course.instructors[0])
    assert set(statuses(db, cohort).values()) == {"active"}


def test_capacity_cannot_drop_below_the_enrolled(db, course, make_cohort, make_user):
    cohort = make_cohort(course, capacity=3)
    for _ in range(2):
        user = make_user()
        operations.enrol(cohort, user, actor=user)
    data = CohortData(cohort.name, cohort.starts_on, cohort.ends_on, 1, None, None, True)
    with pytest.raises(EnrolmentError, match="cannot be lower than the 2 trainees"):
        operations.update_cohort(cohort, data, actor=course.instructors[0])


@pytest.mark.parametrize(
    ("settings", "state", "message"),
    [
        ({"enrol_opens_on": TODAY + timedelta(days=1)}, "published", "opens on Mar 11, 2026"),
        ({"enrol_closes_on": TODAY - timedelta(days=1)}, "published", "closed on Mar 9, 2026"),
        ({"self_enrolment": False}, "published", "course staff only"),
        ({}, CourseState.DRAFT, "not open for enrolment"),
        ({}, CourseState.ARCHIVED, "not open for enrolment"),
        (
            {"starts_on": TODAY - timedelta(days=60), "ends_on": TODAY - timedelta(days=1)},
            "published",
            "has ended",
        ),
    ],
)
def test_self_enrolment_refusals(db, make_course, make_cohort, make_user, settings, state, message):
    cohort = make_cohort(make_course(state=state), **settings)
    user = make_user()
    with pytest.raises(EnrolmentError, match=message):
        operations.enrol(cohort, user, actor=user, today=TODAY)
    assert statuses(db, cohort) == {}


def test_window_bounds_are_inclusive(course, make_cohort, make_user):
    cohort = make_cohort(course, enrol_opens_on=TODAY, enrol_closes_on=TODAY)
    user = make_user()
    assert operations.enrol(cohort, user, actor=user, today=TODAY).status == "active"


def test_staff_may_enrol_outside_the_window_and_in_drafts(make_course, make_cohort, make_user):
    staff = make_user(roles=[Role.INSTRUCTOR])
    cohort = make_cohort(
        make_course(state=CourseState.DRAFT, instructors=[staff]),
        self_enrolment=False,
        enrol_closes_on=TODAY - timedelta(days=1),
    )
    user = make_user()
    enrolment = operations.enrol(cohort, user, actor=staff, by_staff=True, today=TODAY)
    assert enrolment.status == "active"
    assert enrolment.enrolled_by == staff


def test_nobody_is_enrolled_in_an_archived_course(make_course, make_cohort, make_user):
    staff = make_user(roles=[Role.INSTRUCTOR])
    cohort = make_cohort(make_course(state=CourseState.ARCHIVED, instructors=[staff]))
    with pytest.raises(EnrolmentError, match="archived"):
        operations.enrol(cohort, make_user(), actor=staff, by_staff=True)


def test_deactivated_accounts_cannot_be_enrolled(course, make_cohort, make_user):
    cohort = make_cohort(course)
    with pytest.raises(EnrolmentError, match="deactivated"):
        operations.enrol(
            cohort, make_user(active=False), actor=course.instructors[0], by_staff=True
        )


def test_marking_a_lesson_done_is_idempotent(
    db, course, make_module, make_lesson, make_user, make_cohort, make_enrolment
):
    from courses.models import LessonProgress

    lesson = make_lesson(make_module(course))
    user = make_user()
    make_enrolment(make_cohort(course), user)
    first = operations.mark_lesson_done(user, lesson, actor=user)
    assert operations.mark_lesson_done(user, lesson, actor=user).id == first.id
    operations.mark_lesson_not_done(user, lesson, actor=user)
    operations.mark_lesson_not_done(user, lesson, actor=user)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 0
