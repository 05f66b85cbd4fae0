"""Who may open each quiz route: routes x roles, anonymous included.

Staff pages are for the course's instructors and admins; the quiz page for them
and the course's enrolled trainees; attempts belong to their trainee (the
review is also open to the course's staff). Everyone else gets 403.
"""

from __future__ import annotations

import pytest

from courses.assessments.quizzes import operations as ops
from lms.models import Role

ROLES = (
    "anonymous",
    "enrolled",
    "not_enrolled",
    "instructor",
    "other_instructor",
    "certifier",
    "employer",
    "admin",
)
STAFF = {"instructor", "admin"}

# route name -> (method, url template, form data, the roles allowed, status when allowed)
ROUTES = {
    "bank": ("GET", "/courses/QZ-1/questions", None, STAFF, 200),
    "question_new": ("GET", "/courses/QZ-1/questions/new/numeric", None, STAFF, 200),
    "question_edit": ("GET", "/courses/QZ-1/questions/{question}/edit", None, STAFF, 200),
    "question_delete": ("POST", "/courses/QZ-1/questions/{spare}/delete", {}, STAFF, 302),
    "manage": ("GET", "/courses/QZ-1/quizzes/manage", None, STAFF, 200),
    "quiz_new": ("GET", "/courses/QZ-1/quizzes/new", None, STAFF, 200),
    "quiz_edit": ("GET", "/courses/QZ-1/quizzes/{quiz}/edit", None, STAFF, 200),
    "quiz_questions": ("GET", "/courses/QZ-1/quizzes/{quiz}/questions", None, STAFF, 200),
    "quiz_publish": (
        "POST",
        "/courses/QZ-1/quizzes/{quiz}/publish",
        {"published": "1"},
        STAFF,
        302,
    ),
    "attempts": ("GET", "/courses/QZ-1/quizzes/{quiz}/attempts", None, STAFF, 200),
    "quiz": ("GET", "/courses/QZ-1/quizzes/{quiz}", None, STAFF | {"enrolled"}, 200),
    "start": ("POST", "/courses/QZ-1/quizzes/{quiz}/start", {}, {"enrolled"}, 302),
    "attempt": ("GET", "/quiz-attempts/{attempt}", None, {"enrolled"}, 200),
    "attempt_post": ("POST", "/quiz-attempts/{attempt}", {"action": "save"}, {"enrolled"}, 302),
    "save_answer": (
        "POST",
        "/quiz-attempts/{attempt}/answer",
        {"question": "{tf}", "q{tf}": "true"},
        {"enrolled"},
        200,
    ),
    "review": ("GET", "/quiz-attempts/{graded}/review", None, STAFF | {"enrolled"}, 200),
}


@pytest.fixture
def ids(db, world, make_question, make_course, make_user):
    graded = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    ops.submit_attempt(graded, actor=graded.user)
    attempt = ops.start_attempt(world.quiz, world.trainee, actor=world.trainee)
    spare = make_question(world.course, "short")
    db.session.commit()
    return {
        "quiz": world.quiz.id,
        "question": world.questions["single"].id,
        "spare": spare.id,
        "tf": world.questions["true_false"].id,
        "attempt": attempt.id,
        "graded": graded.id,
    }


def _who(role: str, world, make_user, make_course):
    if role == "enrolled":
        return world.trainee
    if role == "instructor":
        return world.instructor
    if role == "not_enrolled":
        return make_user(roles=[Role.TRAINEE])
    if role == "other_instructor":
        other = make_user(roles=[Role.INSTRUCTOR])
        make_course(instructors=[other])
        return other
    return make_user(roles=[Role(role)])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_permission_matrix(client, login_as, world, ids, make_user, make_course, route, role):
    method, url, data, allowed, ok_status = ROUTES[route]
    url = url.format(**ids)
    if role != "anonymous":
        login_as(_who(role, world, make_user, make_course))
    if method == "GET":
        response = client.get(url)
    else:
        form = {k.format(**ids): v.format(**ids) for k, v in data.items()}
        response = client.post_form(url, form)

    if role == "anonymous":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    elif role in allowed:
        assert response.status_code == ok_status, response.get_data(as_text=True)[:500]
    else:
        assert response.status_code == 403


def test_a_draft_course_hides_its_quizzes_from_everyone_but_staff(client, login_as, db, world, ids):
    world.course.state = "draft"
    db.session.commit()
    login_as(world.trainee)
    assert client.get(f"/courses/QZ-1/quizzes/{world.quiz.id}").status_code == 404
    assert client.get(f"/quiz-attempts/{ids['attempt']}").status_code == 404
    login_as(world.instructor)
    assert client.get(f"/courses/QZ-1/quizzes/{world.quiz.id}").status_code == 200


def test_an_unpublished_quiz_is_not_found_by_trainees(client, login_as, db, world):
    world.quiz.assessment.published = False
    db.session.commit()
    login_as(world.trainee)
    assert client.get(f"/courses/QZ-1/quizzes/{world.quiz.id}").status_code == 404
    assert client.post_form(f"/courses/QZ-1/quizzes/{world.quiz.id}/start").status_code == 404


def test_a_quiz_under_another_course_code_is_not_found(client, login_as, world, make_course):
    other = make_course(instructors=[world.instructor])
    login_as(world.instructor)
    assert client.get(f"/courses/{other.code}/quizzes/{world.quiz.id}/edit").status_code == 404
