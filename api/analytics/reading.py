"""What the analyses read from PostGIS, as GeoDataFrames in EPSG:4326."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from gis_core.errors import NotFound


def read_frame(conn: Connection, sql: str, params: dict[str, Any] | None = None
               ) -> gpd.GeoDataFrame:
    """The rows of ``sql`` as a GeoDataFrame (geometry from its ``wkb`` column)."""
    rows = conn.execute(text(sql), params or {}).mappings().all()
    data = pd.DataFrame([{k: v for k, v in r.items() if k != "wkb"} for r in rows])
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=4326)


def read_grids(conn: Connection, layer: str, grid: str | None = None) -> gpd.GeoDataFrame:
    """Current grids of a layer (404 for an unknown layer or grid)."""
    if conn.execute(text("SELECT 1 FROM grid_layers WHERE name = :l"), {"l": layer}).first() \
            is None:
        known = conn.execute(text("SELECT string_agg(name, ', ') FROM grid_layers")).scalar()
        raise NotFound(f"query parameter 'layer': no grid layer {layer!r} (layers: {known})",
                       parameter="layer")
    frame = read_frame(conn, "SELECT g.code, g.name, ST_AsBinary(g.geom) AS wkb FROM grids g "
                         "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = :l "
                         "AND g.valid_to IS NULL AND (CAST(:g AS text) IS NULL OR g.code = :g)"
                         " ORDER BY g.code", {"l": layer, "g": grid})
    if grid is not None and frame.empty:
        raise NotFound(f"query parameter 'grid': no current grid {grid!r} in layer {layer!r}",
                       parameter="grid")
    return frame


def read_cameras(conn: Connection, bbox: Sequence[float] | None = None) -> gpd.GeoDataFrame:
    """Cameras online (optionally those whose range reaches ``bbox``).

    Only a camera whose status is ``online`` (kept by its heartbeats,
    ``api.camera_feed``) counts for coverage and blind spots.
    """
    where = ""
    params: dict[str, Any] = {}
    if bbox is not None:
        where = ("AND ST_DWithin(geom::geography, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
                 "::geography, range_m)")
        params = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    return read_frame(conn, "SELECT code, kind, mount_height, heading, hfov, range_m, pan_min, "  # noqa: S608 - SQL from trusted parts; values bound
                        "pan_max, ST_AsBinary(geom) AS wkb FROM cameras WHERE status = "
                        f"'online' {where} ORDER BY code", params)


def read_buildings(conn: Connection, bbox: Sequence[float]) -> gpd.GeoDataFrame:
    """Building footprints with heights in a box."""
    return read_frame(conn, "SELECT code, coalesce(height, floors * 3.0) AS height, "
                        "ST_AsBinary(geom) AS wkb FROM buildings WHERE geom && "
                        "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)",
                  dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))


def read_roads(conn: Connection, bbox: Sequence[float]) -> gpd.GeoDataFrame:
    """Road centre lines in a box."""
    return read_frame(conn, "SELECT name, ST_AsBinary(geom) AS wkb FROM roads WHERE geom && "
                        "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)",
                  dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))


def read_events(conn: Connection, start: datetime | None, end: datetime | None,
                categories: Sequence[str] | None) -> gpd.GeoDataFrame:
    """Events (no personal data) in a time window and categories."""
    frame = read_frame(conn, "SELECT e.id, c.code AS category_code, e.reported_at, e.grids, "
                         "ST_AsBinary(e.geom) AS wkb FROM events e JOIN event_categories c "
                         "ON c.id = e.category_id WHERE (CAST(:s AS timestamptz) IS NULL OR "
                         "e.reported_at >= :s) AND (CAST(:e AS timestamptz) IS NULL OR "
                         "e.reported_at < :e) AND (CAST(:c AS text[]) IS NULL OR "
                         "c.code = ANY(:c) OR c.major_code = ANY(:c))",
                   {"s": start, "e": end, "c": list(categories) if categories else None})
    if frame.empty:
        raise NotFound("no events in the chosen window and categories", parameter="from")
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame


def pad(bounds: Sequence[float], metres: float) -> tuple[float, float, float, float]:
    """``bounds`` (degrees) widened by about ``metres``."""
    d = metres / 100_000.0
    return (bounds[0] - d, bounds[1] - d, bounds[2] + d, bounds[3] + d)


def feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame``."""
    if frame.empty:
        return {"type": "FeatureCollection", "features": []}
    out = frame.to_crs(4326) if frame.crs is not None and not frame.crs.equals(4326) else frame
    extra = [c for c in out.columns if c != out.geometry.name
             and isinstance(out[c].dtype, gpd.array.GeometryDtype)]
    out = out.drop(columns=extra)
    for c in out.columns:  # timestamps and other objects as strings
        if c != out.geometry.name and out[c].dtype.kind in "Mm":
            out[c] = out[c].astype(str)
    return dict(json.loads(out.to_json(drop_id=True, na="null", default=str)))
