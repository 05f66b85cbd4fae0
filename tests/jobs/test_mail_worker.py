# ruff: noqa: RUF001 - Bulgarian text is Cyrillic on purpose
"""E-mail through a real worker: the mail server is down, then up; the message arrives once."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from lms.auth.operations import create_user
from lms.extensions import db
from lms.models import Role
from notifications import operations as ops
from notifications.models import Kind, OutgoingMail
from tests.jobs.conftest import wait_for
from tests.jobs.test_bulk_worker import read


class Inbox:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd calls it
        self.messages.append(envelope.original_content)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mail_waits_for_the_server_and_is_delivered_once(make_site):
    port = free_port()
    site = make_site(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    with site.app.app_context():
        user = create_user(email="ana@example.org", name="Ана", password=None, roles=[Role.TRAINEE])
        user.locale = "bg"
        db.session.flush()
        ops.notify(
            user,
            Kind.CERTIFICATE_REVOKED,
            "revoke:7",
            {"code": "S4C-7", "reason": "Подправени документи"},
            "/my/certificates",
        )
        db.session.commit()  # the job goes to the broker now
        mail_id = read(site.app, lambda: db.session.scalar(sa.select(OutgoingMail.id)))
        site.start_worker("mail")

        def failed_twice():
            # Plain values: an expired row read after the rollback would begin a write.
            attempts, sent_at, last_error = read(
                site.app,
                lambda: db.session.execute(
                    sa.select(
                        OutgoingMail.attempts, OutgoingMail.sent_at, OutgoingMail.last_error
                    ).where(OutgoingMail.id == mail_id)
                ).one(),
            )
            return attempts >= 2 and sent_at is None and last_error

        wait_for(failed_twice, what="two refused attempts")
        inbox = Inbox()
        server = Controller(inbox, hostname="127.0.0.1", port=port)
        server.start()
        try:
            wait_for(
                lambda: read(site.app, lambda: db.session.get(OutgoingMail, mail_id).sent_at),
                what="the delivery",
            )
            # The job again (a redelivered message): it sees the mail went and sends nothing.
            client = site.app.extensions["celery_client"]
            result = client.send_task("notifications.deliver_mail", args=[mail_id])
            assert result.get(timeout=120) is False
        finally:
            server.stop()

    assert len(inbox.messages) == 1
    message = message_from_bytes(inbox.messages[0], policy=default_policy)
    assert message["To"] == "ana@example.org"
    assert message["Subject"].startswith("Отнет сертификат")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Вашият сертификат S4C-7 е отнет: Подправени документи" in text
    assert message.get_body(preferencelist=("html",)) is not None


def test_a_mail_whose_job_never_left_goes_out_when_a_worker_starts(make_site):
    port = free_port()
    site = make_site(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        with site.app.app_context():
            # Committed by a process killed before it sent the job: nothing is on the broker.
            db.session.add(OutgoingMail(recipient="ana@example.org", subject="Hello", text="Hi"))
            db.session.commit()
            mail_id = read(site.app, lambda: db.session.scalar(sa.select(OutgoingMail.id)))
            site.start_worker("mail")
            wait_for(
                lambda: read(site.app, lambda: db.session.get(OutgoingMail, mail_id).sent_at),
                what="the delivery",
            )
            # Two more jobs for it (a resend, a redelivered message): neither sends it again.
            client = site.app.extensions["celery_client"]
            again = [client.send_task("notifications.deliver_mail", args=[mail_id]) for _ in "ab"]
            assert [result.get(timeout=120) for result in again] == [False, False]
            attempts = read(site.app, lambda: db.session.get(OutgoingMail, mail_id).attempts)
    finally:
        server.stop()
    assert len(inbox.messages) == 1
    assert attempts == 1
