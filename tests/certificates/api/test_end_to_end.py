"""An integrator's round through /api/v1: tokens from the account page, then JSON calls only."""

from __future__ import annotations

import re
from datetime import date, timedelta

from courses.assessments.quizzes import operations as quiz_ops
from lms.models import Role
from tests.api_helpers import assert_matches_openapi, bearer
from tests.courses.conftest import make_cohort, make_course  # noqa: F401 - fixtures
from tests.courses.quizzes.conftest import question_data


def _token_from_account_page(client, login_as, user, scopes) -> dict:
    """Create a token on the account page as ``user`` and return its Bearer headers."""
    login_as(user, password_confirmed=True)  # as right after typing the password
    form = {
        "name": "integration script",
        "scopes": list(scopes),
        "expires_on": (date.today() + timedelta(days=30)).isoformat(),
    }
    html = client.post_form("/account/tokens", form).get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', html).group(1)
    client.get("/logout")  # the API ignores the session; prove it by leaving it
    return bearer(secret)


def test_enrol_take_a_quiz_read_the_gradebook_issue_and_verify(
    client,
    db,
    login_as,
    make_user,
    make_course,  # noqa: F811
    make_cohort,  # noqa: F811
    make_scheme,
):
    instructor = make_user(roles=[Role.INSTRUCTOR], name="Anna Instructor")
    certifier = make_user(roles=[Role.CERTIFIER], name="Petya Certifier")
    trainee = make_user(roles=[Role.TRAINEE], name="Мария Иванова", email="maria@example.org")
    course = make_course(code="SC-E2E", instructors=[instructor])
    cohort = make_cohort(course, self_enrolment=False)
    question = quiz_ops.create_question(course, question_data("single"), actor=instructor)
    quiz = quiz_ops.create_quiz(
        course, quiz_ops.QuizSettings(title_en="Final check"), actor=instructor
    )
    quiz_ops.set_questions(quiz, [question.id], actor=instructor)
    quiz_ops.set_published(quiz, True, actor=instructor)
    scheme = make_scheme(exam=quiz.assessment)
    db.session.commit()

    teach = _token_from_account_page(client, login_as, instructor, ["read", "teach"])
    learn = _token_from_account_page(client, login_as, trainee, ["read", "learn"])
    certify = _token_from_account_page(client, login_as, certifier, ["certify"])

    def api(method, url, headers=None, **kwargs):
        response = client.open(url, method=method, headers=headers or {}, **kwargs)
        assert_matches_openapi(response)
        return response

    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/certificates" in spec.get_json()["paths"]

    # The instructor enrols the trainee by e-mail.
    enrolled = api(
        "POST",
        f"/api/v1/cohorts/{cohort.id}/enrolments",
        teach,
        json={"email": "maria@example.org"},
    )
    assert enrolled.status_code == 201
    assert enrolled.get_json()["status"] == "active"

    # The trainee starts an attempt, answers and submits it.
    attempt = api("POST", f"/api/v1/quizzes/{quiz.id}/attempts", learn).get_json()
    (shown,) = attempt["questions"]
    assert "correct" not in str(shown)
    right = next(o.id for o in question.options if o.correct)
    answers = {"answers": [{"question_id": shown["id"], "response": str(right)}]}
    assert api("PUT", attempt["links"]["answers"], learn, json=answers).status_code == 200
    graded = api("POST", attempt["links"]["submit"], learn).get_json()
    assert graded["status"] == "submitted"
    assert graded["score"].startswith("100")

    # The instructor reads the gradebook.
    book = api("GET", f"/api/v1/courses/{course.code}/gradebook", teach).get_json()
    (row,) = book["items"]
    assert row["trainee"]["email"] == "maria@example.org"
    (cell,) = [g for g in row["grades"] if g["assessment_id"] == quiz.assessment_id]
    assert cell["status"] == "released"

    # The certifier issues the certificate, and anyone verifies it.
    issued = api(
        "POST",
        "/api/v1/certificates",
        dict(certify, **{"Idempotency-Key": "issue-maria"}),
        json={"scheme": scheme.code, "user_id": trainee.id},
    )
    assert issued.status_code == 201
    code = issued.get_json()["code"]
    report = api("GET", f"/api/v1/verify/{code}").get_json()
    assert report["valid"] is True
    assert report["status"] == "active"
    mine = api("GET", "/api/v1/me/certificates", learn).get_json()
    assert [c["code"] for c in mine["items"]] == [code]
