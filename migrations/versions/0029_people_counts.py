"""people counts: residents, households, special populations, organisations kept per grid

Counting every grid by joining persons -> residences -> rooms -> buildings ->
grids on every request took seconds at district scale. The counts now live in
``people_counts`` (one row per grid version, every layer), maintained in the
same transaction as the writes: statement-level triggers (with transition
tables, so a bulk COPY recounts once) on ``residences``, ``persons``,
``person_tags``, ``organisations``, ``rooms``, ``buildings``, ``grids`` and
``grid_layers`` find the grids the changed rows touch and recount exactly those.

The counting rule has one home, the SQL function ``gridgov_people_counts_of(grid
ids)``: a person is counted in a grid of a residence layer while a residence of
theirs (today) is in a room of a building whose point on surface lies in the
grid, and in a grid of a ``registration`` layer when their registered building
lies in it; households are distinct ``household_id`` of those persons; special
are those with a tag current today; organisations are those at the grid's
buildings. Counts depend on the date (residences and tags have dates), so each
row carries ``valid_until``: the first future date at which a counted row starts
or ends (NULL: none). A reader uses a row while ``CURRENT_DATE < valid_until``
and counts the grid live with the same function otherwise.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS_OF = """
CREATE FUNCTION gridgov_people_counts_of(grid_ids integer[])
RETURNS TABLE (grid_id integer, residents integer, households integer, special integer,
               organisations integer, valid_until date)
LANGUAGE sql STABLE AS $$
WITH gb AS MATERIALIZED (
  SELECT g.id AS grid_id, l.kind = 'registration' AS registration, b.id AS building_id
  FROM grids g JOIN grid_layers l ON l.id = g.layer_id
  JOIN buildings b ON b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
  WHERE g.id = ANY(grid_ids)),
members AS MATERIALIZED (
  SELECT gb.grid_id, r.person_id,
         r.from_date <= CURRENT_DATE AND (r.to_date IS NULL OR r.to_date > CURRENT_DATE)
           AS now,
         LEAST(CASE WHEN r.from_date > CURRENT_DATE THEN r.from_date END,
               CASE WHEN r.to_date > CURRENT_DATE THEN r.to_date END) AS next
  FROM gb JOIN rooms ro ON ro.building_id = gb.building_id
  JOIN residences r ON r.room_id = ro.id
  WHERE NOT gb.registration
  UNION ALL
  SELECT gb.grid_id, p.id, TRUE, NULL::date
  FROM gb JOIN persons p ON p.registered_building_id = gb.building_id
  WHERE gb.registration),
tags AS (
  SELECT t.person_id,
         bool_or(t.since <= CURRENT_DATE AND (t.until IS NULL OR t.until > CURRENT_DATE))
           AS now,
         min(LEAST(CASE WHEN t.since > CURRENT_DATE THEN t.since END,
                   CASE WHEN t.until > CURRENT_DATE THEN t.until END)) AS next
  FROM person_tags t WHERE t.person_id IN (SELECT m.person_id FROM members m)
  GROUP BY 1),
people AS (
  SELECT m.grid_id,
         count(DISTINCT m.person_id) FILTER (WHERE m.now) AS residents,
         count(DISTINCT p.household_id) FILTER (WHERE m.now) AS households,
         count(DISTINCT m.person_id) FILTER (WHERE m.now AND t.now) AS special,
         LEAST(min(m.next), min(t.next)) AS next
  FROM members m JOIN persons p ON p.id = m.person_id
  LEFT JOIN tags t ON t.person_id = m.person_id
  GROUP BY 1),
orgs AS (
  SELECT gb.grid_id, count(*) AS organisations
  FROM gb JOIN organisations o ON o.building_id = gb.building_id GROUP BY 1)
SELECT g.id, COALESCE(people.residents, 0)::integer, COALESCE(people.households, 0)::integer,
       COALESCE(people.special, 0)::integer, COALESCE(orgs.organisations, 0)::integer,
       people.next
