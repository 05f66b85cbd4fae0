"""Outgoing e-mail: SMTP when configured, otherwise ``.eml`` files in the instance outbox."""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from lms.db import utcnow

logger = logging.getLogger(__name__)


def outbox_path() -> Path:
    """Return the folder where messages go when no SMTP server is configured."""
    return Path(current_app.instance_path) / "outbox"


def deliver(message: EmailMessage) -> Path | None:
    """Send a built message over SMTP, or write it to the outbox (returned) without MAIL_SERVER."""
    subject, to = message["Subject"], message["To"]
    config = current_app.config
    if config.get("MAIL_SERVER"):
        _send_smtp(message)
        logger.info("sent mail %r to %s over SMTP", subject, to)
        return None
    folder = outbox_path()
    folder.mkdir(parents=True, exist_ok=True)
    # Time first, so a directory listing sorts the messages in the order they were sent.
    name = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
    path = folder / name
    # Whole or not at all: on a full disk a half-written message must not look sent.
    partial = folder / (name + ".part")
    try:
        partial.write_bytes(message.as_bytes())
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("mail %r to %s written to %s", subject, to, path)
    return path


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=30) as smtp:
        if config.get("MAIL_USE_TLS", True):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
