"""desk: live case notifications, photos tagged by action, indexes of the staff queue

A statement-level trigger on ``events`` sends ``pg_notify('gridgov_cases', ids)`` after
every insert and update (the ids comma-separated, at most 500 per notification);
PostgreSQL delivers it at commit, to every API process listening
(``api.workbench.live``). ``event_photos.action`` names the lifecycle action a
staff photo came with (``handle``: an after-photo); null for the reporter's photos.
Partial indexes on open events serve the queue's sorting and the handler's inbox.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('registered', 'dispatched', 'in_progress', 'handled', 'verified', 'returned')"

NOTIFY_FUNCTION = """
CREATE FUNCTION gridgov_notify_cases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chunk text;
BEGIN
    FOR chunk IN
        SELECT string_agg(id::text, ',' ORDER BY id)
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS part FROM changed) s
        GROUP BY part
    LOOP
        PERFORM pg_notify('gridgov_cases', chunk);
    END LOOP;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    """Add the notification triggers, the photo's action and the queue's indexes."""
    op.execute(NOTIFY_FUNCTION)
    for when in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER events_notify_{when.lower()} AFTER {when} ON events "
                   "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
                   "EXECUTE FUNCTION gridgov_notify_cases()")
    op.add_column("event_photos", sa.Column("action", sa.String(32)))
    op.create_index("ix_events_open_reported_at", "events", ["reported_at"],
                    postgresql_where=sa.text(OPEN))
    op.create_index("ix_events_open_due_at", "events", ["due_at"],
                    postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_events_open_due_at", table_name="events")
    op.drop_index("ix_events_open_reported_at", table_name="events")
    op.drop_column("event_photos", "action")
    for when in ("insert", "update"):
        op.execute(f"DROP TRIGGER events_notify_{when} ON events")
    op.execute("DROP FUNCTION gridgov_notify_cases()")
