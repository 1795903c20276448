"""The declarations of gridgov's map layers; adding a layer is adding a declaration here.

Grid layers are not declared here: there is one per row of ``grid_layers``,
made by :func:`grid_layer` when the registry loads them from the database.
Exposed properties never include personal data (reporter names, phones,
e-mails, free-text descriptions).
"""

from __future__ import annotations

import re

from gis_core.coverage.sectors import DISC_KINDS, DISC_WITHOUT_PAN_KINDS, PANNING_KINDS
from layers.cluster import LayerCluster
from layers.filters import LayerFilter
from layers.model import Layer, LayerProperty, LayerStyle, Title
from layers.population import grid_counts_sql
from layers.vocabulary import (
    EVENT_STATUSES,
    OPEN_STATUSES,
    becomes_overdue_sql,
    overdue_sql,
    sql_in,
)

P = LayerProperty

#: An event is overdue while it is still open after its due time.
OVERDUE_SQL = overdue_sql("t")
#: An event is open while it can still move towards closure.
OPEN_SQL = f"(t.closed_at IS NULL AND {sql_in('t.status', OPEN_STATUSES)})"
#: The colour of each event status on the map (every status has one).
EVENT_COLOURS = {"registered": "#ff7f00", "dispatched": "#fdbf6f", "in_progress": "#e6ab02",
                 "returned": "#e31a1c", "handled": "#a6d854", "verified": "#66c2a5",
                 "closed": "#33a02c", "evaluated": "#1b9e77", "rejected": "#6a3d9a",
                 "duplicate": "#8c8c8c", "cancelled": "#c7c7c7"}
#: A tile with more events than this is drawn as clusters of 128 tile units (1 089 at most).
EVENT_CLUSTER = LayerCluster(max_points=2500, cell=128, by="status")
#: When an open event that is not overdue yet will become overdue.
EVENT_EXPIRES_SQL = becomes_overdue_sql("t")


def grid_valid_sql(when: str) -> str:
    """The SQL of "the grid version ``t`` is valid at ``when``": ``valid_from <= when < valid_to``.

    Examples
    --------
    >>> grid_valid_sql("now()")
    '(t.valid_from IS NULL OR t.valid_from <= now()) AND (t.valid_to IS NULL OR t.valid_to > now())'
    """
    return (f"(t.valid_from IS NULL OR t.valid_from <= {when}) "
            f"AND (t.valid_to IS NULL OR t.valid_to > {when})")


#: A grid version is drawn while ``valid_from <= now() < valid_to``.
GRID_CURRENT_SQL = grid_valid_sql("now()")
GRID_EXPIRES_SQL = ("LEAST(CASE WHEN t.valid_from > now() THEN t.valid_from END, "
                    "CASE WHEN t.valid_to > now() THEN t.valid_to END)")

ADMIN_LEVELS = {
    "district": (Title(zh="区县", en="Districts"), 0, "#6a3d9a", 2.5),
    "street": (Title(zh="街道", en="Streets (townships)"), 8, "#8e63b5", 1.8),
    "community": (Title(zh="社区", en="Communities"), 11, "#b294d1", 1.2),
}

#: Sector of a camera's view (clockwise from north, as gis_core.coverage):
#: fixed/long_range heading +- hfov/2; ptz/long_range with a pan range sweep it
#: widened by hfov/2; dome and ptz without pan range see a full disc (the rule of
#: ``gis_core.coverage.sectors``, the same constants).
CAMERA_VIEW_QUERY = f"""
SELECT c.id, c.code, c.name, c.kind, c.status, c.heading, c.hfov, c.range_m, c.geom,
  CASE WHEN s.sweep >= 360 THEN ST_Buffer(c.geom::geography, c.range_m, 8)::geometry
  ELSE ST_MakePolygon(ST_MakeLine(
    ARRAY[c.geom] || ARRAY(SELECT ST_Project(c.geom::geography, c.range_m,
                                             radians(s.start + s.sweep * i / 24.0))::geometry
                           FROM generate_series(0, 24) AS i) || ARRAY[c.geom]))
  END AS view_geom
FROM cameras AS c CROSS JOIN LATERAL (
  SELECT CASE
      WHEN {sql_in('c.kind', DISC_KINDS)} OR ({sql_in('c.kind', DISC_WITHOUT_PAN_KINDS)}
                                          AND (c.pan_min IS NULL OR c.pan_max IS NULL))
        THEN 360.0
      WHEN {sql_in('c.kind', PANNING_KINDS)} AND c.pan_min IS NOT NULL AND c.pan_max IS NOT NULL
        THEN ((c.pan_max - c.pan_min)::numeric % 360 + 360) % 360 + c.hfov
      ELSE c.hfov END AS sweep,
    CASE WHEN {sql_in('c.kind', PANNING_KINDS)} AND c.pan_min IS NOT NULL
              AND c.pan_max IS NOT NULL THEN c.pan_min - c.hfov / 2
         ELSE c.heading - c.hfov / 2 END AS start) AS s
"""  # noqa: S608 - the kinds are constants of gis_core

