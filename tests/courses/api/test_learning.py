"""Lesson progress, quiz attempts and submissions over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from courses.assessments.assignments.models import Submission
from courses.assessments.quizzes import operations as quiz_ops
from courses.assessments.quizzes.models import Attempt, AttemptAnswer
from courses.models import LessonProgress
from lms.db import utcnow
from lms.storage import storage
from tests.api_helpers import assert_matches_openapi
from tests.conftest import count_queries
from tests.courses.api.conftest import correct_option
from tests.courses.api.test_enrolments import CALLERS

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def call(client, world, token_for):
    def send(caller: str, method: str, url: str, json=None, headers=None):
        who, scopes = CALLERS[caller]
        sent = dict(headers or {})
        if who is not None:
            sent.update(token_for(getattr(world, who), *scopes))
        response = client.open(url, method=method, json=json, headers=sent)
        assert_matches_openapi(response)
        return response

    return send


def count(db, model, **where) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


# --- lesson progress -----------------------------------------------------------------------

PROGRESS = {
    "anonymous": 401,
    "trainee-read": 200,
    "trainee-learn": 200,
    "outsider-learn": 403,
    "instructor-teach": 403,
    "certifier-certify": 403,
}


@pytest.mark.parametrize(("caller", "status"), PROGRESS.items())
def test_progress_matrix(call, world, caller, status):
    response = call(caller, "GET", "/api/v1/courses/API-101/progress")
    assert response.status_code == status


MARK = {
    "anonymous": 401,
    "trainee-read": 403,
    "trainee-learn": 200,
    "outsider-learn": 403,
    "instructor-teach": 403,
}


@pytest.mark.parametrize(("caller", "status"), MARK.items())
def test_mark_done_matrix(call, db, world, caller, status):
    lesson = world.lessons[0]
    response = call(caller, "PUT", f"/api/v1/courses/API-101/lessons/{lesson.id}/done")
    assert response.status_code == status
    assert count(db, LessonProgress, lesson_id=lesson.id) == (1 if status == 200 else 0)


def test_mark_done_and_not_done(call, db, world):
    first, second = world.lessons
    url = f"/api/v1/courses/API-101/lessons/{first.id}/done"
    assert call("trainee-learn", "PUT", url).get_json()["done"] is True
    assert call("trainee-learn", "PUT", url).status_code == 200  # again: no change
    body = call("trainee-read", "GET", "/api/v1/courses/api-101/progress").get_json()
    assert [(item["id"], item["done"]) for item in body["lessons"]] == [
        (first.id, True),
        (second.id, False),
    ]
    assert (body["required_done"], body["required_total"], body["percent"]) == (1, 2, 50)
    assert call("trainee-learn", "DELETE", url).get_json()["done"] is False
    assert count(db, LessonProgress, user_id=world.trainee.id) == 0


def test_lesson_of_another_course_is_not_found(call, world, make_module, make_lesson):
    foreign = make_lesson(make_module(world.other_course))
    response = call("trainee-learn", "PUT", f"/api/v1/courses/API-101/lessons/{foreign.id}/done")
    assert response.status_code == 404


# --- quiz attempts ---------------------------------------------------------------------------

START = {
    "anonymous": 401,
    "trainee-read": 403,
    "trainee-learn": 201,
    "outsider-learn": 403,
    "instructor-teach": 403,
    "certifier-certify": 403,
}


@pytest.mark.parametrize(("caller", "status"), START.items())
def test_start_attempt_matrix(call, db, world, caller, status):
    response = call(caller, "POST", f"/api/v1/quizzes/{world.quiz.id}/attempts")
    assert response.status_code == status
    assert count(db, Attempt, quiz_id=world.quiz.id) == (1 if status == 201 else 0)


def _start(call, world, caller="trainee-learn"):
    response = call(caller, "POST", f"/api/v1/quizzes/{world.quiz.id}/attempts")
    assert response.status_code == 201
    return response.get_json()


def test_attempt_never_shows_the_key_before_grading(call, world):
    body = _start(call, world)
    text = str(body)
    assert "correct" not in text
    assert "truth" not in text
    assert "accepted" not in text
    assert {q["id"] for q in body["questions"]} == {world.question.id, world.tf.id}
    assert body["status"] == "in_progress"
    assert body["score"] is None


def test_save_submit_and_read_an_attempt(call, db, world):
    attempt = _start(call, world)
    answers = [
        {"question_id": world.question.id, "response": correct_option(world.question)},
        {"question_id": world.tf.id, "response": True},  # the statement is false
    ]
    saved = call("trainee-learn", "PUT", attempt["links"]["answers"], json={"answers": answers})
    assert saved.status_code == 200
    assert saved.get_json()["saved"] == 2
    assert saved.get_json()["warnings"] == []
    submitted = call("trainee-learn", "POST", attempt["links"]["submit"])
    assert submitted.status_code == 200
    body = submitted.get_json()
    assert body["status"] == "submitted"
    assert body["points"] == "1.00" or body["points"].startswith("1")
    assert body["score"].startswith("50")
    again = call("trainee-learn", "POST", attempt["links"]["submit"])
    assert again.status_code == 409
    late = call("trainee-learn", "PUT", attempt["links"]["answers"], json={"answers": answers})
    assert late.status_code == 409
    read = call("trainee-read", "GET", attempt["links"]["self"]).get_json()
    assert read["score"] == body["score"]
    listed = call("trainee-read", "GET", f"/api/v1/quizzes/{world.quiz.id}/attempts").get_json()
    assert [a["id"] for a in listed["items"]] == [attempt["id"]]


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ("nope", "answers"),
        ([{"question_id": "x", "response": "1"}], "answers.0.question_id"),
        ([{"response": "1"}], "answers.0.question_id"),
        ([{"question_id": 1, "response": {"a": 1}}], "answers.0.response"),
        ([{"question_id": 1, "response": "1", "more": 1}], "answers.0.more"),
    ],
)
def test_bad_answers_change_nothing(call, db, world, answers, field):
    attempt = _start(call, world)
    response = call("trainee-learn", "PUT", attempt["links"]["answers"], json={"answers": answers})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert count(db, AttemptAnswer, attempt_id=attempt["id"]) == 0


def test_answer_for_a_foreign_question_saves_nothing(call, db, world, make_question):
    attempt = _start(call, world)
    stray = make_question(world.course, "single")
    answers = [
        {"question_id": world.question.id, "response": correct_option(world.question)},
        {"question_id": stray.id, "response": correct_option(stray)},
    ]
    response = call("trainee-learn", "PUT", attempt["links"]["answers"], json={"answers": answers})
    assert response.status_code == 422
    assert count(db, AttemptAnswer, attempt_id=attempt["id"]) == 0
    wrong_option = [{"question_id": world.question.id, "response": correct_option(stray)}]
    response = call(
        "trainee-learn", "PUT", attempt["links"]["answers"], json={"answers": wrong_option}
    )
    assert response.status_code == 422
    assert count(db, AttemptAnswer, attempt_id=attempt["id"]) == 0


def test_another_trainees_attempt_is_not_found(call, db, world):
    attempt = _start(call, world)
    for method, url, body in [
        ("GET", attempt["links"]["self"], None),
        ("PUT", attempt["links"]["answers"], {"answers": []}),
        ("POST", attempt["links"]["submit"], None),
    ]:
        response = call("admin-all", method, url, json=body)
        assert response.status_code == 404, url
        assert "questions" not in response.get_json()
    classmate = call("trainee-read", "GET", f"/api/v1/quiz-attempts/{attempt['id'] + 1000}")
    assert classmate.status_code == 404
    assert db.session.get(Attempt, attempt["id"]).status == "in_progress"


def test_start_retry_returns_the_first_attempt(call, db, world):
    headers = {"Idempotency-Key": "start-1"}
    url = f"/api/v1/quizzes/{world.quiz.id}/attempts"
    first = call("trainee-learn", "POST", url, headers=headers)
    call("trainee-learn", "POST", first.get_json()["links"]["submit"])
    again = call("trainee-learn", "POST", url, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(db, Attempt, quiz_id=world.quiz.id) == 1


def test_attempt_limit_is_a_conflict(call, db, world):
    for _ in range(2):
        attempt = _start(call, world)
        call("trainee-learn", "POST", attempt["links"]["submit"])
    response = call("trainee-learn", "POST", f"/api/v1/quizzes/{world.quiz.id}/attempts")
    assert response.status_code == 409
    assert count(db, Attempt, quiz_id=world.quiz.id) == 2


def test_unpublished_quiz_is_not_found(call, world, make_quiz):
    hidden = make_quiz(world.course, questions=[world.question], published=False)
    response = call("trainee-learn", "POST", f"/api/v1/quizzes/{hidden.id}/attempts")
    assert response.status_code == 404


# --- assignment submissions ----------------------------------------------------------------

SUBMIT = {
    "anonymous": 401,
    "trainee-read": 403,
    "trainee-learn": 201,
    "outsider-learn": 403,
    "instructor-teach": 403,
}


@pytest.mark.parametrize(("caller", "status"), SUBMIT.items())
def test_submit_matrix(call, db, world, caller, status):
    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions"
    response = call(caller, "POST", url, json={"text": "Map: city hall, utilities, residents."})
    assert response.status_code == status
    assert count(db, Submission) == (1 if status == 201 else 0)


def test_submissions_are_own_and_marks_hidden_until_released(call, world):
    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions"
    created = call("trainee-learn", "POST", url, json={"text": "<b>My map</b> & notes"})
    body = created.get_json()
    assert body["text"] == "<b>My map</b> & notes"
    assert body["released"] is False
    assert body["points"] is None
    mine = call("trainee-read", "GET", url).get_json()["items"]
    assert [s["id"] for s in mine] == [body["id"]]
    theirs = call("admin-all", "GET", url).get_json()["items"]
    assert theirs == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "text"), ({"text": ""}, "text"), ({"text": 5}, "text"), ({"text": "a", "x": 1}, "x")],
)
def test_bad_submission_changes_nothing(call, db, world, body, field):
    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions"
    response = call("trainee-learn", "POST", url, json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert count(db, Submission) == 0


def test_submit_retry_returns_the_first_submission(call, db, world):
    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions"
    headers = {"Idempotency-Key": "hand-in-1"}
    first = call("trainee-learn", "POST", url, json={"text": "v1"}, headers=headers)
    again = call("trainee-learn", "POST", url, json={"text": "v1"}, headers=headers)
    assert again.get_json() == first.get_json()
    assert count(db, Submission) == 1


def test_quiz_is_not_an_assignment(call, world):
    url = f"/api/v1/assignments/{world.quiz.assessment_id}/submissions"
    assert call("trainee-learn", "POST", url, json={"text": "x"}).status_code == 404


def _upload(client, world, headers, name="map.pdf", data=None):
    import io

    from tests.courses.assignments.conftest import PDF

    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions/file"
    body = {"file": (io.BytesIO(PDF if data is None else data), name)}
    response = client.post(url, data=body, headers=headers, content_type="multipart/form-data")
    assert_matches_openapi(response)
    return response


def test_file_submission(app, client, db, world, token_for):
    from tests.courses.assignments.conftest import upload_files

    before = upload_files(app)
    refused = _upload(client, world, token_for(world.trainee, "read"))
    assert refused.status_code == 403
    outsider = _upload(client, world, token_for(world.outsider, "learn"))
    assert outsider.status_code == 403
    wrong = _upload(client, world, token_for(world.trainee, "learn"), "map.exe", b"MZ\x90\x00")
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"][0]["field"] == "file"
    assert count(db, Submission) == 0
    assert upload_files(app) == before
    created = _upload(client, world, token_for(world.trainee, "learn"))
    assert created.status_code == 201
    assert created.get_json()["files"] == ["map.pdf"]
    assert count(db, Submission) == 1
    stored = db.session.scalars(sa.select(Submission)).one().files[0]
    assert storage().exists(stored.file_key)
    assert upload_files(app) - before <= {stored.file_key}  # nothing left being checked


def test_file_submission_needs_a_file(client, db, world, token_for):
    url = f"/api/v1/assignments/{world.assignment.assessment_id}/submissions/file"
    response = client.post(
        url, data={}, headers=token_for(world.trainee, "learn"), content_type="multipart/form-data"
    )
    assert_matches_openapi(response)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "file"
    assert count(db, Submission) == 0


def test_an_expired_attempt_reads_as_graded_without_a_write(
    app, client, call, db, world, token_for
):
    world.quiz.time_limit_minutes = 20
    attempt = quiz_ops.start_attempt(
        world.quiz, world.trainee, now=utcnow() - timedelta(hours=1), actor=world.trainee
    )
    quiz_ops.save_answers(
        attempt,
        {world.tf.id: False},  # the statement is false: right, and saved in time
        now=attempt.started_at + timedelta(minutes=2),
        actor=attempt.user,
    )
    db.session.commit()
    headers = token_for(world.trainee, "read")
    with count_queries(app) as counter:
        read = client.get(f"/api/v1/quiz-attempts/{attempt.id}", headers=headers).get_json()
        listed = client.get(f"/api/v1/quizzes/{world.quiz.id}/attempts", headers=headers)
    # Only the token's last-use stamp, the API's own declared short write, may be written.
    writes = [s for s in counter.statements if s.lstrip()[:6].upper() in WRITES]
    assert [s for s in writes if not s.startswith("UPDATE api_tokens SET last_used_at")] == []
    assert read["status"] == "expired"
    assert read["score"].startswith("50")
    assert [a["status"] for a in listed.get_json()["items"]] == ["expired"]
    db.session.expire_all()
    assert attempt.status == "in_progress"  # stored by the next write
    started = call("trainee-learn", "POST", f"/api/v1/quizzes/{world.quiz.id}/attempts")
    assert started.status_code == 201
    assert started.get_json()["number"] == 2
    db.session.expire_all()
    assert attempt.status == "expired"
    assert attempt.submitted_at == attempt.deadline
