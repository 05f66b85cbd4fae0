"""Database rules of competency records: one proficient level, evidence that names its grade."""

import pytest
import sqlalchemy as sa

from courses.competencies.models import Evidence, EvidenceSource, ProficiencyLevel


def test_a_framework_has_at_most_one_proficient_level(db, classroom):
    level = db.session.get(ProficiencyLevel, classroom.level(4).id)
    level.proficient = True
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_assessment_evidence_must_name_its_grade(db, classroom):
    db.session.add(
        Evidence(
            user_id=classroom.trainee.id,
            competency_id=classroom.competencies[1].id,
            level_id=classroom.level(2).id,
            source=EvidenceSource.ASSESSMENT,
        )
    )
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.flush()
