"""Every certification route against every kind of visitor."""

from __future__ import annotations

import pytest

from certificates import operations as ops
from lms.models import Role

ANON, HOLDER, OTHER, INSTRUCTOR, CERTIFIER, EMPLOYER, ADMIN = (
    "anonymous",
    "holder",
    "other",
    "instructor",
    "certifier",
    "employer",
    "admin",
)
EVERYONE = (ANON, HOLDER, OTHER, INSTRUCTOR, CERTIFIER, EMPLOYER, ADMIN)
LOGGED_IN = (HOLDER, OTHER, INSTRUCTOR, CERTIFIER, EMPLOYER, ADMIN)

# (method, url template, who may, status when allowed)
ROUTES = [
    ("GET", "/admin/schemes", {ADMIN}, 200),
    ("GET", "/admin/schemes/new", {ADMIN}, 200),
    ("GET", "/admin/schemes/{scheme}/edit", {ADMIN}, 200),
    ("GET", "/admin/schemes/{scheme}/requirements", {ADMIN}, 200),
    ("POST", "/admin/schemes/{scheme}/requirements/{requirement}/delete", {ADMIN}, 302),
    ("GET", "/admin/schemes/{scheme}/design", {ADMIN}, 200),
    ("GET", "/admin/waivers", {ADMIN}, 200),
    ("GET", "/certification", {CERTIFIER, ADMIN}, 200),
    ("GET", "/certification/schemes/{scheme}", {CERTIFIER, ADMIN}, 200),
    ("POST", "/certification/schemes/{scheme}/issue/{other}", {CERTIFIER, ADMIN}, 302),
    ("GET", "/certification/schemes/{scheme}/batch", {CERTIFIER, ADMIN}, 200),
    ("POST", "/certification/schemes/{scheme}/bulk", {CERTIFIER, ADMIN}, 302),
    ("GET", "/certification/register", {CERTIFIER, ADMIN}, 200),
    ("GET", "/certification/certificates/{code}", {CERTIFIER, ADMIN}, 200),
    ("POST", "/certification/certificates/{code}/suspend", {CERTIFIER, ADMIN}, 302),
    ("POST", "/certification/certificates/{code}/reinstate", {CERTIFIER, ADMIN}, 302),
    ("POST", "/certification/certificates/{code}/revoke", {CERTIFIER, ADMIN}, 302),
    ("POST", "/certification/certificates/{code}/renew", {CERTIFIER, ADMIN}, 302),
    ("POST", "/certification/certificates/{code}/reviewed", {CERTIFIER, ADMIN}, 302),
    ("GET", "/my/certificates", set(LOGGED_IN), 200),
    ("GET", "/certificates/{code}.pdf", set(EVERYONE), 200),
    ("GET", "/credentials/{code}.json", set(EVERYONE), 200),
]


@pytest.fixture
def setup(db, world, trainee, make_user, qualify):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    other = qualify(make_user(name="Other Trainee"), world)
    db.session.commit()
    people = {
        HOLDER: trainee,
        OTHER: other,
        INSTRUCTOR: make_user(roles=[Role.INSTRUCTOR]),
        CERTIFIER: world.certifier,
        EMPLOYER: make_user(roles=[Role.EMPLOYER]),
        ADMIN: world.admin,
    }
    values = {
        "scheme": world.scheme.code,
        "requirement": world.scheme.requirements[0].id,
        "code": cert.code,
        "other": other.id,
    }
    return people, values


@pytest.mark.parametrize(
    ("method", "url", "allowed", "ok"), ROUTES, ids=[f"{m} {u}" for m, u, _, _ in ROUTES]
)
@pytest.mark.parametrize("who", EVERYONE)
def test_route_permissions(client, login_as, setup, method, url, allowed, ok, who):
    people, values = setup
    if who != ANON:
        login_as(people[who])
    target = url.format(**values)
    if method == "GET":
        response = client.get(target)
    else:
        response = client.post_form(target, {"reason": "Checked"})
    if who in allowed:
        assert response.status_code == ok, response.get_data(as_text=True)[:500]
    elif who == ANON:
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403
