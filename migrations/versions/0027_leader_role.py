"""flow: the leader role (领导), who reads the big screen, reports and KPIs of its scope

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "role IN ('admin', 'dispatcher', 'handler', 'grid_worker', 'analyst')"
NEW = "role IN ('admin', 'dispatcher', 'handler', 'grid_worker', 'analyst', 'leader')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role"), "users", NEW)


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'leader'")
    op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
    op.create_check_constraint(op.f("ck_users_role"), "users", OLD)
