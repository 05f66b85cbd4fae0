"""Who may use each assignment route: every route x every kind of person."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments import storage
from courses.assessments.assignments.models import Submission
from tests.courses.assignments.conftest import PDF

PEOPLE = (
    "anonymous",
    "trainee",
    "classmate",
    "outsider",
    "instructor",
    "other_instructor",
    "certifier",
    "employer",
    "admin",
)
STAFF = {"instructor", "admin"}
STUDENTS = {"trainee", "classmate"}

# (name, method, url template, who may use it)
ROUTES = [
    ("index", "GET", "/courses/{c}/assignments", STAFF),
    ("new", "GET", "/courses/{c}/assignments/new", STAFF),
    ("new-post", "POST", "/courses/{c}/assignments/new", STAFF),
    ("edit", "GET", "/courses/{c}/assignments/{a}/edit", STAFF),
    ("edit-post", "POST", "/courses/{c}/assignments/{a}/edit", STAFF),
    ("rubric", "GET", "/courses/{c}/assignments/{a}/rubric", STAFF),
    ("add-criterion", "POST", "/courses/{c}/assignments/{a}/rubric/criteria", STAFF),
    ("edit-criterion", "GET", "/courses/{c}/assignments/{a}/rubric/criteria/{k}", STAFF),
    ("edit-criterion-post", "POST", "/courses/{c}/assignments/{a}/rubric/criteria/{k}", STAFF),
    ("delete-criterion", "POST", "/courses/{c}/assignments/{a}/rubric/criteria/{k}/delete", STAFF),
    ("add-level", "POST", "/courses/{c}/assignments/{a}/rubric/criteria/{k}/levels", STAFF),
    ("edit-level", "GET", "/courses/{c}/assignments/{a}/rubric/levels/{l}", STAFF),
    ("edit-level-post", "POST", "/courses/{c}/assignments/{a}/rubric/levels/{l}", STAFF),
    ("delete-level", "POST", "/courses/{c}/assignments/{a}/rubric/levels/{l}/delete", STAFF),
    ("detail", "GET", "/courses/{c}/assignments/{a}", STAFF | STUDENTS),
    ("submit", "POST", "/courses/{c}/assignments/{a}/submit", STAFF | STUDENTS),
    ("download", "GET", "/courses/{c}/assignments/{a}/files/{f}", STAFF | {"trainee"}),
    ("course-queue", "GET", "/courses/{c}/grading", STAFF),
    ("queue", "GET", "/courses/{c}/assignments/{a}/grading", STAFF),
    ("grade", "GET", "/courses/{c}/assignments/{a}/submissions/{s}", STAFF),
    ("grade-post", "POST", "/courses/{c}/assignments/{a}/submissions/{s}", STAFF),
    ("release", "POST", "/courses/{c}/assignments/{a}/submissions/{s}/release", STAFF),
    ("release-all", "POST", "/courses/{c}/assignments/{a}/release", STAFF),
]


@pytest.fixture
def scene(app, db, world, make_assignment):
    assignment = make_assignment(world.course)
    with app.test_request_context():
        stored = storage.receive(
            io.BytesIO(PDF), "map.pdf", allowed=assignment.type_keys, max_bytes=10_000
        )
        storage.keep([stored])
        storage.discard([stored])
    submission = ops.submit(
        assignment, world.trainee, text="Secret map of Мария", files=[stored], actor=world.trainee
    )
    db.session.commit()
    criterion = assignment.criteria[0]
    return {
        "c": world.course.code,
        "a": assignment.assessment_id,
        "k": criterion.id,
        "l": criterion.levels[0].id,
        "s": submission.id,
        "f": submission.files[0].id,
    }


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize(
    ("name", "method", "template", "allowed"), ROUTES, ids=[r[0] for r in ROUTES]
)
def test_permission_matrix(client, world, scene, login_as, who, name, method, template, allowed):
    if who != "anonymous":
        login_as(getattr(world, who))
    url = template.format(**scene)
    response = client.get(url) if method == "GET" else client.post_form(url, {})
    response.close()
    if who == "anonymous":
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    elif who in allowed:
        assert response.status_code in (200, 302, 303), (response.status_code, url)
        if response.status_code == 302:
            assert "/login" not in response.headers["Location"]
    else:
        assert response.status_code == 403, (response.status_code, url)


def test_a_classmate_sees_nothing_of_another_trainees_work(client, world, scene, login_as):
    login_as(world.classmate)
    page = client.get("/courses/{c}/assignments/{a}".format(**scene))
    assert page.status_code == 200
    assert "Secret map" not in page.text
    assert "map.pdf" not in page.text
    assert client.get("/courses/{c}/assignments/{a}/files/{f}".format(**scene)).status_code == 403


def test_staff_of_another_course_cannot_reach_it_through_their_own(
    client, db, world, scene, login_as, make_assignment
):
    # Ids of this course under the other course's code are not found there.
    login_as(world.other_instructor)
    other = make_assignment(world.other_course)
    for url in (
        f"/courses/{world.other_course.code}/assignments/{scene['a']}",
        f"/courses/{world.other_course.code}/assignments/{other.assessment_id}/submissions/{scene['s']}",
        f"/courses/{world.other_course.code}/assignments/{scene['a']}/files/{scene['f']}",
        f"/courses/{world.other_course.code}/assignments/{other.assessment_id}/files/{scene['f']}",
    ):
        assert client.get(url).status_code == 404, url
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Submission))
    assert rows == 1


def test_unpublished_assignment_is_hidden_from_trainees(client, world, login_as, make_assignment):
    hidden = make_assignment(world.course, title="Draft task", published=False)
    login_as(world.trainee)
    assert (
        client.get(f"/courses/{world.course.code}/assignments/{hidden.assessment_id}").status_code
        == 404
    )
    login_as(world.instructor)
    page = client.get(f"/courses/{world.course.code}/assignments/{hidden.assessment_id}")
    assert page.status_code == 200
    assert "Not published" in page.text
