"""Outgoing mail: the instance outbox without SMTP, STARTTLS with it."""

from __future__ import annotations

import shutil
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from lms import mail
from notifications.models import OutgoingMail
from notifications.tasks import build


def send(to: str, subject: str, body: str):
    """Send a message as the mail job builds it."""
    return mail.deliver(build(OutgoingMail(id=1, recipient=to, subject=subject, text=body)))


@pytest.fixture
def outbox_folder(app):
    folder = Path(app.instance_path) / "outbox"
    shutil.rmtree(folder, ignore_errors=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_without_smtp_the_message_goes_to_the_outbox(app, outbox_folder, caplog):
    caplog.set_level("INFO", logger="lms.mail")
    path = send("ана@example.org", "Тема: добре дошли", "Здравейте, Иван!\n& <b>\n")
    assert path is not None
    assert path.parent == outbox_folder
    assert path.suffix == ".eml"
    message = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["To"] == "ана@example.org"
    assert message["Subject"] == "Тема: добре дошли"
    assert message["From"] == app.config["MAIL_SENDER"]
    assert message["Message-ID"]
    assert message["Date"]
    assert message.get_content() == "Здравейте, Иван!\n& <b>\n"
    assert str(path) in caplog.text


def test_messages_sort_in_the_order_they_were_sent(app, outbox_folder):
    paths = [send("x@example.org", f"n{n}", "body") for n in range(3)]
    assert sorted(outbox_folder.glob("*.eml")) == paths


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.calls = [("connect", host, port)]
        FakeSMTP.instance = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.calls.append(("quit",))

    def starttls(self, context=None):
        assert context is not None  # certificates are checked
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"], message["Subject"]))


def test_with_smtp_it_uses_starttls_and_logs_in(app, outbox_folder, monkeypatch):
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "lms")
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "app-password")
    assert send("to@example.org", "Subject", "Body") is None
    assert FakeSMTP.instance.calls == [
        ("connect", "smtp.example.org", 587),
        ("starttls",),
        ("login", "lms", "app-password"),
        ("send", "to@example.org", "Subject"),
        ("quit",),
    ]
    assert not outbox_folder.exists()


def test_with_smtp_without_tls_or_login(app, monkeypatch):
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "relay.local")
    monkeypatch.setitem(app.config, "MAIL_PORT", "25")
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    send("to@example.org", "Subject", "Body")
    assert FakeSMTP.instance.calls == [
        ("connect", "relay.local", 25),
        ("send", "to@example.org", "Subject"),
        ("quit",),
    ]
