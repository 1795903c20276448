"""Helpers of the field tests: a grid with roads and buildings, a walk along its roads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session


def grid_with_roads(session: Session) -> dict[str, Any]:
    """A current basic grid crossed by a long road, with a building inside it."""
    row = session.execute(text("""
        SELECT g.code, g.community_code, ST_AsBinary(piece) AS road,
               b.code AS building, ST_X(ST_PointOnSurface(b.geom)) AS blon,
               ST_Y(ST_PointOnSurface(b.geom)) AS blat
        FROM grids g JOIN grid_layers l ON l.id = g.layer_id AND l.name = 'basic'
        CROSS JOIN LATERAL (
            SELECT (ST_Dump(ST_Intersection(r.geom, g.geom))).geom AS piece FROM roads r
            WHERE ST_Intersects(r.geom, g.geom)) p
        JOIN buildings b ON ST_Covers(g.geom, ST_PointOnSurface(b.geom))
        WHERE g.valid_to IS NULL AND GeometryType(piece) = 'LINESTRING'
          AND ST_Length(CAST(piece AS geography)) > 300
        ORDER BY g.code, ST_Length(CAST(piece AS geography)) DESC, b.code LIMIT 1""")
    ).mappings().one()
    return {**row, "road": shapely.from_wkb(bytes(row["road"]))}


def walk(road: Any, start: datetime, metres: float = 300.0, step_m: float = 8.0,
         every_s: float = 5.0) -> list[dict[str, Any]]:
    """Positions along ``road`` (WGS84) every ``every_s`` seconds, ``step_m`` apart."""
    degrees_per_m = road.length / _metres(road)
    along = np.arange(0.0, min(metres, _metres(road) - 1), step_m) * degrees_per_m
    pts = shapely.get_coordinates(shapely.line_interpolate_point(road, along))
    return [{"t": (start + timedelta(seconds=i * every_s)).isoformat(), "lon": float(x),
             "lat": float(y), "accuracy": 8.0} for i, (x, y) in enumerate(pts)]


def _metres(line: Any) -> float:
    """Length of a WGS84 line in metres (equirectangular; fine over a few hundred metres)."""
    xy = shapely.get_coordinates(line)
    lat = np.radians(xy[:, 1].mean())
    d = np.diff(xy, axis=0) * np.radians(1) * 6_371_008.8
    return float(np.hypot(d[:, 0] * np.cos(lat), d[:, 1]).sum())
