"""Certification fixtures for the notification tests, and a reader for outbox messages."""

from __future__ import annotations

import pytest

from tests.certificates.conftest import (  # noqa: F401 - fixtures used by these tests
    make_course_with_exam,
    make_scheme,
    qualify,
    world,
)


def parts(message) -> tuple[str, str]:
    """Return the plain-text and HTML bodies of a message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


@pytest.fixture
def bulgarian(make_user):
    """A trainee who reads the site in Bulgarian."""
    user = make_user(name="Мария <Иванова>")
    user.locale = "bg"
    return user
