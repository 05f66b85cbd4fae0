"""A person's name in Latin letters: English pages show it, Bulgarian pages and certificates
keep the name as the person writes it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from lms.auth.operations import AccountError, create_user, update_profile
from lms.models import AuditLog, Role, User

PASSWORD = "correct horse battery"


def _language(client, language: str) -> None:
    client.post_form("/language", {"language": language})


def _shown_in(app, user, language: str) -> str:
    with app.test_request_context("/", headers={"Accept-Language": language}):
        refresh()  # the language of this request, not one cached earlier in the test
        return user.display_name


def test_display_name_follows_the_language(app, db, make_user):
    user = make_user(name="Анна Колева")
    user.name_latin = "Anna Koleva"
    assert _shown_in(app, user, "en") == "Anna Koleva"
    assert _shown_in(app, user, "bg") == "Анна Колева"
    user.name_latin = ""
    assert _shown_in(app, user, "en") == "Анна Колева"


def test_the_account_page_edits_the_latin_name(client, db, login_as, make_user):
    user = login_as(make_user(name="Анна Колева"))
    page = client.get("/account").text
    assert 'name="name_latin"' in page
    assert "Name in Latin letters" in page
    response = client.post_form(
        "/account", {"name": "Анна Колева", "name_latin": "  Anna Koleva ", "locale": "en"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name_latin == "Anna Koleva"
    assert user.name == "Анна Колева"
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "user.update_profile").order_by(AuditLog.id)
    )
    assert entry.data["changes"]["name_latin"] == ["", "Anna Koleva"]
    page = client.get("/account").text
    assert '<dd class="col-sm-8" id="account-name-latin">Anna Koleva</dd>' in page
    assert 'id="account-name">Анна Колева</dd>' in page


def test_the_account_page_refuses_hidden_characters_in_the_latin_name(
    client, db, login_as, make_user
):
    user = login_as(make_user(name="Анна Колева"))
    response = client.post_form(
        "/account", {"name": "Анна Колева", "name_latin": "Anna\u202eKoleva", "locale": "en"}
    )
    assert response.status_code == 200
    assert "Control characters such as line breaks are not allowed." in response.text
    db.session.refresh(user)
    assert user.name_latin == ""


def test_operations_check_the_latin_name(db, make_user):
    user = make_user(name="Анна Колева")
    with pytest.raises(AccountError):
        update_profile(user, name="Анна Колева", locale="en", name_latin="Anna\nKoleva")
    with pytest.raises(AccountError):
        update_profile(user, name="Анна Колева", locale="en", name_latin="a" * 201)
    # Without name_latin the profile keeps it.
    user.name_latin = "Anna Koleva"
    update_profile(user, name="Анна Колева", locale="bg")
    assert user.name_latin == "Anna Koleva"
    made = create_user(email="petya@example.org", name="Петя", password=None, name_latin=" Petya ")
    assert made.name_latin == "Petya"


def test_the_admin_sets_the_latin_name(client, db, login_as, make_user):
    login_as(make_user(name="Admin Person", roles=[Role.ADMIN], password=PASSWORD))
    response = client.post_form(
        "/admin/users/new",
        {
            "name": "Иван Тодоров",
            "name_latin": "Ivan Todorov",
            "email": "ivan@example.org",
            "roles": ["employer"],
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "ivan@example.org"))
    assert (user.name, user.name_latin) == ("Иван Тодоров", "Ivan Todorov")
    page = client.get(f"/admin/users/{user.id}").text
    assert 'name="name_latin" type="text" value="Ivan Todorov"' in page

    response = client.post_form(
        f"/admin/users/{user.id}",
        {
            "name": "Иван Тодоров",
            "name_latin": "Ivan G. Todorov",
            "email": "ivan@example.org",
            "roles": ["employer"],
            "active": "y",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name_latin == "Ivan G. Todorov"
    listing = client.get("/admin/users").text
    assert ">Ivan G. Todorov</a>" in listing
    assert ">Ivan G. Todorov</a>" in client.get("/admin/users?q=todorov").text
    _language(client, "bg")
    assert ">Иван Тодоров</a>" in client.get("/admin/users").text


def test_latin_names_are_escaped(client, db, login_as, make_user):
    user = login_as(make_user(name="Анна Колева"))
    user.name_latin = "<b>Anna</b> & Co"
    db.session.commit()
    page = client.get("/account").text
    assert "&lt;b&gt;Anna&lt;/b&gt; &amp; Co" in page
    assert "<b>Anna</b>" not in page


def test_instructor_lists_show_the_name_per_language(client, db, make_user):
    from courses.models import Course, CourseState

    anna = make_user(name="Анна Колева", roles=[Role.INSTRUCTOR])
    anna.name_latin = "Anna <Koleva>"
    db.session.add(
        Course(
            code="LAT1",
            title_en="Latin letters",
            state=CourseState.PUBLISHED,
            workload_hours=1,
            instructors=[anna],
        )
    )
    db.session.commit()
    english = client.get("/courses/LAT1").text
    assert "Anna &lt;Koleva&gt;" in english
    assert "Анна Колева" not in english
    _language(client, "bg")
    bulgarian = client.get("/courses/LAT1").text
    assert "Анна Колева" in bulgarian
    assert "Anna" not in bulgarian