EVENT_QUERY = """
SELECT e.id, e.status, e.channel, e.geom, e.community_code, e.street_code, e.reported_at,
       e.due_at, e.closed_at, e.building_id, e.category_id, c.code AS category_code,
       c.major_code
FROM events AS e JOIN event_categories AS c ON c.id = e.category_id
"""

#: a count shown in public (tiles, OGC): 1 to 4 become NULL (read "<5"), no small group
#: of residents can be singled out (``api.people.stats`` suppresses the same way)
_SUPPRESSED = "CASE WHEN {n} BETWEEN 1 AND 4 THEN NULL ELSE {n} END"

#: residents, households, organisations and people of special populations per grid of the
#: basic layers (exclusive, kind ``basic``), current grids, today: the kept counts of
#: ``people_counts`` (``layers.population``, the same as ``api.people.stats``)
POPULATION_QUERY = f"""
SELECT g.id, g.code, g.name, g.community_code, g.geom,
       {_SUPPRESSED.format(n="n.residents")} AS residents,
       {_SUPPRESSED.format(n="n.households")} AS households,
       {_SUPPRESSED.format(n="n.special")} AS special,
       {_SUPPRESSED.format(n="n.organisations")} AS organisations,
       n.residents BETWEEN 1 AND 4 OR n.households BETWEEN 1 AND 4
           OR n.special BETWEEN 1 AND 4 OR n.organisations BETWEEN 1 AND 4 AS suppressed
FROM grids AS g JOIN grid_layers AS l ON l.id = g.layer_id AND l.exclusive AND l.kind = 'basic'
CROSS JOIN LATERAL {grid_counts_sql("g")} AS n
WHERE (g.valid_from IS NULL OR g.valid_from <= now()) AND (g.valid_to IS NULL OR g.valid_to > now())
"""  # noqa: S608 - constants only

EVENT_FILTERS = (
    LayerFilter(name="status", kind="list", values=EVENT_STATUSES,
                description="comma-separated statuses",
                sql="CAST(:status AS text[]) IS NULL OR t.status = ANY(CAST(:status AS text[]))"),
    LayerFilter(name="category", kind="list",
                description="comma-separated minor or major category codes",
                sql="CAST(:category AS text[]) IS NULL OR t.category_code = ANY(CAST(:category "
                    "AS text[])) OR t.major_code = ANY(CAST(:category AS text[]))"),
    LayerFilter(name="overdue", kind="bool", description="true: only overdue open events",
                sql=f"CAST(:overdue AS boolean) IS NULL OR {OVERDUE_SQL} = "
                    "CAST(:overdue AS boolean)"),
    LayerFilter(name="open", kind="bool", description="true: only open events; false: only "
                "finished ones", sql=f"CAST(:open AS boolean) IS NULL OR {OPEN_SQL} = "
                                     "CAST(:open AS boolean)"),
)


def _admin(level: str) -> Layer:
    title, minzoom, color, width = ADMIN_LEVELS[level]
    return Layer(
        id=f"admin-{level}", title=title, table="admin_areas", geometry_type="MultiPolygon",
        properties=(P(name="code"), P(name="name"), P(name="level"), P(name="parent_code")),
        where="t.level = :admin_level", params={"admin_level": level},
        minzoom=minzoom, maxzoom=22,
        style=LayerStyle(type="line", color=color, width=width, group="base"))


