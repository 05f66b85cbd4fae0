"""Allow the centre manager role, who reads the reports.

Revision ID: b4e81f27c6d5
Revises: 7c2e4b9d1a30
Create Date: 2026-12-07 19:00:00
"""

from alembic import op

revision = "b4e81f27c6d5"
down_revision = "7c2e4b9d1a30"
branch_labels = None
depends_on = None

OLD = "role IN ('trainee', 'instructor', 'certifier', 'employer', 'admin')"
NEW = "role IN ('trainee', 'instructor', 'certifier', 'employer', 'admin', 'manager')"


def upgrade():
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_roles_role_known"), NEW)


def downgrade():
    op.execute("DELETE FROM user_roles WHERE role = 'manager'")
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_user_roles_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_user_roles_role_known"), OLD)
