"""Indexes for the reports' grouped queries.

Enrolments by cohort and status, released grades by assessment, evidence by trainee
and competency: each index holds every column its query reads.

Revision ID: e3b7a19c4d52
Revises: 2c7e9b4f1a63
Create Date: 2026-12-08 02:30:00
"""

from alembic import op

revision = "e3b7a19c4d52"
down_revision = "2c7e9b4f1a63"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrolments_cohort_id_status_queued_at",
            ["cohort_id", "status", "queued_at"],
            unique=False,
        )
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.create_index(
            "ix_grades_assessment_id_status_points_graded_at",
            ["assessment_id", "status", "points", "graded_at"],
            unique=False,
        )
    with op.batch_alter_table("competency_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "ix_competency_evidence_user_competency_created_level",
            ["user_id", "competency_id", "created_at", "level_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("competency_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_competency_evidence_user_competency_created_level")
    with op.batch_alter_table("grades", schema=None) as batch_op:
        batch_op.drop_index("ix_grades_assessment_id_status_points_graded_at")
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolments_cohort_id_status_queued_at")