def static_layers() -> list[Layer]:
    """Every declared layer except the grid layers."""
    return [
        *(_admin(level) for level in ADMIN_LEVELS),
        Layer(id="buildings", title=Title(zh="建筑物", en="Buildings"), table="buildings",
              geometry_type="MultiPolygon", minzoom=13, mercator_column="geom_3857",
              pixel_columns={z: f"tile_px{z}" for z in (13, 14, 15, 16)},
              properties=(P(name="code"), P(name="name"), P(name="address"),
                          P(name="floors", type="integer"), P(name="height", type="number"),
                          P(name="use"), P(name="community_code"), P(name="status")),
              style=LayerStyle(type="fill", color="#c8b89a", outline_color="#8c7a5b",
                               opacity=0.8, group="base")),
        Layer(id="roads", title=Title(zh="道路", en="Roads"), table="roads",
              geometry_type="MultiLineString", minzoom=10,
              properties=(P(name="name"), P(name="kind")),
              style=LayerStyle(type="line", color="#9e9e9e", width=2.0, group="base")),
        Layer(id="cameras", title=Title(zh="摄像头", en="Cameras"), table="cameras",
              geometry_type="Point", minzoom=12,
              properties=(P(name="code"), P(name="name"), P(name="kind"), P(name="status"),
                          P(name="heading", type="number"), P(name="hfov", type="number"),
                          P(name="range_m", type="number"),
                          P(name="mount_height", type="number")),
              style=LayerStyle(type="circle", color="#1f78b4", radius=4.0, color_by="status",
                               colors={"online": "#1f78b4", "offline": "#999999"},
                               group="operations")),
        Layer(id="camera-views", title=Title(zh="摄像头视域", en="Camera views"),
              query=CAMERA_VIEW_QUERY, depends_on=("cameras",), geometry_column="view_geom",
              index_column="geom", search_margin_deg=0.05, geometry_type="Polygon", minzoom=14,
              properties=(P(name="code"), P(name="name"), P(name="kind"), P(name="status"),
                          P(name="range_m", type="number")),
              style=LayerStyle(type="fill", color="#a6cee3", opacity=0.35, visible=False,
                               group="operations")),
        Layer(id="blind-spots", title=Title(zh="监控盲区", en="Camera blind spots"),
              table="blind_spots", geometry_type="MultiPolygon", minzoom=12,
              properties=(P(name="grid_code"), P(name="area_m2", type="number"),
                          P(name="computed_at", type="datetime")),
              style=LayerStyle(type="fill", color="#e31a1c", opacity=0.35, visible=False,
                               group="analysis")),
        Layer(id="events", title=Title(zh="事件", en="Events"), query=EVENT_QUERY,
              depends_on=("events", "event_categories"), geometry_type="Point", minzoom=10,
              time_column="reported_at", filters=EVENT_FILTERS, expires_sql=EVENT_EXPIRES_SQL,
              cluster=EVENT_CLUSTER,
              properties=(P(name="status"), P(name="category_code"), P(name="major_code"),
                          P(name="channel"), P(name="community_code"),
                          P(name="street_code"), P(name="building_id", type="integer"),
                          P(name="reported_at", type="datetime"),
                          P(name="due_at", type="datetime"),
                          P(name="closed_at", type="datetime"),
                          P(name="overdue", type="boolean", sql=OVERDUE_SQL)),
              style=LayerStyle(type="circle", color="#ff7f00", radius=5.0, color_by="status",
                               colors=EVENT_COLOURS, group="operations")),
        Layer(id="population", title=Title(zh="实有人口（网格）", en="Population per grid"),
              query=POPULATION_QUERY, geometry_type="MultiPolygon", minzoom=12, aggregate=True,
              depends_on=("grids", "grid_layers", "buildings", "rooms", "residences",
                          "persons", "person_tags", "organisations"),
              properties=(P(name="code"), P(name="name"), P(name="community_code"),
                          P(name="residents", type="integer"),
                          P(name="households", type="integer"),
                          P(name="organisations", type="integer"),
                          P(name="special", type="integer"),
                          P(name="suppressed", type="boolean")),
              style=LayerStyle(type="fill", color="#6a51a3", opacity=0.45, visible=False,
                               group="analysis")),
        Layer(id="hotspots", title=Title(zh="热点", en="Hot spots"), table="hotspot_cells",
              geometry_type="MultiPolygon", minzoom=10,
              properties=(P(name="method"), P(name="cell"), P(name="value", type="number"),
                          P(name="z", type="number"), P(name="p", type="number"),
                          P(name="class", type="integer", sql="t.hot_class"),
                          P(name="pattern"), P(name="computed_at", type="datetime")),
              style=LayerStyle(type="fill", color="#d7301f", opacity=0.5, color_by="class",
                               colors={"3": "#b30000", "2": "#e34a33", "1": "#fc8d59",
                                       "0": "#f7f7f7", "-1": "#91bfdb", "-2": "#4575b4",
                                       "-3": "#313695"}, visible=False, group="analysis")),
    ]


def grid_layer_id(name: str, row_id: int) -> str:
    """URL-safe layer id of a grid layer: ``grids-<name>`` or ``grids-<row id>``.

    The name is lower-cased and every run of characters other than ``a-z0-9_``
    becomes ``-``; a name with nothing left (e.g. Chinese only) uses the row id.

    Examples
    --------
    >>> grid_layer_id("basic", 1), grid_layer_id("Functional Grids", 2), grid_layer_id("网格", 3)
    ('grids-basic', 'grids-functional-grids', 'grids-3')
    """
    slug = re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")
    return f"grids-{slug}" if slug and slug[0].isalpha() else f"grids-{row_id}"


GRID_COLOURS = ("#33a02c", "#e7298a", "#7570b3", "#d95f02", "#1b9e77")


def grid_layer(row_id: int, name: str, kind: str, description: str | None,
               exclusive: bool, order: int = 0) -> Layer:
    """The declaration of one grid layer (a row of ``grid_layers``)."""
    return Layer(
        id=grid_layer_id(name, row_id),
        title=Title(zh=description or name, en=f"Grids: {name} ({kind})"),
        table="grids", depends_on=("grids", "grid_layers"), geometry_type="MultiPolygon",
        where=f"t.layer_id = :grid_layer_id AND {GRID_CURRENT_SQL}",
        params={"grid_layer_id": row_id}, expires_sql=GRID_EXPIRES_SQL, minzoom=10,
        properties=(P(name="code"), P(name="alias_code"), P(name="name"),
                    P(name="community_code"), P(name="valid_from", type="datetime")),
        style=LayerStyle(type="line" if exclusive else "fill",
                         color=GRID_COLOURS[order % len(GRID_COLOURS)], width=1.5,
                         opacity=0.25, visible=order == 0, group="base"))
