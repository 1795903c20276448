"""people tables counted: change counters for the population tile layer; residences by room

The ``population`` layer (``layers.catalog``) counts residents, households,
special populations and organisations per grid. Its cached tiles must go when
any of these rows change, so ``rooms``, ``residences``, ``persons``,
``person_tags`` and ``organisations`` get the statement-level triggers of
migration 0003's plain tables (a counter in ``table_versions`` and a change
row without a box: the layer is an aggregate, every change evicts all its
tiles). One bump per statement, so a bulk import of persons costs one each batch.

``residences`` gets a full index on ``room_id``: the partial one (``to_date IS
NULL``) does not serve "current today" (``to_date IS NULL OR to_date >
CURRENT_DATE``), so counting a grid's residents scanned every residence.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("rooms", "residences", "persons", "person_tags", "organisations")
RUN = "FOR EACH STATEMENT EXECUTE FUNCTION gridgov_tile_track_plain()"


def upgrade() -> None:
    """Count the writes of the people tables; index residences by room."""
    op.create_index("ix_residences_room_id", "residences", ["room_id"])
    op.execute("INSERT INTO table_versions (table_name, version) VALUES "
               + ", ".join(f"('{t}', 0)" for t in TABLES)
               + " ON CONFLICT (table_name) DO NOTHING")
    for table in TABLES:
        for kind, when in (("ins", "INSERT"), ("upd", "UPDATE"), ("del", "DELETE"),
                           ("trunc", "TRUNCATE")):
            op.execute(f"CREATE TRIGGER gridgov_tiles_{kind} AFTER {when} ON {table} {RUN}")


def downgrade() -> None:
    """Stop counting them."""
    for table in TABLES:
        for kind in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS gridgov_tiles_{kind} ON {table}")
    op.execute("DELETE FROM table_versions WHERE table_name IN ("
               + ", ".join(f"'{t}'" for t in TABLES) + ")")
    op.drop_index("ix_residences_room_id", table_name="residences")
