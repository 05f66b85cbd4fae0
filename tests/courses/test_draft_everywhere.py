"""A draft course does not exist for anyone outside its staff, on every page and API route.

The routes are read from the application's URL map, so a route added later is
held to the same rule without being listed here.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from courses.models import CourseState
from lms.models import Role
from tests.api_helpers import bearer, make_token

DRAFT = "DRAFT-1"


def _course_routes(app: Flask, prefix: str) -> list[str]:
    """Every GET route under ``prefix`` naming a course code, with sample ids for the rest."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or "<code>" not in rule.rule:
            continue
        if not rule.rule.startswith(prefix):
            continue
        url = rule.rule.replace("<code>", DRAFT)
        url = re.sub(r"<int:[^>]+>", "1", url)
        url = re.sub(r"<[^>]+>", "x", url)
        urls.add(url)
    return sorted(urls)


@pytest.fixture
def draft_world(make_user, make_course, make_module, make_lesson):
    instructor = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code=DRAFT, state=CourseState.DRAFT, instructors=[instructor])
    make_lesson(make_module(course))
    return instructor


OUTSIDERS = [Role.TRAINEE, Role.EMPLOYER, Role.CERTIFIER, Role.INSTRUCTOR]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_every_page_of_a_draft_is_not_found_for_outsiders(app, client, login_as, draft_world, role):
    login_as(role)
    urls = _course_routes(app, "/courses/")
    assert len(urls) > 30  # the sweep reaches authoring, gradebook, cohorts, assessments …
    answers = {url: client.get(url).status_code for url in urls}
    assert {url: code for url, code in answers.items() if code != 404} == {}


def test_the_draft_pages_open_for_its_staff(client, login_as, draft_world):
    login_as(draft_world)
    for url in (f"/courses/{DRAFT}", f"/courses/{DRAFT}/manage", f"/courses/{DRAFT}/gradebook"):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.INSTRUCTOR])
def test_every_api_route_of_a_draft_is_not_found_for_outsiders(
    app, client, db, make_user, draft_world, role
):
    token = make_token(
        make_user(roles=[role]), scopes=["read", "learn"] if role == Role.TRAINEE else ["read"]
    )
    db.session.commit()
    urls = _course_routes(app, "/api/v1/courses/")
    assert urls
    answers = {url: client.get(url, headers=bearer(token)).status_code for url in urls}
    assert {url: code for url, code in answers.items() if code != 404} == {}
