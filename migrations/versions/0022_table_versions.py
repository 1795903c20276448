"""table_versions: the change counters of tracked tables, under the name of what they are

``tile_versions`` counted the writes of every tracked table, read by the tile
cache, the grid lookup and the analytics cache alike; it is renamed
``table_versions`` and the bump function that the triggers call writes there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = """
CREATE OR REPLACE FUNCTION gridgov_tile_bump(tbl text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO {table} AS v (table_name, version) VALUES (tbl, 1)
  ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1
  RETURNING version
$$;
"""


def _rename(old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {old} RENAME TO {new}")
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
    op.execute(BUMP.format(table=new))


def upgrade() -> None:
    _rename("tile_versions", "table_versions")


def downgrade() -> None:
    _rename("table_versions", "tile_versions")
