"""visits sent again from the field app's outbox count once: the Idempotency-Key per worker

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("visits", sa.Column("client_key", sa.String(128), nullable=True))
    op.create_unique_constraint("uq_visits_worker_key", "visits", ["worker_name", "client_key"])


def downgrade() -> None:
    op.drop_constraint("uq_visits_worker_key", "visits", type_="unique")
    op.drop_column("visits", "client_key")
