"""Fixtures for API tests: tokens, a small catalogue, and an app with a creating endpoint."""

from __future__ import annotations

import itertools
from contextlib import ExitStack
from datetime import date, timedelta
from unittest import mock

import marshmallow as ma
import pytest
import sqlalchemy as sa
from flask import url_for

from lms.extensions import db as _db
from lms.extensions import limiter
from lms.models import AuditLog, Role
from tests.api_helpers import make_token

_counter = itertools.count(1)


@pytest.fixture
def token_for(db):
    """Create a token: ``token_for(user, scopes=["read"], days=30)`` -> the secret."""

    def make(user, **kwargs):
        secret = make_token(user, **kwargs)
        db.session.commit()
        return secret

    return make


@pytest.fixture
def catalogue(db, make_user):
    """A published programme with a published and a draft course, and one outside it."""
    from courses.models import Cohort, Course, CourseState, Programme, ProgrammeCourse

    n = next(_counter)
    teacher = make_user(roles=[Role.INSTRUCTOR])
    published = Course(
        code=f"API{n}A",
        title_en="Smart <city> & data",
        title_bg="Умен град",
        summary_en="Sensors",
        state=CourseState.PUBLISHED,
        instructors=[teacher],
    )
    draft = Course(
        code=f"API{n}D", title_en="Draft course", state=CourseState.DRAFT, instructors=[teacher]
    )
    other = Course(code=f"API{n}O", title_en="Other course", state=CourseState.PUBLISHED)
    programme = Programme(code=f"PAPI{n}", title_en="API programme", state=CourseState.PUBLISHED)
    programme.course_links = [
        ProgrammeCourse(course=published, position=1),
        ProgrammeCourse(course=draft, position=2),
    ]
    hidden = Programme(code=f"HAPI{n}", title_en="Hidden programme", state=CourseState.DRAFT)
    soon = date.today() + timedelta(days=7)
    cohorts = [
        Cohort(
            course=published,
            name="Later",
            starts_on=soon + timedelta(days=30),
            ends_on=soon + timedelta(days=90),
            capacity=10,
        ),
        Cohort(course=published, name="Open", starts_on=soon, ends_on=soon + timedelta(days=60)),
        Cohort(
            course=published,
            name="Closed",
            starts_on=soon,
            ends_on=soon + timedelta(days=60),
            self_enrolment=False,
        ),
    ]
    db.session.add_all([published, draft, other, programme, hidden, *cohorts])
    db.session.commit()
    return {
        "teacher": teacher,
        "published": published,
        "draft": draft,
        "other": other,
        "programme": programme,
        "hidden": hidden,
        "cohorts": cohorts,
    }


# --- an app with a POST endpoint that creates something -------------------------------

from lms.api import (  # noqa: E402
    ApiSchema,
    api_blueprint,
    current_api_user,
    idempotent,
    require_scope,
)
from lms.api import register_blueprint as register_api_blueprint  # noqa: E402

notes_bp = api_blueprint("api_test_notes", __name__, url_prefix="/test-notes")


class NoteIn(ApiSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    fail = ma.fields.Boolean(load_default=False)


class NoteOut(ApiSchema):
    id = ma.fields.Integer(required=True)
    note = ma.fields.String(required=True)
    actor_id = ma.fields.Integer(required=True)


@notes_bp.route("", methods=["POST"])
@require_scope("learn")
@idempotent
@notes_bp.arguments(NoteIn)
@notes_bp.response(201, NoteOut)
def create_note(data):
    """Record a note in the audit log (a stand-in for creating a resource)."""
    from lms import audit
    from lms.api import abort

    if data["fail"]:
        abort(409, "Refused on purpose.")
    me = current_api_user._get_current_object()
    entry = audit.record("test.note", me, actor=me, note=data["note"])
    _db.session.flush()
    _db.session.commit()
    return (
        {"id": entry.id, "note": data["note"], "actor_id": entry.actor_id},
        201,
        {"Location": url_for("api_core.me")},
    )


@pytest.fixture(scope="session")
def bare_notes_app(_app):
    from lms import create_app

    config = {
        key: _app.config[key]
        for key in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PASSWORD_HASH_METHOD")
    }
    config["INSTANCE_PATH"] = _app.instance_path
    app = create_app(config)
    register_api_blueprint(app, notes_bp)
    from tests.conftest import Client

    app.test_client_class = Client
    yield app
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture
def notes_app(bare_notes_app):
    """The app with /api/v1/test-notes, its writes rolled back after the test."""
    with bare_notes_app.app_context():
        engines = _db.engines
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.dict(
                _db.session.session_factory.kw, {"join_transaction_mode": "create_savepoint"}
            )
        )
        for key, engine in list(engines.items()):
            conn = stack.enter_context(engine.connect())
            stack.callback(conn.begin().rollback)
            stack.enter_context(mock.patch.dict(engines, {key: conn}))
        limiter.reset()
        with bare_notes_app.app_context():
            yield bare_notes_app
            _db.session.remove()


@pytest.fixture
def notes_user(notes_app):
    """A trainee with a learn token in the notes app: (user, secret)."""
    from lms.auth.operations import create_user

    n = next(_counter)
    user = create_user(
        email=f"notes{n}@example.org", name=f"Notes {n}", roles=[Role.TRAINEE], password=None
    )
    _db.session.flush()
    secret = make_token(user, scopes=["learn"])
    _db.session.commit()
    return user, secret


def count_notes(user_id: int) -> int:
    return _db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "test.note", AuditLog.actor_id == user_id)
    )
