"""map layers and tile change tracking

Tables ``blind_spots`` and ``hotspot_cells`` (drawn as layers) and the change
tracking of every table a layer reads: statement-level triggers bump
``tile_versions`` (a row lock held to commit, so versions follow commit order)
and record the bounding boxes (EPSG:4326) of the old and new rows in
``tile_changes``; camera boxes are widened by their range, so the tiles of
their view sectors are evicted too. More than 256 rows in one statement are
recorded as their common extent; TRUNCATE and tables without geometry record
a NULL box (everything).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GEOM_TABLES = ("admin_areas", "grids", "buildings", "roads", "events", "blind_spots",
               "hotspot_cells")
PLAIN_TABLES = ("grid_layers", "event_categories")
#: box of a changed row; cameras: widened by range_m (1 deg latitude > 110 km)
BOXES = {
    "geom": "ST_Envelope(r.geom)",
    "cameras": ("ST_Expand(r.geom, r.range_m / (110000.0 * greatest(cos(radians(ST_Y(r.geom))), "
                "0.01)), r.range_m / 110000.0)"),
}

BUMP = """
CREATE FUNCTION gridgov_tile_bump(tbl text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO tile_versions AS v (table_name, version) VALUES (tbl, 1)
  ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1
  RETURNING version
$$;
CREATE FUNCTION gridgov_tile_boxes(tbl text, ver bigint, boxes geometry[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(boxes) = 0 THEN
    RETURN;
  ELSIF cardinality(boxes) > 256 THEN
    INSERT INTO tile_changes (table_name, version, minx, miny, maxx, maxy)
    SELECT tbl, ver, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(b) AS e FROM unnest(boxes) AS b) AS s;
  ELSE
    INSERT INTO tile_changes (table_name, version, minx, miny, maxx, maxy)
    SELECT tbl, ver, ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM unnest(boxes) AS b;
  END IF;
END $$;
CREATE FUNCTION gridgov_tile_track_plain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tile_changes (table_name, version)
  VALUES (TG_TABLE_NAME, gridgov_tile_bump(TG_TABLE_NAME));
  RETURN NULL;
END $$;
"""

TRACK = """
CREATE FUNCTION gridgov_tile_track_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ver bigint := gridgov_tile_bump(TG_TABLE_NAME);
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO tile_changes (table_name, version) VALUES (TG_TABLE_NAME, ver);
    RETURN NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM gridgov_tile_boxes(TG_TABLE_NAME, ver,
      ARRAY(SELECT {box} FROM new_rows AS r WHERE r.geom IS NOT NULL));
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM gridgov_tile_boxes(TG_TABLE_NAME, ver,
      ARRAY(SELECT {box} FROM old_rows AS r WHERE r.geom IS NOT NULL));
  END IF;
  RETURN NULL;
END $$;
"""


def _triggers(table: str, function: str, transition: bool) -> list[str]:
    ins = "REFERENCING NEW TABLE AS new_rows " if transition else ""
    upd = "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows " if transition else ""
    dele = "REFERENCING OLD TABLE AS old_rows " if transition else ""
    run = f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    return [
        f"CREATE TRIGGER gridgov_tiles_ins AFTER INSERT ON {table} {ins}{run}",
        f"CREATE TRIGGER gridgov_tiles_upd AFTER UPDATE ON {table} {upd}{run}",
        f"CREATE TRIGGER gridgov_tiles_del AFTER DELETE ON {table} {dele}{run}",
        f"CREATE TRIGGER gridgov_tiles_trunc AFTER TRUNCATE ON {table} {run}",
    ]


def _spatial_table(name: str, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_geospatial_table(
        name,
        sa.Column("id", sa.BigInteger(), nullable=False),
        *columns,
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("geom", Geometry(geometry_type="MULTIPOLYGON", srid=4326, dimension=2,
                                   spatial_index=False, from_text="ST_GeomFromEWKT",
                                   name="geometry", nullable=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_geospatial_index(f"idx_{name}_geom", name, ["geom"], unique=False,
                               postgresql_using="gist", postgresql_ops={})


def upgrade() -> None:
    _spatial_table("blind_spots",
                   sa.Column("grid_code", sa.String(length=32), nullable=True),
                   sa.Column("area_m2", sa.Float(), nullable=True))
    op.create_index(op.f("ix_blind_spots_grid_code"), "blind_spots", ["grid_code"], unique=False)
    _spatial_table("hotspot_cells",
                   sa.Column("method", sa.String(length=32), nullable=False),
                   sa.Column("cell", sa.String(length=32), nullable=False),
                   sa.Column("value", sa.Float(), nullable=True),
                   sa.Column("z", sa.Float(), nullable=True),
                   sa.Column("p", sa.Float(), nullable=True),
                   sa.Column("hot_class", sa.Integer(), nullable=True),
                   sa.Column("pattern", sa.Text(), nullable=True))
    op.create_index(op.f("ix_hotspot_cells_cell"), "hotspot_cells", ["cell"], unique=False)
    op.create_table(
        "tile_versions",
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_tile_versions")),
    )
    op.create_table(
        "tile_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=True),
        sa.Column("miny", sa.Float(), nullable=True),
        sa.Column("maxx", sa.Float(), nullable=True),
        sa.Column("maxy", sa.Float(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tile_changes")),
    )
    op.create_index("ix_tile_changes_table_version", "tile_changes", ["table_name", "version"],
                    unique=False)
    tracked = (*GEOM_TABLES, "cameras", *PLAIN_TABLES)
    op.execute(sa.text("INSERT INTO tile_versions (table_name, version) VALUES "
                       + ", ".join(f"('{t}', 0)" for t in tracked)))
    op.execute(BUMP)
    for name, box in BOXES.items():
        op.execute(TRACK.format(name=name, box=box))
    for table in GEOM_TABLES:
        for stmt in _triggers(table, "gridgov_tile_track_geom", True):
            op.execute(stmt)
    for stmt in _triggers("cameras", "gridgov_tile_track_cameras", True):
        op.execute(stmt)
    for table in PLAIN_TABLES:
        for stmt in _triggers(table, "gridgov_tile_track_plain", False):
            op.execute(stmt)


def downgrade() -> None:
    for table in (*GEOM_TABLES, "cameras", *PLAIN_TABLES):
        for kind in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS gridgov_tiles_{kind} ON {table}")
    for name in (*BOXES, "plain"):
        op.execute(f"DROP FUNCTION IF EXISTS gridgov_tile_track_{name}()")
    op.execute("DROP FUNCTION IF EXISTS gridgov_tile_boxes(text, bigint, geometry[])")
    op.execute("DROP FUNCTION IF EXISTS gridgov_tile_bump(text)")
    op.drop_index("ix_tile_changes_table_version", table_name="tile_changes")
    op.drop_table("tile_changes")
    op.drop_table("tile_versions")
    op.drop_index(op.f("ix_hotspot_cells_cell"), table_name="hotspot_cells")
    op.drop_geospatial_index("idx_hotspot_cells_geom", table_name="hotspot_cells",
                             column_name="geom")
    op.drop_geospatial_table("hotspot_cells")
    op.drop_index(op.f("ix_blind_spots_grid_code"), table_name="blind_spots")
    op.drop_geospatial_index("idx_blind_spots_geom", table_name="blind_spots",
                             column_name="geom")
    op.drop_geospatial_table("blind_spots")
