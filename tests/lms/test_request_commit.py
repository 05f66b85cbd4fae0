"""One commit per request: views change the session, the application commits once after them."""

from __future__ import annotations

from unittest import mock

import pytest
import sqlalchemy as sa
from flask import flash, g

from lms import create_app, jobs, web
from lms.db import WriteInReadOnlyRequest
from lms.exceptions import UserError
from lms.extensions import csrf, db
from lms.models import User
from tests.conftest import Client


@jobs.task(name="tests.request_commit.noted")
def noted(user_id: int) -> int:
    return user_id


class Commits:
    """Count the commits of the application's session, per request."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, session) -> None:
        self.count += 1


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "request-commit-test-secret-key-" * 2,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'commit.sqlite3'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_MEMORY_ALLOWED": True,
        }
    )
    app.test_client_class = Client

    def add(email: str) -> User:
        user = User(email=email, name="Ana Petrova")
        db.session.add(user)
        return user

    @app.route("/add", methods=["POST"])
    def add_view():
        add("ana@example.org")
        db.session.flush()
        add("boris@example.org")
        flash("Both saved.", "success")
        return "saved"

    @app.route("/add-then-fail", methods=["POST"])
    def add_then_fail():
        add("ana@example.org")
        db.session.flush()
        raise RuntimeError("after the write")

    @app.route("/add-then-refuse", methods=["POST"])
    def add_then_refuse():
        add("ana@example.org")
        db.session.flush()
        raise UserError("Not now.")

    @app.route("/add-then-answer-refusal", methods=["POST"])
    def add_then_answer_refusal():
        add("ana@example.org")
        db.session.flush()
        web.refuse()
        # The page shown after a refusal sees the data as it was.
        count = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        return f"refused, {count} users", 200

    @app.route("/add-then-400", methods=["POST"])
    def add_then_400():
        add("ana@example.org")
        db.session.flush()
        return "bad form", 400

    @app.route("/add-and-keep-with-409", methods=["POST"])
    def add_and_keep_with_409():
        add("ana@example.org")
        web.keep_changes()  # a refusal that is itself a change to keep
        return "closed", 409

    @app.route("/duplicate", methods=["POST"])
    def duplicate():
        # Not flushed: the unique e-mail is checked by the commit after the view.
        add("taken@example.org")
        flash("Saved.", "success")
        return "saved"

    @app.route("/api/v1/duplicate", methods=["POST"])
    @csrf.exempt  # the API takes tokens, not cookies
    def duplicate_api():
        add("taken@example.org")
        return {"saved": True}, 201

    @app.route("/look", methods=["GET"])
    def look():
        add("ana@example.org")  # changed in memory only: a GET never commits
        return "looked"

    @app.route("/write-on-get", methods=["GET"])
    def write_on_get():
        add("ana@example.org")
        db.session.flush()
        return "written"

    @app.route("/enqueue", methods=["POST"])
    def enqueue():
        user = add("ana@example.org")
        db.session.flush()
        jobs.enqueue(noted, user.id)
        return "queued"

    with app.app_context():
        db.create_all()
    commits = Commits()
    sa.event.listen(sa.orm.Session, "after_commit", commits)
    app.commits = commits
    yield app
    sa.event.remove(sa.orm.Session, "after_commit", commits)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    with app.app_context():  # as in the suite's fixtures: one context for the test
        yield app.test_client()


def emails(app) -> list[str]:
    """The e-mails stored, read on a connection of its own (what other requests would see)."""
    with app.app_context(), db.engine.connect() as conn:
        return sorted(conn.scalars(sa.select(User.email)))


def store(app, email: str) -> None:
    with app.app_context():
        db.session.add(User(email=email, name="Stored Already"))
        db.session.commit()
        db.session.remove()


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_a_post_view_is_committed_once_after_it_succeeds(app, client):
    app.commits.count = 0
    response = client.post_form("/add")
    assert response.status_code == 200
    assert app.commits.count == 1
    assert emails(app) == ["ana@example.org", "boris@example.org"]


def test_an_exception_leaves_nothing_written(app, client):
    app.config["PROPAGATE_TEST_ERRORS"] = False
    app.commits.count = 0
    response = client.post_form("/add-then-fail")
    assert response.status_code == 500
    assert app.commits.count == 0
    assert emails(app) == []


def test_a_user_error_leaves_nothing_written(app, client):
    app.commits.count = 0
    response = client.post_form("/add-then-refuse", headers={"Referer": "http://localhost/x"})
    assert response.status_code == 303
    assert response.location == "/x"
    assert app.commits.count == 0
    assert emails(app) == []
    assert flashes(client) == [("danger", "Not now.")]


def test_a_refusal_the_view_answers_itself_is_undone_at_once(app, client):
    response = client.post_form("/add-then-answer-refusal")
    assert response.status_code == 200
    assert response.text == "refused, 0 users"
    db.session.remove()  # the end of the request (the test keeps its context open)
    assert emails(app) == []


def test_an_error_response_is_not_committed(app, client):
    response = client.post_form("/add-then-400")
    assert response.status_code == 400
    assert emails(app) == []


def test_an_error_response_whose_changes_stand_is_committed(app, client):
    response = client.post_form("/add-and-keep-with-409")
    assert response.status_code == 409
    assert emails(app) == ["ana@example.org"]


def test_a_conflict_at_commit_is_told_to_the_user_not_a_500(app, client):
    store(app, "taken@example.org")
    response = client.post_form("/duplicate", headers={"Referer": "http://localhost/form"})
    assert response.status_code == 303
    assert response.location == "/form"
    assert emails(app) == ["taken@example.org"]
    # "Saved." was flashed before the commit failed: it is taken back.
    [(category, message)] = flashes(client)
    assert category == "danger"
    assert "nothing was saved" in message


def test_a_conflict_at_commit_in_the_api_is_a_409_problem(app, client):
    store(app, "taken@example.org")
    response = client.post("/api/v1/duplicate")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "nothing was saved" in response.json["detail"]


def test_a_get_commits_nothing(app, client):
    app.commits.count = 0
    response = client.get("/look")
    assert response.status_code == 200
    assert app.commits.count == 0
    assert emails(app) == []


def test_a_get_on_sqlite_stays_read_only(app, client):
    with pytest.raises(WriteInReadOnlyRequest):
        client.get("/write-on-get")
    assert emails(app) == []


def test_a_job_is_sent_only_after_its_transaction_committed(app, client):
    app.config["CELERY_BROKER_URL"] = "redis://broker.invalid:6379/0"
    sent = []

    def send_task(name, args, headers, countdown):
        sent.append((name, args, emails(app)))

    app.commits.count = 0
    with mock.patch.object(app.extensions["celery_client"], "send_task", send_task):
        response = client.post_form("/enqueue")
    assert response.status_code == 200
    [(name, args, stored)] = sent
    assert list(args) == [1]
    assert name == "tests.request_commit.noted"
    assert stored == ["ana@example.org"]  # another connection already sees the row
    assert app.commits.count == 1


def test_the_refusal_mark_lasts_one_request(app, client):
    client.post_form("/add-then-answer-refusal")
    db.session.remove()
    client.post_form("/add")
    assert emails(app) == ["ana@example.org", "boris@example.org"]
    assert "lms_request_refused" not in g
