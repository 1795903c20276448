"""Assign stored events and buildings to grids inside PostGIS.

The rule is the engine's: ``ST_Covers`` (the boundary counts); in an exclusive
layer a point on a shared edge goes to the grid with the smallest code; in a
non-exclusive layer the value is the sorted list of every covering grid; only
grid versions valid at the event's report time count.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_EVENT_GRIDS = """
WITH hits AS (
    SELECT e.id, l.name AS layer, l.exclusive, g.code, g.community_code
    FROM events e
    JOIN grids g ON ST_Covers(g.geom, e.geom)
        AND (g.valid_from IS NULL OR g.valid_from <= e.reported_at)
        AND (g.valid_to IS NULL OR g.valid_to > e.reported_at)
    JOIN grid_layers l ON l.id = g.layer_id
    WHERE {where}
), per_layer AS (
    SELECT id, layer,
           CASE WHEN bool_and(exclusive) THEN to_jsonb(min(code COLLATE "C"))
                ELSE to_jsonb(array_agg(code ORDER BY code COLLATE "C")) END AS value,
           min(community_code) FILTER (WHERE exclusive) AS community_code
    FROM hits GROUP BY id, layer
), per_event AS (
    SELECT id, jsonb_object_agg(layer, value) AS grids, min(community_code) AS community_code
    FROM per_layer GROUP BY id
)
UPDATE events e
SET grids = p.grids,
    community_code = coalesce(e.community_code, p.community_code),
    street_code = coalesce(e.street_code, left(p.community_code, 9))
FROM per_event p WHERE e.id = p.id
"""

_BUILDING_GRIDS = """
WITH hits AS (
    SELECT b.id, l.name AS layer, g.code,
           ST_Area(ST_Intersection(g.geom, b.geom)) AS shared
    FROM buildings b
    JOIN grids g ON g.geom && b.geom AND ST_Intersects(g.geom, b.geom) AND g.valid_to IS NULL
    JOIN grid_layers l ON l.id = g.layer_id
    WHERE {where}
), best AS (
    SELECT DISTINCT ON (id, layer) id, layer, code
    FROM hits ORDER BY id, layer, shared DESC, code COLLATE "C"
), per_building AS (
    SELECT id, jsonb_object_agg(layer, code) AS grids FROM best GROUP BY id
)
UPDATE buildings b
SET attributes = b.attributes || jsonb_build_object('grids', p.grids)
FROM per_building p WHERE b.id = p.id
"""

_CAMERA_GRIDS = """
WITH hits AS (
    SELECT c.id, l.name AS layer, l.exclusive, g.code
    FROM cameras c
    JOIN grids g ON ST_Covers(g.geom, c.geom) AND g.valid_to IS NULL
    JOIN grid_layers l ON l.id = g.layer_id
    WHERE {where}
), per_layer AS (
    SELECT id, layer,
           CASE WHEN bool_and(exclusive) THEN to_jsonb(min(code COLLATE "C"))
                ELSE to_jsonb(array_agg(code ORDER BY code COLLATE "C")) END AS value
    FROM hits GROUP BY id, layer
), per_camera AS (
    SELECT id, jsonb_object_agg(layer, value) AS grids FROM per_layer GROUP BY id
)
UPDATE cameras c
SET attributes = coalesce(c.attributes, '{{}}'::jsonb) || jsonb_build_object('grids', p.grids)
FROM per_camera p WHERE c.id = p.id
"""


def assign_events(conn: Connection, where: str = "TRUE") -> int:
    """Write each event's grid in every layer (``where`` filters ``events e``; trusted SQL)."""
    return conn.execute(text(_EVENT_GRIDS.format(where=where))).rowcount


def assign_buildings(conn: Connection, where: str = "TRUE") -> int:
    """Write each building's grid per layer: the grid holding the largest part of it."""
    return conn.execute(text(_BUILDING_GRIDS.format(where=where))).rowcount


def assign_cameras(conn: Connection, where: str = "TRUE") -> int:
    """Write each camera's grid per layer by its position (the events' rule, current grids)."""
    return conn.execute(text(_CAMERA_GRIDS.format(where=where))).rowcount
