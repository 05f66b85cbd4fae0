"""Course staff pages: map assessments and outcomes, record and withdraw evidence."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from courses.assessments.grades import set_grade
from courses.competencies import operations as ops
from courses.competencies.models import AssessmentCompetency, Evidence, OutcomeCompetency


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def staffed(classroom, login_as, make_assessment, make_outcome):
    login_as(classroom.instructor)
    assessment = make_assessment(classroom.course, title_en="Risk register <draft>")
    outcome = make_outcome(classroom.course, text_en="Keep a risk register")
    return classroom, assessment, outcome


def test_the_course_page_links_to_competencies(client, staffed):
    classroom, _assessment, _outcome = staffed
    page = client.get(f"/courses/{classroom.course.code}/manage").get_data(as_text=True)
    assert f"/courses/{classroom.course.code}/competencies" in page


def test_map_an_assessment_and_an_outcome(client, db, staffed):
    classroom, assessment, outcome = staffed
    url = f"/courses/{classroom.course.code}/competencies"
    page = client.get(url).get_data(as_text=True)
    assert "Risk register &lt;draft&gt;" in page
    assert "Keep a risk register" in page
    competency = classroom.competencies[2]
    for target in (f"a{assessment.id}", f"o{outcome.id}"):
        response = client.post_form(
            url,
            {
                "target": target,
                "competency": str(competency.id),
                "level": str(classroom.level(3).id),
            },
        )
        assert response.status_code == 302
    mapping = db.session.scalar(sa.select(AssessmentCompetency))
    assert (mapping.assessment_id, mapping.competency_id, mapping.level.rank) == (
        assessment.id,
        competency.id,
        3,
    )
    assert db.session.scalar(sa.select(OutcomeCompetency)).outcome_id == outcome.id
    page = client.get(url).get_data(as_text=True)
    assert "3 — Proficient" in page
    # Mapping again changes the level instead of adding a second row.
    client.post_form(
        url,
        {
            "target": f"a{assessment.id}",
            "competency": str(competency.id),
            "level": str(classroom.level(4).id),
        },
    )
    assert _count(db, AssessmentCompetency) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(AssessmentCompetency)).level.rank == 4


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("level", "other", "is not in the scale of the framework S4C-T"),
        ("level", "999999", "Choose a level of the framework"),
        ("competency", "999999", "Choose a competency"),
        ("target", "a999999", "Choose an assessment or a learning outcome of this course"),
        ("target", "other", "Choose an assessment or a learning outcome of this course"),
    ],
)
def test_bad_mapping_changes_nothing(
    client, db, staffed, make_framework, make_assessment, field, value, message
):
    classroom, assessment, _outcome = staffed
    other_framework = make_framework(code="ELSE")
    foreign = make_assessment(classroom.other_course)
    data = {
        "target": f"a{assessment.id}",
        "competency": str(classroom.competencies[1].id),
        "level": str(classroom.level(2).id),
    }
    data[field] = {
        "other": str(other_framework.levels[0].id) if field == "level" else f"a{foreign.id}"
    }.get(value, value)
    response = client.post_form(f"/courses/{classroom.course.code}/competencies", data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, AssessmentCompetency) == 0


def test_remove_a_mapping_keeps_evidence(client, db, staffed):
    classroom, assessment, _outcome = staffed
    mapping = ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(3), actor=classroom.admin
    )
    set_grade(assessment, classroom.trainee, Decimal(90), actor=None, release=True)
    db.session.commit()
    response = client.post_form(
        f"/courses/{classroom.course.code}/competencies/assessment-mappings/{mapping.id}/delete",
        {},
    )
    assert response.status_code == 302
    assert _count(db, AssessmentCompetency) == 0
    assert _count(db, Evidence) == 1


def _evidence_data(classroom, **changes):
    data = {
        "trainee": str(classroom.trainee.id),
        "competency": str(classroom.competencies[1].id),
        "level": str(classroom.level(2).id),
        "note": "Drafted the project charter for the <pilot> & presented it.",
    }
    data.update(changes)
    return data


def test_record_evidence_and_see_it_on_the_profile(client, db, staffed):
    classroom, _assessment, _outcome = staffed
    url = f"/courses/{classroom.course.code}/evidence/new"
    form = client.get(url, query_string={"trainee": classroom.trainee.id}).get_data(as_text=True)
    assert "Мария Иванова" in form
    assert "Other Trainee" not in form
    response = client.post_form(url, _evidence_data(classroom))
    assert response.status_code == 302
    assert response.location == f"/competencies/trainees/{classroom.trainee.id}"
    row = db.session.scalar(sa.select(Evidence))
    assert row.recorded_by_id == classroom.instructor.id
    assert row.course_id == classroom.course.id
    page = client.get(response.location).get_data(as_text=True)
    assert "the &lt;pilot&gt; &amp; presented" in page
    assert "<pilot>" not in page
    assert "2 — Basic" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"note": "   "}, "Explain the evidence in a note."),
        ({"note": "x" * 2001}, "2000"),
        ({"trainee": "other"}, "is not enrolled in the course"),
        ({"trainee": "999999"}, "is not enrolled in the course"),
        ({"level": "other"}, "is not in the scale of the framework S4C-T"),
        ({"level": ""}, "Choose a level"),
        ({"competency": "abc"}, "Choose a competency"),
    ],
)
def test_bad_evidence_changes_nothing(client, db, staffed, make_framework, changes, message):
    classroom, _assessment, _outcome = staffed
    other_framework = make_framework(code="ELSE")
    substitutes = {
        ("trainee", "other"): str(classroom.other_trainee.id),
        ("level", "other"): str(other_framework.levels[2].id),
    }
    changes = {key: substitutes.get((key, value), value) for key, value in changes.items()}
    response = client.post_form(
        f"/courses/{classroom.course.code}/evidence/new", _evidence_data(classroom, **changes)
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, Evidence) == 0


def test_withdraw_evidence_from_the_profile(client, db, staffed):
    classroom, _assessment, _outcome = staffed
    row = ops.record_evidence(
        classroom.trainee,
        classroom.competencies[1],
        classroom.level(4),
        actor=classroom.instructor,
        note="Chaired the steering group",
        course=classroom.course,
    )
    db.session.commit()
    profile = f"/competencies/trainees/{classroom.trainee.id}"
    assert f"/competencies/evidence/{row.id}/withdraw" in client.get(profile).get_data(as_text=True)
    url = f"/competencies/evidence/{row.id}/withdraw"
    response = client.post_form(url, {"note": ""})
    assert response.status_code == 302
    assert "Explain the evidence in a note." in client.get(profile).get_data(as_text=True)
    assert _count(db, Evidence) == 1
    client.post_form(url, {"note": "Recorded for the wrong trainee"})
    assert _count(db, Evidence) == 2
    page = client.get(profile).get_data(as_text=True)
    assert "withdrawal" in page
    assert "superseded" in page
    assert f"/competencies/evidence/{row.id}/withdraw" not in page
    client.post_form(url, {"note": "again"})
    assert _count(db, Evidence) == 2


def test_mapping_page_runs_a_fixed_number_of_queries(
    client, db, staffed, make_assessment, make_outcome, make_competency
):
    from tests.conftest import count_queries

    classroom, assessment, outcome = staffed
    url = f"/courses/{classroom.course.code}/competencies"

    def measure():
        db.session.expire_all()
        with count_queries(client.application) as counter:
            assert client.get(url).status_code == 200
        return counter.count

    ops.map_assessment(
        assessment, classroom.competencies[1], classroom.level(2), actor=classroom.admin
    )
    ops.map_outcome(outcome, classroom.competencies[1], classroom.level(2), actor=classroom.admin)
    db.session.commit()
    before = measure()
    for n in range(4):
        competency = make_competency(classroom.framework, code=f"Q{n}")
        ops.map_assessment(
            make_assessment(classroom.course), competency, classroom.level(3), actor=classroom.admin
        )
        ops.map_outcome(
            make_outcome(classroom.course), competency, classroom.level(1), actor=classroom.admin
        )
    db.session.commit()
    assert measure() == before
