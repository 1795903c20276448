"""building footprints pre-drawn in the tile pixel grids of zooms 13-16

``buildings.tile_px13`` .. ``tile_px16`` are generated columns holding the
footprint as ``ST_AsMVTGeom`` draws it over the whole world at extent
4096 * 2^z (snapped to that zoom's tile pixels, repeated points removed,
validated; no buffer, no clip). A feature wholly inside a tile and its buffer
is then only translated into the tile, which gives the same coordinates as
``ST_AsMVTGeom`` on the tile at a fraction of the cost; features crossing a
tile's edge still go through ``ST_AsMVTGeom``. PostgreSQL keeps the columns
on every write; nothing writes them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZOOMS = (13, 14, 15, 16)


def upgrade() -> None:
    op.execute("ALTER TABLE buildings " + ", ".join(
        f"ADD COLUMN tile_px{z} geometry GENERATED ALWAYS AS (ST_AsMVTGeom("
        f"ST_Transform(geom, 3857), ST_TileEnvelope(0, 0, 0), {4096 << z}, 0, false)) STORED"
        for z in ZOOMS))


def downgrade() -> None:
    op.execute("ALTER TABLE buildings " + ", ".join(
        f"DROP COLUMN tile_px{z}" for z in ZOOMS))
