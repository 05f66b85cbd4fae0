"""Each role lands where its work is; visitors get the centre's landing page."""

from __future__ import annotations

import pytest

from lms.models import Role
from tests.conftest import sign_in

HOMES = {
    Role.TRAINEE: "/dashboard",
    Role.INSTRUCTOR: "/teaching",
    Role.CERTIFIER: "/certification",
    Role.EMPLOYER: "/verify",
    Role.ADMIN: "/overview",
}


def test_visitors_get_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'action="/verify"' in html
    assert 'href="/courses"' in html
    assert 'href="/register"' in html


def test_the_landing_page_lists_published_programmes_only(client, db):
    from courses.models import CourseState, Programme

    db.session.add_all(
        [
            Programme(code="PUB-1", title_en="Published programme", state=CourseState.PUBLISHED),
            Programme(code="DRAFT-1", title_en="Draft programme", state=CourseState.DRAFT),
        ]
    )
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "Published programme" in html
    assert "Draft programme" not in html
    assert 'href="/programmes/PUB-1"' in html


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_lands_on_its_work(client, make_user, db, role):
    user = make_user(roles=[role])
    db.session.commit()
    sign_in(client, user)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == HOMES[role]
    assert client.get(HOMES[role]).status_code == 200


@pytest.mark.parametrize("role", [r for r in HOMES if r != Role.TRAINEE])
def test_only_people_who_learn_get_learning_links_and_a_transcript(client, make_user, db, role):
    user = make_user(roles=[role])
    db.session.commit()
    sign_in(client, user)
    html = client.get(HOMES[role]).get_data(as_text=True)
    assert 'href="/dashboard"' not in html
    assert 'href="/my/certificates"' not in html
    assert client.get("/competencies/transcript.pdf").status_code == 403
    assert client.get("/dashboard").status_code == 302


def test_a_trainee_gets_a_transcript_and_learning_links(client, make_user, db):
    user = make_user(roles=[Role.TRAINEE])
    db.session.commit()
    sign_in(client, user)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/my/certificates"' in html
    response = client.get("/competencies/transcript.pdf")
    assert response.status_code == 200
    assert response.data.startswith(b"%PDF-")


def test_several_roles_get_a_switcher_that_moves_home(client, make_user, db):
    user = make_user(roles=[Role.TRAINEE, Role.INSTRUCTOR, Role.CERTIFIER])
    db.session.commit()
    sign_in(client, user)
    assert client.get("/").headers["Location"] == "/certification"
    html = client.get("/certification").get_data(as_text=True)
    for role in ("trainee", "instructor", "certifier"):
        assert f'name="role" value="{role}"' in html
    response = client.post_form("/role", {"role": "trainee"})
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/").headers["Location"] == "/dashboard"
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/my/certificates"' in html
    assert 'href="/certification"' not in html  # the navigation follows the role acted in


def test_a_role_not_held_cannot_be_chosen(client, make_user, db):
    user = make_user(roles=[Role.TRAINEE])
    db.session.commit()
    sign_in(client, user)
    assert client.post_form("/role", {"role": "admin"}).status_code == 400
    assert client.get("/").headers["Location"] == "/dashboard"


def test_the_overview_is_for_admins(client, make_user, db):
    admin = make_user(roles=[Role.ADMIN])
    make_user(roles=[Role.EMPLOYER])
    db.session.commit()
    sign_in(client, admin)
    html = client.get("/overview").get_data(as_text=True)
    assert "Accounts by role" in html
    assert "published courses" in html
    assert "certificates in force" in html
    client.post_form("/logout")
    other = make_user(roles=[Role.CERTIFIER])
    db.session.commit()
    sign_in(client, other)
    assert client.get("/overview").status_code == 403


def test_an_employer_sees_their_recent_checks(client, make_user, db):
    employer = make_user(roles=[Role.EMPLOYER])
    db.session.commit()
    sign_in(client, employer)
    html = client.get("/verify").get_data(as_text=True)
    assert 'href="/verify/bulk"' in html
    assert "Your recent checks" in html
    client.get("/verify/S4C-NOPE-0000")
    html = client.get("/verify").get_data(as_text=True)
    assert 'href="/verify/S4C-NOPE-0000"' in html


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"
    response.close()
