"""Handed-in files in the file store: content addresses, streamed downloads, cleanup, backups.

The same upload and download run with the instance folder and with an S3 server (moto).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments import storage
from courses.assessments.assignments.models import Submission, SubmissionFile
from lms.storage import LocalStorage, StorageError, remove_orphans
from lms.storage import storage as file_store
from tests.courses.assignments.conftest import PDF
from tests.lms.test_backup import database_url, instance_app, run  # noqa: F401
from tests.lms.test_storage import moto_endpoint, s3_store  # noqa: F401


def _url(w, assignment, suffix=""):
    return f"/courses/{w.course.code}/assignments/{assignment.assessment_id}{suffix}"


@pytest.fixture(params=["local", "s3"])
def store(request, app, monkeypatch):
    """The app's file store: the instance folder's, or a bucket of a local S3 server."""
    if request.param == "local":
        return file_store()
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = s3_store(endpoint, "uploads", prefix=f"{request.node.name[-40:]}/")
    monkeypatch.setitem(app.extensions, "storage", bucket)
    return bucket


def test_upload_is_stored_by_content_address_and_downloads_stream(
    client, db, world, login_as, make_assignment, store
):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor)
    data = PDF + os.urandom(300 * 1024)  # more than one chunk of the download stream
    login_as(w.trainee)
    response = client.post_form(
        _url(w, assignment, "/submit"),
        {"text": "", "files": (io.BytesIO(data), "Карта.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    item = db.session.scalars(sa.select(Submission)).one().files[0]
    key = hashlib.sha256(data).hexdigest()
    assert item.file_key == item.sha256 == key
    assert store.exists(key)
    if isinstance(store, LocalStorage):
        assert (store.root / key[:2] / key[2:4] / key).read_bytes() == data

    for who in (w.trainee, w.instructor):
        login_as(who)
        download = client.get(_url(w, assignment, f"/files/{item.id}"))
        assert download.status_code == 200
        assert download.is_streamed  # from the store, never read whole into memory
        assert download.get_data() == data
        assert download.headers["Content-Type"] == "application/pdf"
        assert "filename*=UTF-8''%D0%9A" in download.headers["Content-Disposition"]


def test_the_same_file_twice_is_one_stored_object(
    client, db, world, login_as, make_assignment, make_enrolment
):
    w = world
    make_enrolment(w.cohort, w.classmate)
    assignment = make_assignment(w.course, actor=w.instructor)
    for trainee in (w.trainee, w.classmate):
        login_as(trainee)
        client.post_form(
            _url(w, assignment, "/submit"),
            {"text": "", "files": (io.BytesIO(PDF), "same.pdf")},
            content_type="multipart/form-data",
        )
    files = db.session.scalars(sa.select(SubmissionFile)).all()
    assert len(files) == 2
    assert files[0].file_key == files[1].file_key
    assert list(storage.upload_dir().glob("*.part")) == []  # no checked copy left behind


def test_a_missing_stored_file_is_not_found(client, db, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor)
    data = PDF + b"soon gone"
    login_as(w.trainee)
    client.post_form(
        _url(w, assignment, "/submit"),
        {"text": "", "files": (io.BytesIO(data), "map.pdf")},
        content_type="multipart/form-data",
    )
    item = db.session.scalars(sa.select(SubmissionFile)).one()
    file_store().delete(item.file_key)
    assert client.get(_url(w, assignment, f"/files/{item.id}")).status_code == 404


def test_an_altered_stored_file_fails_its_check(db, world, make_assignment):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor)
    stored = storage.receive(io.BytesIO(PDF + b"x"), "map.pdf", allowed=["pdf"], max_bytes=1000)
    submission = ops.submit(assignment, w.trainee, files=[stored], actor=w.trainee)
    storage.keep([stored])
    storage.discard([stored])
    item = submission.files[0]
    path = file_store()._path(item.file_key)
    path.write_bytes(PDF + b"y")
    with pytest.raises(StorageError), item.open() as stream:
        stream.read()


def test_orphan_cleanup_keeps_files_rows_name(db, world, make_assignment):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor)
    stored = storage.receive(io.BytesIO(PDF + b"named"), "map.pdf", allowed=["pdf"], max_bytes=1000)
    ops.submit(assignment, w.trainee, files=[stored], actor=w.trainee)
    db.session.flush()
    storage.keep([stored])
    storage.discard([stored])
    unnamed = file_store().put(io.BytesIO(b"written for a submission that never committed"))
    assert remove_orphans(grace_seconds=-1) >= 1
    assert file_store().exists(stored.key)
    assert not file_store().exists(unnamed)


def test_a_refused_submission_stores_nothing(client, db, app, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(w.course, actor=w.instructor, allowed_types=["pdf"])
    login_as(w.trainee)
    good = PDF + b"checked, then refused with its submission"
    client.post_form(
        _url(w, assignment, "/submit"),
        {"files": [(io.BytesIO(good), "good.pdf"), (io.BytesIO(b"MZ"), "bad.pdf")]},
        content_type="multipart/form-data",
    )
    assert not file_store().exists(hashlib.sha256(good).hexdigest())
    assert list(storage.upload_dir().glob("*.part")) == []


def seed_submission(data: bytes, *, before_commit=None) -> SubmissionFile:
    """In an empty database: an enrolled trainee hands in ``data`` as a PDF, as the page does.

    ``before_commit`` runs after the file is in the store and before the rows commit.
    """
    from courses.models import Cohort, Course, CourseState, Enrolment, EnrolmentStatus
    from lms.auth.operations import create_user
    from lms.extensions import db
    from lms.models import Role

    teacher = create_user(
        email="teacher@example.org", name="Anna Koleva", password=None, roles=[Role.INSTRUCTOR]
    )
    trainee = create_user(
        email="trainee@example.org", name="Мария Иванова", password=None, roles=[Role.TRAINEE]
    )
    course = Course(
        code="AS-STORE", title_en="Stored", state=CourseState.PUBLISHED, instructors=[teacher]
    )
    today, now = date.today(), datetime.now(UTC)
    cohort = Cohort(course=course, name="A", starts_on=today, ends_on=today + timedelta(days=60))
    enrolment = Enrolment(
        cohort=cohort,
        user=trainee,
        status=EnrolmentStatus.ACTIVE,
        queued_at=now,
        enrolled_at=now,
    )
    db.session.add_all([course, cohort, enrolment])
    db.session.commit()
    assignment = ops.create_assignment(
        course,
        ops.AssignmentData(
            title_en="Map",
            published=True,
            allow_files=True,
            allowed_types=["pdf"],
            max_points=Decimal(10),
        ),
        actor=teacher,
    )
    db.session.commit()
    stored = storage.receive(io.BytesIO(data), "map.pdf", allowed=["pdf"], max_bytes=1 << 20)
    try:
        submission = ops.submit(assignment, trainee, files=[stored], actor=trainee)
        db.session.flush()
        storage.keep([stored])
        if before_commit is not None:
            before_commit(stored.key)
        db.session.commit()
    finally:
        storage.discard([stored])
    return submission.files[0]


def test_uploads_are_backed_up_and_restored(tmp_path, database_url):  # noqa: F811
    from lms.extensions import db

    data = PDF + os.urandom(2048)
    key = hashlib.sha256(data).hexdigest()
    archive = tmp_path / "backup.tar.gz"
    with instance_app(tmp_path / "source", database_url("source")) as source:
        with source.app_context():
            db.create_all()
            seed_submission(data)
            db.session.remove()
        result = run(source, "backup", str(archive))
        assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        assert f"instance/storage/{key[:2]}/{key[2:4]}/{key}" in tar.getnames()
    url = database_url("target")
    with instance_app(tmp_path / "target", url) as target:
        result = run(target, "restore", str(archive))
        assert result.exit_code == 0, result.output
    with instance_app(tmp_path / "target", url) as target, target.app_context():
        item = db.session.scalars(sa.select(SubmissionFile)).one()
        with item.open() as stream:
            assert stream.read() == data
        db.session.remove()
