"""partial spatial index of the events that are still open

The duplicate check of every report looks for an open event of the same
category near the point. ``ix_events_open_geom`` indexes only open events (most
events of a year are closed), so the check reads the few open events near the
point instead of intersecting the whole spatial index with a status index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("registered", "dispatched", "in_progress", "handled", "verified", "returned")


def upgrade() -> None:
    states = ", ".join(f"'{s}'" for s in OPEN)
    op.execute(f"CREATE INDEX ix_events_open_geom ON events USING gist (geom) "
               f"WHERE status IN ({states})")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_open_geom")
