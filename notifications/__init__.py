"""Notifications: in the app, by e-mail (now, in a daily digest, or not) and as a calendar.

``init_app`` registers the pages, listens to the audit log for the events
(enrolments, releases, certificates) and declares the jobs (e-mail delivery,
hourly reminders, daily digests).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from notifications import receivers, tasks  # noqa: F401 - declares the jobs
    from notifications.views import bp, unread_badge

    app.register_blueprint(bp)
    receivers.connect()

    @app.context_processor
    def notification_helpers():
        return {"unread_notifications": unread_badge}
