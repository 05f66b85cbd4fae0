"""The hostile suite's standing rule: no request it sends gets a 5xx.

Every response the application gives during a test here is watched; a status of
500 or more fails the test, whatever the test itself asserts. The few tests that
break the server on purpose (a full disk, a failing operating system call) take
the ``server_fault`` fixture, and then only the status they name is let through.
"""

from __future__ import annotations

import pytest
from flask import request, request_finished


@pytest.fixture(autouse=True)
def no_server_errors(_app):
    """Fail the test if any response was a 5xx not let through; yields the statuses let through."""
    allowed: set[int] = set()
    seen: list[tuple[int, str]] = []

    def watch(sender, response, **_extra):
        if response.status_code >= 500:
            seen.append((response.status_code, f"{request.method} {request.full_path}"))

    request_finished.connect(watch, _app)
    try:
        yield allowed
    finally:
        request_finished.disconnect(watch, _app)
    unexpected = [(status, where) for status, where in seen if status not in allowed]
    assert unexpected == [], f"server errors in the hostile suite: {unexpected}"


@pytest.fixture
def server_fault(no_server_errors):
    """Let through the 5xx statuses the test names: ``server_fault.add(503)``."""
    return no_server_errors
