"""A user's personal calendar: assignment deadlines and cohort dates, as iCalendar."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event

from courses.assessments.models import Assessment
from courses.models import Cohort, Course, EnrolmentStatus
from courses.models import Enrolment as EnrolmentRow
from lms.db import utcnow
from lms.extensions import db
from lms.models import User
from notifications.operations import absolute, language_of, path_for


def feed(user: User) -> bytes:
    """Return ``user``'s calendar: cohorts they take or teach, and their assignments' deadlines."""
    host = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0]
    calendar = Calendar()
    calendar.add("prodid", "-//Skills4Cities LMS//calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", current_app.config["CENTRE_NAME"])
    stamp = utcnow()
    with force_locale(language_of(user)):
        cohorts = db.session.execute(
            sa.select(Cohort, Course)
            .join(Course, Cohort.course_id == Course.id)
            .join(EnrolmentRow, EnrolmentRow.cohort_id == Cohort.id)
            .where(EnrolmentRow.user_id == user.id, EnrolmentRow.status == EnrolmentStatus.ACTIVE)
            .order_by(Cohort.starts_on)
        ).all()
        course_ids = {course.id for _cohort, course in cohorts}
        for cohort, course in cohorts:
            event = Event()
            event.add("uid", f"cohort-{cohort.id}@{host}")
            event.add("dtstamp", stamp)
            event.add("summary", f"{course.tr('title')} ({cohort.tr('name')})")
            event.add("dtstart", cohort.starts_on)
            event.add("dtend", cohort.ends_on + timedelta(days=1))  # all-day: end is exclusive
            event.add("url", absolute(path_for("courses.detail", code=course.code)))
            calendar.add_component(event)
        if course_ids:
            deadlines = db.session.execute(
                sa.select(Assessment, Course)
                .join(Course, Assessment.course_id == Course.id)
                .where(Assessment.course_id.in_(course_ids), Assessment.due_at.is_not(None))
                .order_by(Assessment.due_at)
            ).all()
            for assessment, course in deadlines:
                event = Event()
                event.add("uid", f"due-{assessment.id}@{host}")
                event.add("dtstamp", stamp)
                event.add(
                    "summary",
                    _("Due: %(title)s", title=assessment.tr("title")) + f" · {course.tr('title')}",
                )
                event.add("dtstart", assessment.due_at)
                event.add("dtend", assessment.due_at)
                calendar.add_component(event)
    return calendar.to_ical()
