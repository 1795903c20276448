"""stored Web Mercator copy of building footprints for vector tiles

``buildings.geom_3857`` is a generated column (``ST_Transform(geom, 3857)``,
kept by PostgreSQL on every write) with its own GiST index, so a buildings tile
neither transforms each footprint nor the tile envelope per request. The
footprint of record stays ``geom`` (EPSG:4326); nothing writes ``geom_3857``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 06:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE buildings ADD COLUMN geom_3857 geometry(MULTIPOLYGON, 3857) "
               "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED")
    op.execute("CREATE INDEX idx_buildings_geom_3857 ON buildings USING gist (geom_3857)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_buildings_geom_3857")
    op.execute("ALTER TABLE buildings DROP COLUMN geom_3857")
