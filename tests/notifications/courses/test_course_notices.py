"""Course events: released grades, cohorts starting, submissions waiting for instructors."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from lms.db import utcnow
from notifications import reminders
from notifications.models import Kind, MailState, Notification


def _kinds(db, user):
    return db.session.scalars(
        sa.select(Notification.kind)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    ).all()


def test_released_grade_is_notified_once_per_release(db, world, make_assignment, levels, outbox):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    one, two = assignment.criteria
    submission = ops.submit(assignment, w.trainee, text="My map", actor=w.trainee)
    choices = {
        one.id: ids[("Stakeholders identified", "Complete")],
        two.id: ids[("Interests and influence", "Clear")],
    }
    ops.mark(submission, actor=w.instructor, choices=choices)
    assert Kind.GRADE_RELEASED not in _kinds(db, w.trainee)  # marked, not yet released
    ops.release(submission, actor=w.instructor)
    db.session.commit()
    assert _kinds(db, w.trainee).count(Kind.GRADE_RELEASED) == 1
    note = db.session.scalar(sa.select(Notification).where(Notification.kind == "grade_released"))
    assert note.link == f"/courses/{w.course.code}/assignments/{assignment.assessment_id}"
    [message] = [m for m in outbox() if m["To"] == w.trainee.email]
    assert "Stakeholder map" in message.get_body(preferencelist=("plain",)).get_content()


def test_instructors_get_a_digest_of_new_submissions(db, world, make_assignment):
    w = world
    assignment = make_assignment(w.course)
    ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    ops.submit(assignment, w.classmate, text="b", actor=w.classmate)
    db.session.commit()
    assert reminders.new_submissions(utcnow()) == 1
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == w.instructor.id))
    assert note.kind == Kind.NEW_SUBMISSIONS
    assert note.params["count"] == 2
    assert note.mail_state == MailState.DIGEST  # by default once a day
    assert _kinds(db, w.other_instructor) == []


def test_trainees_hear_their_cohort_starts(db, make_user, make_course, make_cohort, make_enrolment):
    course = make_course(code="CS-START")
    soon = make_cohort(course, starts_on=date.today() + timedelta(days=1))
    later = make_cohort(course, starts_on=date.today() + timedelta(days=20))
    early, late = make_user(), make_user()
    make_enrolment(soon, early)
    make_enrolment(later, late)
    assert reminders.cohorts_starting(utcnow()) == 1
    assert reminders.cohorts_starting(utcnow()) == 0
    assert _kinds(db, early) == [Kind.COHORT_STARTS]
    assert _kinds(db, late) == []
