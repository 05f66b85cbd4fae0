"""Bad input gets a clear answer, never a 500: page numbers, line endings, methods, full disks."""

from __future__ import annotations

import errno
import io
import os
import re
from unittest import mock

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import storage
from courses.assessments.assignments.models import Submission
from lms.models import Role
from notifications.models import OutgoingMail
from tests.courses.assignments.conftest import (  # noqa: F401 - fixtures
    PDF,
    make_assignment,
    upload_files,
    world,
)
from tests.courses.conftest import make_cohort, make_course, make_enrolment  # noqa: F401

HUGE = "922337203685477580"  # times the page size, beyond a 64-bit OFFSET
BAD_PAGES = [HUGE, "9" * 40, "-5", "0", "abc", "1e9", ""]


def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _paginated_routes(w, assignment) -> list[tuple[Role | None, str]]:
    code = w.course.code
    return [
        (None, "/courses"),
        (Role.ADMIN, "/admin/users"),
        (Role.CERTIFIER, "/certification/register"),
        (w.instructor, f"/courses/{code}/grading"),
        (w.instructor, f"/courses/{code}/assignments/{assignment.assessment_id}/grading"),
    ]


@pytest.mark.parametrize("page", BAD_PAGES)
def test_any_page_number_on_every_paginated_page_gives_a_page(
    client,
    login_as,
    world,  # noqa: F811 - the fixture imported above
    make_assignment,  # noqa: F811
    page,
):
    assignment = make_assignment(world.course, actor=world.instructor)
    for who, url in _paginated_routes(world, assignment):
        if who is not None:
            login_as(who)
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 200, (url, page, response.status_code)


@pytest.mark.parametrize("page", [HUGE, "100001", "-1", "x"])
def test_api_lists_refuse_a_bad_page_number_clearly(client, page):
    response = client.get(f"/api/v1/courses?page={page}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_page_beyond_the_last_shows_the_last(client, db, app, login_as, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 20)
    login_as(Role.ADMIN)
    for n in range(25):
        make_user(email=f"zz-last-{n:02d}@example.org")
    db.session.commit()

    def addresses(page):
        html = client.get(f"/admin/users?q=zz-last-&page={page}").get_data(as_text=True)
        return re.findall(r"zz-last-\d+@example\.org", html)

    first, last = addresses(1), addresses(2)
    assert len(first) == 20
    assert len(last) == 5
    assert len(set(first) | set(last)) == 25
    assert addresses(HUGE) == addresses(3) == last


@pytest.mark.parametrize(
    "separator", ["\n", "\r\n", "\r", "\u2028", "\x85", "\r\r\n", "\x0b", "\x0c"]
)
def test_pasted_codes_with_any_line_ending_are_read(client, login_as, separator):
    login_as(Role.EMPLOYER)
    text = separator.join(["code", "NOT-A-CODE-1", "NOT-A-CODE-2", "NOT-A-CODE-3"]) + separator
    response = client.post_form("/verify/bulk", {"codes": text, "show": "1"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('data-status="not_found"') == 3


def test_a_csv_line_longer_than_the_csv_field_limit_is_explained(client, login_as):
    login_as(Role.EMPLOYER)
    upload = (io.BytesIO(b"x" * 200_000), "codes.csv")
    response = client.post_form(
        "/verify/bulk", {"file": upload, "show": "1"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "put one code on each line" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/courses", {"GET", "HEAD", "OPTIONS"}),
        ("PUT", "/login", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("DELETE", "/api/v1/courses", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_method_not_allowed_says_which_are(client, method, url, allowed):
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


def test_forgot_password_on_a_full_disk_keeps_the_mail_to_send_later(
    client, db, make_user, outbox, app
):
    make_user(email="full@example.org")
    db.session.commit()
    with mock.patch("pathlib.Path.write_bytes", _full_disk):
        response = client.post_form("/forgot-password", {"email": "full@example.org"})
    assert response.status_code == 302  # the page does not depend on the mail going out
    assert outbox() == []
    folder = os.path.join(app.instance_path, "outbox")
    assert not os.path.isdir(folder) or os.listdir(folder) == []  # no half-written message
    mail = db.session.scalars(sa.select(OutgoingMail)).one()  # sent again by a later job
    assert mail.sent_at is None
    assert "No space left on device" in mail.last_error


def test_an_upload_on_a_full_disk_is_a_clear_503_and_stores_nothing(
    client,
    db,
    app,
    login_as,
    world,  # noqa: F811
    make_assignment,  # noqa: F811
    server_fault,
):
    server_fault.add(503)  # the disk is made full on purpose
    assignment = make_assignment(world.course, actor=world.instructor)
    login_as(world.trainee)
    before = upload_files(app)
    with mock.patch.object(storage.os, "fdopen", lambda fd, mode: _FullFile(fd, "wb")):
        response = client.post_form(
            f"/courses/{world.course.code}/assignments/{assignment.assessment_id}/submit",
            {"text": "", "files": (io.BytesIO(PDF), "map.pdf")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 503
    assert "nothing was saved" in response.get_data(as_text=True)
    assert upload_files(app) == before
    assert db.session.scalars(sa.select(Submission)).all() == []


class _FullFile(io.FileIO):
    def write(self, data):
        _full_disk()


def test_a_database_full_error_is_a_clear_503(client, login_as, db, server_fault):
    server_fault.add(503)  # the database is made full on purpose
    login_as(Role.TRAINEE)
    error = sa.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))
    with mock.patch("lms.auth.views.ops.update_profile", side_effect=error):
        response = client.post_form("/account", {"name": "New Name", "locale": "en"})
    assert response.status_code == 503
    assert "nothing was saved" in response.get_data(as_text=True)


def test_other_os_errors_stay_unexpected(client, app, login_as, server_fault):
    server_fault.add(500)  # the operating system is made to fail on purpose
    login_as(Role.TRAINEE)
    app.config["PROPAGATE_TEST_ERRORS"] = False
    try:
        with mock.patch(
            "lms.auth.views.ops.update_profile", side_effect=PermissionError(13, "denied")
        ):
            response = client.post_form("/account", {"name": "New Name", "locale": "en"})
    finally:
        del app.config["PROPAGATE_TEST_ERRORS"]
    assert response.status_code == 500
