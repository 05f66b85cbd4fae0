"""Who may open the reports: every report route x every role, and anonymous.

Admins and centre managers read them; nobody else does. A manager holds no other
power: the pages of other roles stay closed to them.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.models import Role, UserRole
from reports.queries import REPORTS

TABLES = {
    "enrolments": "by_month",
    "progress": "funnel",
    "results": "assessments",
    "competencies": "gains",
    "certification": "by_scheme",
}
ROUTES = [
    "/reports/",
    "/reports/?from=2026-01-01&to=2026-12-31",
    "/reports/funder.pdf?lang=en",
    "/reports/funder.pdf?lang=bg",
    *(f"/reports/{name}" for name in REPORTS),
    *(f"/reports/{name}/{table}.csv" for name, table in TABLES.items()),
    *(f"/reports/{name}/{table}.csv?excel=1" for name, table in TABLES.items()),
    *(f"/reports/{name}.xlsx" for name in REPORTS),
]
READERS = {Role.ADMIN, Role.MANAGER}


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
@pytest.mark.parametrize("url", ROUTES)
def test_report_routes(client, login_as, role, url):
    if role is not None:
        login_as(role)
    response = client.get(url)
    if role is None:
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    elif role in READERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


# Pages of other roles (lists of people, grading, certification, administration).
OTHER_PAGES = ["/admin/users", "/teaching", "/certification", "/verify/bulk", "/admin/schemes"]


@pytest.mark.parametrize("url", OTHER_PAGES)
def test_a_manager_gets_no_other_power(client, login_as, url):
    login_as(Role.MANAGER)
    assert client.get(url).status_code in (403, 404)


def test_unknown_report_and_table_are_not_found(client, login_as):
    login_as(Role.MANAGER)
    assert client.get("/reports/people").status_code == 404
    assert client.get("/reports/enrolments/names.csv").status_code == 404
    assert client.get("/reports/funder.pdf?lang=de").status_code == 404


def test_the_database_accepts_the_manager_role(db, make_user):
    user = make_user(roles=[Role.MANAGER])
    db.session.flush()
    stored = db.session.scalar(sa.select(UserRole.role).where(UserRole.user_id == user.id))
    assert stored == "manager"


def test_reports_link_shows_for_readers_only(client, login_as, make_user):
    login_as(Role.MANAGER)
    assert 'href="/reports/"' in client.get("/account").get_data(as_text=True)
    client.post_form("/logout")
    login_as(make_user(roles=[Role.INSTRUCTOR]))
    assert 'href="/reports/"' not in client.get("/account").get_data(as_text=True)
