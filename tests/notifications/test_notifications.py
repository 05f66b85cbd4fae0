"""Events reach the in-app list and the e-mail outbox, in the reader's language, as chosen."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from certificates import operations as cert_ops
from courses.enrolment import operations as enrol_ops
from lms.db import utcnow
from lms.models import Role
from notifications import operations as ops
from notifications import reminders
from notifications.models import Kind, MailState, Notification, OutgoingMail
from tests.notifications.conftest import parts


def _notes(db, user, kind=None):
    query = sa.select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == str(kind))
    return db.session.scalars(query.order_by(Notification.id)).all()


def test_issued_certificate_is_notified_in_bulgarian(db, world, qualify, bulgarian, outbox):
    qualify(bulgarian, world)
    cert = cert_ops.issue_certificate(world.scheme, bulgarian, actor=world.certifier)
    db.session.commit()

    [note] = _notes(db, bulgarian)
    assert note.kind == Kind.CERTIFICATE_ISSUED
    assert note.params["code"] == cert.code
    [message] = outbox()
    assert message["To"] == bulgarian.email
    assert message["Subject"].startswith("Издаден сертификат")
    text, html = parts(message)
    assert f"Вашият сертификат {cert.code}" in text
    assert world.scheme.title_bg in text
    assert "Здравейте, Мария <Иванова>," in text
    assert "Мария &lt;Иванова&gt;" in html
    assert "<Иванова>" not in html
    assert message["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.sent_at is not None
    assert mail.attempts == 1


def test_english_reader_gets_english(db, world, qualify, make_user, outbox):
    trainee = qualify(make_user(), world)
    trainee.locale = "en"
    cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    [message] = outbox()
    assert message["Subject"].startswith("Certificate issued")
    assert "has been issued" in parts(message)[0]


def test_the_same_event_notifies_once(db, world, make_user):
    user = make_user()
    first = ops.notify(user, Kind.RENEWAL_DUE, "renewal:1", {"code": "X"})
    again = ops.notify(user, Kind.RENEWAL_DUE, "renewal:1", {"code": "X"})
    assert first is not None
    assert again is None
    assert len(_notes(db, user)) == 1


def test_preference_off_keeps_the_app_notice_and_sends_no_mail(
    db, world, qualify, make_user, outbox
):
    trainee = qualify(make_user(), world)
    ops.set_delivery(trainee, Kind.CERTIFICATE_ISSUED, "off")
    cert = cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    cert_ops.suspend(cert, reason="Audit pending", actor=world.certifier)
    db.session.commit()
    issued, suspended = _notes(db, trainee)
    assert issued.kind == Kind.CERTIFICATE_ISSUED
    assert issued.mail_state == MailState.NONE
    assert suspended.kind == Kind.CERTIFICATE_SUSPENDED
    [message] = outbox()  # only the suspension, which still goes out immediately
    assert "suspended: Audit pending" in parts(message)[0]


def test_daily_digest_gathers_waiting_notices_into_one_mail(db, world, qualify, make_user, outbox):
    trainee = qualify(make_user(), world)
    ops.set_delivery(trainee, Kind.CERTIFICATE_ISSUED, "daily")
    ops.set_delivery(trainee, Kind.CERTIFICATE_REVOKED, "daily")
    cert = cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    cert_ops.revoke(cert, reason="Fraud found", actor=world.certifier)
    db.session.commit()
    assert outbox() == []
    assert ops.send_digests() == 1
    db.session.commit()
    [message] = outbox()
    text = parts(message)[0]
    assert "has been issued" in text
    assert "revoked: Fraud found" in text
    assert all(n.mail_state == MailState.DIGESTED for n in _notes(db, trainee))
    assert ops.send_digests() == 0  # nothing waits any more


def test_enrolment_and_promotion_are_notified(db, make_user, outbox):
    from courses.models import Course, CourseState

    course = Course(
        code="NT-1",
        title_en="Smart lighting",
        title_bg="Умно осветление",
        state=CourseState.PUBLISHED,
    )
    db.session.add(course)
    db.session.flush()
    admin = make_user(roles=[Role.ADMIN])
    cohort = enrol_ops.create_cohort(
        course,
        enrol_ops.CohortData(
            "Spring",
            date.today() + timedelta(days=10),
            date.today() + timedelta(days=40),
            1,
            None,
            None,
            True,
            name_bg="Пролет",
        ),
        actor=admin,
    )
    first, second = make_user(), make_user()
    second.locale = "bg"
    enrolment = enrol_ops.enrol(cohort, first, actor=first)
    enrol_ops.enrol(cohort, second, actor=second)  # waiting list: no notice yet
    assert [n.kind for n in _notes(db, first)] == [Kind.ENROLMENT_CONFIRMED]
    assert _notes(db, second) == []
    enrol_ops.withdraw(enrolment, actor=first)  # frees the place for the waiting list
    db.session.commit()
    [promoted] = _notes(db, second)
    assert promoted.kind == Kind.PROMOTED
    subjects = [m["Subject"] for m in outbox()]
    assert any(s.startswith("Enrolment confirmed") for s in subjects)
    assert any(
        "Умно осветление (Пролет)" in parts(m)[0] for m in outbox() if m["To"] == second.email
    )
    assert any("Smart lighting (Spring)" in parts(m)[0] for m in outbox() if m["To"] == first.email)


def test_reminders_tell_of_expiring_certificates_once(db, world, qualify, make_user):
    trainee = qualify(make_user(), world)
    cert = cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    cert.valid_until = utcnow() + timedelta(days=30)
    db.session.commit()
    counts = reminders.run_all()
    assert counts["certificates_expiring"] == 1
    assert reminders.run_all()["certificates_expiring"] == 0
    [note] = _notes(db, trainee, Kind.CERTIFICATE_EXPIRING)
    assert note.params["valid_until"] == cert.valid_until.date().isoformat()


def test_certifiers_hear_of_newly_eligible_trainees(db, world, qualify, make_user):
    first = qualify(make_user(), world)
    assert reminders.newly_eligible(utcnow()) == 1
    [note] = _notes(db, world.certifier, Kind.NEWLY_ELIGIBLE)
    assert note.params["count"] == 1
    assert note.params["ids"] == [first.id]
    assert reminders.newly_eligible(utcnow()) == 0  # nobody new
    qualify(make_user(), world)
    later = utcnow() + timedelta(hours=1)
    assert reminders.newly_eligible(later) == 1
    assert _notes(db, world.certifier, Kind.NEWLY_ELIGIBLE)[-1].params["count"] == 1


def test_no_transaction_is_open_while_the_mail_server_answers(app, db, monkeypatch):
    """On a worker the claim is committed first: a slow server keeps no write lock."""
    from notifications import tasks

    mail = OutgoingMail(recipient="ana@example.org", subject="Hello", text="Hi")
    db.session.add(mail)
    db.session.commit()
    seen = []

    def slow_server(message):
        seen.append((message["To"], db.session().in_transaction()))

    monkeypatch.setattr(tasks, "deliver", slow_server)
    assert tasks.deliver_mail.run(mail.id) is True  # as on a worker: its commits are real
    assert seen == [("ana@example.org", False)]
    assert db.session.get(OutgoingMail, mail.id).sent_at is not None
