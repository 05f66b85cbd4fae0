"""A refusal that no view catches is answered centrally: rolled back, told, never a 500."""

from __future__ import annotations

import pytest

from courses.operations import CurriculumError
from lms import create_app
from lms.exceptions import NotAllowed, UserError
from lms.extensions import csrf


@pytest.fixture
def client(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "user-error-test-secret-key-" * 2,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'errors.sqlite3'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_MEMORY_ALLOWED": True,
        }
    )

    @app.route("/refuse", methods=["GET", "POST"])
    @csrf.exempt  # the route exists only here; what it answers is under test, not CSRF
    def refuse():
        raise CurriculumError("<b>Not</b> while the course has trainees")

    @app.route("/api/v1/refuse")
    def refuse_api():
        raise NotAllowed("Only the course's instructors may do this.")

    return app.test_client()


def test_domain_errors_share_the_base():
    assert issubclass(CurriculumError, UserError)


def test_a_page_shows_the_message_escaped(client):
    response = client.get("/refuse")
    assert response.status_code == 422
    assert "&lt;b&gt;Not&lt;/b&gt; while the course has trainees" in response.text
    assert "<b>Not</b>" not in response.text


def test_a_form_goes_back_where_it_came_from_with_the_message(client):
    response = client.post("/refuse", headers={"Referer": "http://localhost/courses/SC-101"})
    assert response.status_code == 303
    assert response.location == "/courses/SC-101"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("danger", "<b>Not</b> while the course has trainees")]


def test_a_foreign_referrer_is_not_followed(client):
    response = client.post("/refuse", headers={"Referer": "https://elsewhere.example/x"})
    assert response.status_code == 303
    assert response.location == "/"


def test_the_api_answers_a_problem_document(client):
    response = client.get("/api/v1/refuse")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "Only the course's instructors may do this."
    assert response.json["title"] == "Forbidden"