FROM grids g LEFT JOIN people ON people.grid_id = g.id LEFT JOIN orgs ON orgs.grid_id = g.id
WHERE g.id = ANY(grid_ids)
$$;
"""

RECOUNT = """
CREATE FUNCTION gridgov_people_recount(grid_ids integer[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
INSERT INTO people_counts (grid_id, residents, households, special, organisations,
                           valid_until, counted_at)
SELECT c.grid_id, c.residents, c.households, c.special, c.organisations, c.valid_until, now()
FROM gridgov_people_counts_of(grid_ids) c
ON CONFLICT (grid_id) DO UPDATE SET residents = EXCLUDED.residents,
  households = EXCLUDED.households, special = EXCLUDED.special,
  organisations = EXCLUDED.organisations, valid_until = EXCLUDED.valid_until,
  counted_at = EXCLUDED.counted_at
$$;
"""

#: the grids (any layer, any validity) whose area holds the point on surface of a building
GRIDS_OF = """
CREATE FUNCTION gridgov_people_grids_of(building_ids bigint[], geoms geometry[])
RETURNS integer[] LANGUAGE sql STABLE AS $$
SELECT COALESCE(array_agg(DISTINCT g.id), '{}')
FROM (SELECT b.geom FROM buildings b WHERE b.id = ANY(building_ids)
      UNION ALL SELECT x FROM unnest(geoms) AS x WHERE x IS NOT NULL) AS s
JOIN grids g ON g.geom && s.geom AND ST_Intersects(g.geom, ST_PointOnSurface(s.geom))
$$;
"""

#: per table: the building ids a set of changed rows ``rows`` touches (SQL on ``rows``)
BUILDINGS = {
    "residences": "SELECT ro.building_id FROM rows JOIN rooms ro ON ro.id = rows.room_id",
    "persons": "SELECT rows.registered_building_id FROM rows UNION "
               "SELECT ro.building_id FROM rows JOIN residences r ON r.person_id = rows.id "
               "JOIN rooms ro ON ro.id = r.room_id WHERE TG_OP = 'UPDATE'",
    "person_tags": "SELECT p.registered_building_id FROM rows JOIN persons p "
                   "ON p.id = rows.person_id UNION SELECT ro.building_id FROM rows "
                   "JOIN residences r ON r.person_id = rows.person_id "
                   "JOIN rooms ro ON ro.id = r.room_id",
    "organisations": "SELECT rows.building_id FROM rows",
    "rooms": "SELECT rows.building_id FROM rows",
}

TRACK = """
CREATE FUNCTION gridgov_people_track_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE ids integer[] := '{{}}';
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    ids := ARRAY(SELECT id FROM grids);
  ELSE
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      ids := ids || {new};
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      ids := ids || {old};
    END IF;
  END IF;
  IF cardinality(ids) > 0 THEN
    PERFORM gridgov_people_recount(ARRAY(SELECT DISTINCT unnest(ids)));
  END IF;
  RETURN NULL;
END $$;
"""


def _grids_from(table: str, rows: str) -> str:
    if table == "buildings":
        return (f"gridgov_people_grids_of('{{}}', ARRAY(SELECT geom FROM {rows}))")
    if table == "grids":
        return f"ARRAY(SELECT id FROM {rows})"
    if table == "grid_layers":
        return f"ARRAY(SELECT g.id FROM grids g JOIN {rows} ON {rows}.id = g.layer_id)"
    buildings = BUILDINGS[table].replace("rows", rows)
    return (f"gridgov_people_grids_of(ARRAY(SELECT s.b FROM ({buildings}) AS s(b) "
            "WHERE s.b IS NOT NULL), '{}')")


TABLES = ("residences", "persons", "person_tags", "organisations", "rooms", "buildings",
          "grids", "grid_layers")


def upgrade() -> None:
    """The counts table, its functions and triggers; count every grid once."""
    op.create_table(
        "people_counts",
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey(
            "grids.id", ondelete="CASCADE", name="fk_people_counts_grid_id_grids"),
            primary_key=True),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("special", sa.Integer(), nullable=False),
        sa.Column("organisations", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("grid_id", name="pk_people_counts"),
    )
    op.execute(COUNTS_OF)
    op.execute(RECOUNT)
    op.execute(GRIDS_OF)
    for table in TABLES:
        op.execute(TRACK.format(table=table, new=_grids_from(table, "new_rows"),
                                old=_grids_from(table, "old_rows")))
        run = f"FOR EACH STATEMENT EXECUTE FUNCTION gridgov_people_track_{table}()"
        op.execute(f"CREATE TRIGGER gridgov_people_ins AFTER INSERT ON {table} "
                   f"REFERENCING NEW TABLE AS new_rows {run}")
        op.execute(f"CREATE TRIGGER gridgov_people_upd AFTER UPDATE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {run}")
        op.execute(f"CREATE TRIGGER gridgov_people_del AFTER DELETE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows {run}")
        if table not in ("grids", "grid_layers", "buildings", "rooms"):
            op.execute(f"CREATE TRIGGER gridgov_people_trunc AFTER TRUNCATE ON {table} {run}")
    op.execute("SELECT gridgov_people_recount(ARRAY(SELECT id FROM grids))")


def downgrade() -> None:
    """Drop the counts, their triggers and functions."""
    for table in TABLES:
        for kind in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER IF EXISTS gridgov_people_{kind} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS gridgov_people_track_{table}()")
    op.execute("DROP FUNCTION IF EXISTS gridgov_people_grids_of(bigint[], geometry[])")
    op.execute("DROP FUNCTION IF EXISTS gridgov_people_recount(integer[])")
    op.execute("DROP FUNCTION IF EXISTS gridgov_people_counts_of(integer[])")
    op.drop_table("people_counts")
