"""The notification list, the navbar count, choices, unsubscribe links and the calendar feed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from courses.assessments.models import Assessment
from courses.enrolment import operations as enrol_ops
from courses.models import Course, CourseState
from lms.models import Role
from notifications import operations as ops
from notifications.models import Delivery, Kind, Notification, Preference
from tests.notifications.conftest import parts


@pytest.fixture
def noted(db, make_user):
    user = make_user()
    ops.notify(
        user,
        Kind.CERTIFICATE_REVOKED,
        "revoke:1",
        {"code": "C-1", "reason": "<b>x</b>"},
        "/my/certificates",
    )
    ops.notify(user, Kind.RENEWAL_DUE, "renewal:1", {"code": "C-2", "scheme": {"en": "S"}})
    db.session.commit()
    return user


def test_list_shows_notices_escaped_and_navbar_counts_unread(client, login_as, noted):
    login_as(noted)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Your certificate C-1 is revoked: &lt;b&gt;x&lt;/b&gt;" in page
    assert "can now be renewed" in page
    assert re.search(r'Notifications <span class="badge[^"]*">2<', page)
    assert client.post_form("/notifications/read").status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert not re.search(r'Notifications <span class="badge', page)


def test_opening_a_notice_marks_it_read_and_follows_its_link(client, db, login_as, noted):
    login_as(noted)
    note = db.session.scalar(sa.select(Notification).where(Notification.ref == "revoke:1"))
    response = client.post_form(f"/notifications/{note.id}/open")
    assert response.headers["Location"] == "/my/certificates"
    db.session.refresh(note)
    assert note.read_at is not None
    assert ops.unread_count(noted) == 1


def test_nobody_opens_another_persons_notice(client, db, login_as, noted):
    login_as(Role.TRAINEE)
    note = db.session.scalar(sa.select(Notification).where(Notification.ref == "revoke:1"))
    assert client.post_form(f"/notifications/{note.id}/open").status_code == 404
    assert client.get("/notifications").status_code == 200
    db.session.refresh(note)
    assert note.read_at is None


@pytest.mark.parametrize("path", ["/notifications", "/notifications/preferences"])
def test_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_preferences_page_saves_choices_per_kind(client, db, login_as):
    user = login_as(Role.INSTRUCTOR)
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "New submissions to mark" in page
    assert "Certificate issued" not in page
    response = client.post_form(
        "/notifications/preferences", {"kind_new_submissions": "immediately"}
    )
    assert response.status_code == 302
    assert ops.deliveries(user)[Kind.NEW_SUBMISSIONS] == Delivery.IMMEDIATELY


def test_one_click_unsubscribe_from_the_mail(client, db, world, qualify, make_user, outbox):
    from certificates import operations as cert_ops

    trainee = qualify(make_user(), world)
    cert_ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    [message] = outbox()
    link = message["List-Unsubscribe"].strip("<>")
    assert link in parts(message)[1]
    path = link.removeprefix("http://localhost")
    assert "Stop e-mail about: Certificate issued?" in client.get(path).get_data(as_text=True)
    # Mail clients post without a session or CSRF token: the signed link is the proof.
    page = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert page.status_code == 200
    assert db.session.get(Preference, (trainee.id, "certificate_issued")).delivery == "off"
    assert client.post(path[:-3] + "abc").status_code == 404  # a forged token


def test_calendar_feed_imports_and_can_be_revoked(client, db, login_as, make_user):
    user = login_as(Role.TRAINEE)
    user.locale = "bg"
    course = Course(
        code="ICS-1", title_en="Smart water", title_bg="Умна вода", state=CourseState.PUBLISHED
    )
    due = datetime(2027, 3, 5, 14, 0, tzinfo=UTC)
    db.session.add_all(
        [
            course,
            Assessment(
                course=course,
                kind="assignment",
                title_en="Leak report",
                title_bg="Доклад за течове",
                max_points=Decimal(10),
                due_at=due,
                published=True,
            ),
        ]
    )
    db.session.flush()
    admin = make_user(roles=[Role.ADMIN])
    cohort = enrol_ops.create_cohort(
        course,
        enrol_ops.CohortData(
            "Spring", date(2027, 3, 1), date(2027, 3, 31), None, None, None, True, "Пролет"
        ),
        actor=admin,
    )
    enrol_ops.enrol(cohort, user, actor=admin, by_staff=True)
    db.session.commit()

    page = client.post_form("/notifications/calendar").get_data(as_text=True)
    url = re.search(r"http://localhost(/calendar/[^<\s]+\.ics)", page).group(1)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    term = events[f"cohort-{cohort.id}"]
    assert str(term["summary"]) == "Умна вода (Пролет)"
    assert term.decoded("dtstart") == date(2027, 3, 1)
    assert term.decoded("dtend") == date(2027, 4, 1)
    deadline = next(e for k, e in events.items() if k.startswith("due-"))
    assert str(deadline["summary"]) == "Срок: Доклад за течове · Умна вода"
    assert deadline.decoded("dtstart") == due

    client.post_form("/notifications/calendar/revoke")
    assert client.get(url).status_code == 404


def test_a_new_calendar_address_replaces_the_old(client, db, login_as):
    login_as(Role.TRAINEE)
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/notifications/preferences"' in account
    first = re.search(
        r"/calendar/[^<\s]+\.ics",
        client.post_form("/notifications/calendar").get_data(as_text=True),
    ).group(0)
    second = re.search(
        r"/calendar/[^<\s]+\.ics",
        client.post_form("/notifications/calendar").get_data(as_text=True),
    ).group(0)
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert client.get("/calendar/" + "x" * 43 + ".ics").status_code == 404


def test_reminder_for_an_assignment_due_within_48_hours(db, make_user):
    from courses.assessments.assignments.models import Assignment
    from lms.db import utcnow
    from notifications import reminders

    course = Course(
        code="DUE-1", title_en="Mobility", title_bg="Мобилност", state=CourseState.PUBLISHED
    )
    assessment = Assessment(
        course=course,
        kind="assignment",
        title_en="Traffic study",
        title_bg="Проучване",
        max_points=Decimal(10),
        published=True,
        due_at=utcnow() + timedelta(hours=30),
    )
    db.session.add_all([course, assessment, Assignment(assessment=assessment)])
    db.session.flush()
    today = date.today()
    admin = make_user(roles=[Role.ADMIN])
    cohort = enrol_ops.create_cohort(
        course,
        enrol_ops.CohortData(
            "Now", today - timedelta(days=5), today + timedelta(days=30), None, None, None, True
        ),
        actor=admin,
    )
    trainee = make_user()
    enrol_ops.enrol(cohort, trainee, actor=admin, by_staff=True)
    db.session.commit()
    assert reminders.assignments_due(utcnow()) == 1
    assert reminders.assignments_due(utcnow()) == 0
    note = db.session.scalar(sa.select(Notification).where(Notification.kind == "assignment_due"))
    assert note.user_id == trainee.id
    assert note.params["assignment"]["en"] == "Traffic study"
