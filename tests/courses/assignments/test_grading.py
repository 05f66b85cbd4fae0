"""The grading queue, the marking page, stale saves, late penalties and release."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.assignments import operations as ops
from courses.assessments.assignments.models import MarkingStatus, Submission, SubmissionStatus
from courses.assessments.grades import StaleGrade, get_grade, set_grade
from courses.assessments.models import GradeChange, GradeStatus
from lms.db import utcnow
from lms.models import Role
from tests.conftest import count_queries


def _url(w, a, suffix=""):
    return f"/courses/{w.course.code}/assignments/{a.assessment_id}{suffix}"


def _flashes(client):
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def _marks(assignment, ids, first="Complete", second="Clear", **extra):
    one, two = assignment.criteria
    data = {
        f"criterion_{one.id}": ids[("Stakeholders identified", first)],
        f"criterion_{two.id}": ids[("Interests and influence", second)],
        "marking_version": "0",
        "grade_version": "0",
        "save": "1",
    }
    data.update(extra)
    return data


def _class(db, make_user, make_enrolment, cohort, n, prefix="Trainee"):
    users = []
    for i in range(n):
        user = make_user(roles=[Role.TRAINEE], name=f"{prefix} {i:03d}")
        make_enrolment(cohort, user)
        users.append(user)
    return users


def test_queue_query_count_does_not_grow_with_the_class(
    app, client, db, world, login_as, make_assignment, make_user, make_enrolment
):
    w = world
    assignment = make_assignment(w.course)
    other = make_assignment(w.course, title="Second task")
    login_as(w.instructor)

    def measure(url):
        client.get(url)  # warm up caches of the first request
        with count_queries(app) as counter:
            response = client.get(url)
        assert response.status_code == 200
        return counter.count

    counts = []
    for size in (3, 30):
        users = _class(db, make_user, make_enrolment, w.cohort, size, prefix=f"S{size}")
        for user in users:
            ops.submit(assignment, user, text="map", actor=user)
            ops.submit(other, user, text="second", actor=user)
        db.session.commit()
        counts.append(
            (
                measure(_url(w, assignment, "/grading")),
                measure(f"/courses/{w.course.code}/grading?sort=name"),
                measure(f"/courses/{w.course.code}/grading?cohort={w.cohort.id}&status=ungraded"),
            )
        )
    assert counts[0] == counts[1], counts


def test_queue_filters_sort_and_pagination(
    client, db, world, login_as, make_assignment, make_user, make_enrolment, levels
):
    w = world
    assignment = make_assignment(w.course, due_in=timedelta(days=1))
    ids = levels(assignment)
    late_user = make_user(roles=[Role.TRAINEE], name="Zoe Late")
    make_enrolment(w.cohort_b, late_user)
    ops.submit(assignment, w.trainee, text="on time", actor=w.trainee)
    ops.submit(assignment, w.classmate, text="first", actor=w.classmate)
    ops.submit(
        assignment, w.classmate, text="second attempt", actor=w.classmate
    )  # only the latest is listed
    ops.submit(
        assignment,
        late_user,
        text="late",
        now=utcnow() + timedelta(days=2, hours=1),
        actor=late_user,
    )
    db.session.commit()
    done = db.session.scalars(sa.select(Submission).where(Submission.user_id == w.trainee.id)).one()
    ops.mark(done, actor=w.instructor, choices=_choice(assignment, ids))
    db.session.commit()

    login_as(w.instructor)
    base = _url(w, assignment, "/grading")
    page = client.get(base)
    assert "3 submissions" in page.text
    assert "attempt 2" in page.text
    ungraded = client.get(base + "?status=ungraded").text
    assert "Georgi Petrov" in ungraded
    assert "Zoe Late" in ungraded
    assert "Мария" not in ungraded
    graded = client.get(base + "?status=graded").text
    assert "Мария Иванова" in graded
    assert "Georgi" not in graded
    late = client.get(base + "?late=1").text
    assert "Zoe Late" in late
    assert "3 days late" not in late
    assert "Georgi" not in late
    assert "1 submission" in late
    cohort = client.get(base + f"?cohort={w.cohort_b.id}").text
    assert "Georgi Petrov" in cohort
    assert "Zoe Late" in cohort
    assert "Мария" not in cohort
    by_name = client.get(base + "?sort=name").text
    assert by_name.index("Georgi") < by_name.index("Zoe") < by_name.index("Мария")
    most_late = client.get(base + "?sort=late").text
    assert most_late.index("Zoe") < most_late.index("Georgi")
    # Bad filter values fall back to the defaults instead of failing.
    assert client.get(base + "?status=nope&sort=drop&page=-3&cohort=x").status_code == 200


def _choice(assignment, ids, first="Complete", second="Clear"):
    one, two = assignment.criteria
    return {
        one.id: ids[("Stakeholders identified", first)],
        two.id: ids[("Interests and influence", second)],
    }


def test_queue_paginates(
    app, client, db, world, login_as, make_assignment, make_user, make_enrolment
):
    w = world
    assignment = make_assignment(w.course)
    for user in _class(db, make_user, make_enrolment, w.cohort, 23):
        ops.submit(assignment, user, text="x", actor=user)
    db.session.commit()
    login_as(w.instructor)
    first = client.get(_url(w, assignment, "/grading?sort=name")).text
    second = client.get(_url(w, assignment, "/grading?sort=name&page=2")).text
    assert "Trainee 000" in first
    assert "Trainee 019" in first
    assert "Trainee 020" not in first
    assert "Trainee 020" in second
    assert "Trainee 022" in second
    assert "Trainee 000" not in second
    assert "page=2" in first
    assert "sort=name" in first


def test_save_and_next_walks_the_ungraded_queue(
    client, db, world, login_as, make_assignment, make_user, make_enrolment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    first = ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    second = ops.submit(
        assignment, w.classmate, text="b", now=utcnow() + timedelta(minutes=1), actor=w.classmate
    )
    db.session.commit()
    login_as(w.instructor)
    page = client.get(_url(w, assignment, f"/submissions/{first.id}?status=ungraded"))
    assert 'accesskey="n"' in page.text
    assert 'rel="next"' in page.text
    assert f"/submissions/{second.id}?" in page.text
    response = client.post_form(
        _url(w, assignment, f"/submissions/{first.id}?status=ungraded"),
        _marks(assignment, ids, save_next="1", save=""),
    )
    assert response.status_code == 302
    assert f"/submissions/{second.id}" in response.headers["Location"]
    assert "status=ungraded" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert 'accesskey="p"' not in page.text  # the first one left the ungraded list
    response = client.post_form(
        _url(w, assignment, f"/submissions/{second.id}?status=ungraded"),
        _marks(assignment, ids, save_next="1", save=""),
    )
    assert "/grading" in response.headers["Location"]
    assert "That was the last submission in this list." in _flashes(client)


def test_two_instructors_saving_at_once_the_second_is_told(
    client, app, db, world, login_as, make_assignment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    db.session.commit()
    login_as(w.instructor)
    url = _url(w, assignment, f"/submissions/{submission.id}")
    # Both loaded the page with no grade (version 0); the first saves.
    assert client.post_form(url, _marks(assignment, ids, "Complete", "Clear")).status_code == 302
    grade = get_grade(assignment.assessment, w.trainee)
    assert grade.points == Decimal("100.00")
    # The second, an admin co-marking, saves from the stale page: refused, nothing lost.
    login_as(w.admin)
    response = client.post_form(url, _marks(assignment, ids, "Missing", "Missing"))
    assert response.status_code == 302
    assert any(
        "changed by someone else" in m or "marked by someone else" in m for m in _flashes(client)
    )
    db.session.expire_all()
    assert get_grade(assignment.assessment, w.trainee).points == Decimal("100.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange)) == 1

    # Same points but other feedback from a stale page is refused too (marking version).
    page = client.get(url)
    assert f'name="grade_version" type="hidden" value="{grade.version}"' in page.text
    fresh = _marks(assignment, ids, grade_version=str(grade.version), marking_version="1")
    assert client.post_form(url, {**fresh, "feedback": "first"}).status_code == 302
    stale = client.post_form(url, {**fresh, "feedback": "second"})
    assert stale.status_code == 302
    assert any("by someone else" in m for m in _flashes(client))
    db.session.expire_all()
    assert submission.feedback == "first"


def test_a_grade_changed_elsewhere_makes_the_marking_page_stale(
    client, db, world, login_as, make_assignment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    ops.mark(submission, actor=w.instructor, choices=_choice(assignment, ids))
    db.session.commit()
    version = get_grade(assignment.assessment, w.trainee).version
    # The gradebook overrides the grade in between (through the same write path).
    set_grade(assignment.assessment, w.trainee, Decimal(50), actor=w.admin, reason="override")
    db.session.commit()
    with pytest.raises(StaleGrade):
        ops.mark(
            submission,
            actor=w.instructor,
            choices=_choice(assignment, ids, "Missing"),
            expected_grade_version=version,
            expected_marking_version=1,
        )
    db.session.rollback()
    assert get_grade(assignment.assessment, w.trainee).points == Decimal(50)


@pytest.mark.parametrize(
    ("days_late", "policy", "percent", "expected"),
    [
        (0, "penalise", Decimal(10), Decimal("70.00")),
        (1, "penalise", Decimal(10), Decimal("63.00")),
        (3, "penalise", Decimal(10), Decimal("49.00")),
        (12, "penalise", Decimal(10), Decimal("0.00")),
        (3, "accept", Decimal(0), Decimal("70.00")),
    ],
)
def test_late_penalty_follows_the_policy(
    db, world, make_assignment, levels, days_late, policy, percent, expected
):
    w = world
    assignment = make_assignment(
        w.course, due_in=timedelta(days=1), late_policy=policy, late_percent_per_day=percent
    )
    ids = levels(assignment)
    due = assignment.assessment.due_at
    when = due + timedelta(days=days_late - 1, hours=1) if days_late else due - timedelta(hours=1)
    submission = ops.submit(assignment, w.trainee, text="x", now=when, actor=w.trainee)
    assert submission.days_late == days_late
    ops.mark(submission, actor=w.instructor, choices=_choice(assignment, ids, "Complete", "Some"))
    assert submission.raw_points == Decimal(7)
    assert submission.points == expected
    assert get_grade(assignment.assessment, w.trainee).points == expected


def test_resubmission_rules(db, world, make_assignment, levels):
    w = world
    until_graded = make_assignment(w.course, resubmission="graded")
    ids = levels(until_graded)
    ops.submit(until_graded, w.trainee, text="one", actor=w.trainee)
    second = ops.submit(until_graded, w.trainee, text="two", actor=w.trainee)
    assert second.attempt == 2
    ops.mark(second, actor=w.instructor, choices=_choice(until_graded, ids))
    with pytest.raises(ops.AssignmentError, match="has been graded"):
        ops.submit(until_graded, w.trainee, text="three", actor=w.trainee)

    once = make_assignment(w.course, resubmission="never")
    ops.submit(once, w.trainee, text="one", actor=w.trainee)
    with pytest.raises(ops.AssignmentError, match="one submission"):
        ops.submit(once, w.trainee, text="two", actor=w.trainee)

    until_due = make_assignment(w.course, resubmission="due", due_in=timedelta(days=1))
    ops.submit(until_due, w.trainee, text="one", actor=w.trainee)
    ops.submit(until_due, w.trainee, text="two", actor=w.trainee)
    with pytest.raises(ops.AssignmentError, match="due date has passed"):
        ops.submit(
            until_due, w.trainee, text="late", now=utcnow() + timedelta(days=2), actor=w.trainee
        )


def test_an_older_attempt_cannot_be_marked(db, world, make_assignment, levels):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    old = ops.submit(assignment, w.trainee, text="one", actor=w.trainee)
    ops.submit(assignment, w.trainee, text="two", actor=w.trainee)
    with pytest.raises(ops.AssignmentError, match="newer attempt"):
        ops.mark(old, actor=w.instructor, choices=_choice(assignment, ids))


def test_release_one_then_trainee_sees_it_and_regrading_hides_it_again(
    client, db, world, login_as, make_assignment, levels
):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    submission = ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    ops.mark(
        submission,
        actor=w.instructor,
        choices=_choice(assignment, ids),
        feedback="<i>Well</i> done",
    )
    db.session.commit()
    login_as(w.instructor)
    response = client.post_form(_url(w, assignment, f"/submissions/{submission.id}/release"))
    assert response.status_code == 302
    db.session.expire_all()
    assert submission.marking_status == MarkingStatus.RELEASED
    grade = get_grade(assignment.assessment, w.trainee)
    assert grade.status == GradeStatus.RELEASED

    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert "&lt;i&gt;Well&lt;/i&gt; done" in page.text
    assert "Your grade: 100.00 of 100.00" in page.text

    # A new draft mark takes it back from the trainee until released again.
    ops.mark(
        submission,
        actor=w.instructor,
        choices=_choice(assignment, ids, "Partial"),
        feedback="Revised",
        expected_grade_version=grade.version,
        expected_marking_version=submission.marking_version,
    )
    db.session.commit()
    page = client.get(_url(w, assignment))
    assert "Revised" not in page.text
    assert "Your grade" not in page.text
    assert get_grade(assignment.assessment, w.trainee).status == GradeStatus.DRAFT


def test_release_all_releases_only_graded_drafts(db, world, make_assignment, levels):
    w = world
    assignment = make_assignment(w.course)
    ids = levels(assignment)
    graded = ops.submit(assignment, w.trainee, text="a", actor=w.trainee)
    waiting = ops.submit(assignment, w.classmate, text="b", actor=w.classmate)
    ops.mark(graded, actor=w.instructor, choices=_choice(assignment, ids))
    assert ops.release_all(assignment, actor=w.instructor) == 1
    assert graded.marking_status == MarkingStatus.RELEASED
    assert waiting.status == SubmissionStatus.SUBMITTED
    assert get_grade(assignment.assessment, w.classmate) is None
    assert ops.release_all(assignment, actor=w.instructor) == 0
    with pytest.raises(ops.AssignmentError, match="Only a graded submission"):
        ops.release(waiting, actor=w.instructor)


def test_marking_guide_and_points_only(db, world, make_assignment):
    w = world
    guide = make_assignment(
        w.course,
        marking="guide",
        criteria=[("Analysis", 10), ("Presentation", 10)],
        max_points=Decimal(50),
    )
    analysis, presentation = guide.criteria
    submission = ops.submit(guide, w.trainee, text="x", actor=w.trainee)
    ops.mark(
        submission,
        actor=w.instructor,
        choices={analysis.id: Decimal("7.5"), presentation.id: Decimal(9)},
    )
    assert submission.raw_points == Decimal("16.5")
    assert submission.points == Decimal("41.25")  # 16.5 of 20 scaled to 50

    points = make_assignment(w.course, marking="points", max_points=Decimal(20))
    submission = ops.submit(points, w.trainee, text="x", actor=w.trainee)
    ops.mark(submission, actor=w.instructor, points=Decimal("17.5"))
    assert get_grade(points.assessment, w.trainee).points == Decimal("17.50")


def test_request_over_the_server_limit_gets_a_clear_message(
    app, client, db, world, login_as, make_assignment, monkeypatch
):
    w = world
    assignment = make_assignment(w.course)
    login_as(w.trainee)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post_form(_url(w, assignment, "/submit"), {"text": "x" * 5000})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(_url(w, assignment))
    assert any("upload is too large" in m for m in _flashes(client))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0


def test_marking_page_query_count_does_not_grow_with_the_class(
    app, client, db, world, login_as, make_assignment, make_user, make_enrolment
):
    w = world
    assignment = make_assignment(w.course)
    target = ops.submit(assignment, w.trainee, text="mine", actor=w.trainee)
    db.session.commit()
    login_as(w.instructor)
    url = _url(w, assignment, f"/submissions/{target.id}?status=ungraded")
    counts = []
    for size in (2, 25):
        for user in _class(db, make_user, make_enrolment, w.cohort, size, prefix=f"M{size}"):
            ops.submit(assignment, user, text="x", actor=user)
        db.session.commit()
        client.get(url)
        with count_queries(app) as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_late_hand_in_is_announced_and_counted(client, db, world, login_as, make_assignment):
    w = world
    assignment = make_assignment(
        w.course,
        due_in=timedelta(hours=-30),
        late_policy="penalise",
        late_percent_per_day=Decimal(5),
    )
    login_as(w.trainee)
    page = client.get(_url(w, assignment))
    assert "what you hand in now is late" in page.text
    client.post_form(_url(w, assignment, "/submit"), {"text": "late work"})
    assert "Handed in, 2 days late." in _flashes(client)
    assert db.session.scalars(sa.select(Submission)).one().days_late == 2
