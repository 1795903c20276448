"""Supervision of patrols.

A worker's day replayed, their check-ins, coverage per grid, idle periods, grids nobody
patrolled.

Coverage (``gis_core.track_coverage``): the share of a grid's road length
within ``distance`` (20 m) of the day's tracks (every worker together, or one
worker), with the time spent in the grid (``gis_core.tracks.time_in_grids``)
and the check-ins made there. Everything is computed in the territory's
metric CRS from the points the caller may see; every read is audited.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.field.scope import (
    TrackRows,
    audit_track_read,
    day_bounds,
    grid_scope_sql,
    load_points,
    record_scope_sql,
)
from api.personal.cipher import PersonalCipher
from api.settings import FieldSettings
from gis_core.crs import from_wgs84
from gis_core.metric_zone import metric_crs
from gis_core.track_coverage import coverage_and_time, road_pieces
from gis_core.tracks import Segments, idle_periods, segments


def metric_of(rows: TrackRows) -> tuple[Any, np.ndarray, np.ndarray]:
    """The metric CRS of the points (by their median) and their coordinates in it."""
    crs = metric_crs(float(np.median(rows.lon)), float(np.median(rows.lat)))
    x, y = from_wgs84(rows.lon, rows.lat, crs)
    return crs, x, y


def replay(session: Session, cipher: PersonalCipher, principal: Principal,
           settings: FieldSettings, timezone: str,
           worker_id: int, day: date) -> dict[str, Any]:
    """A worker's track of one day as GeoJSON: one line per piece between gaps, and totals."""
    start, end = day_bounds(day, timezone)
    rows = load_points(session, cipher, principal, start, end, worker_id)
    audit_track_read(session, principal, worker_id, "track",
                     {"day": day.isoformat(), "points": len(rows)})
    session.commit()
    features: list[dict[str, Any]] = []
    metres = seconds = 0.0
    if len(rows):
        _, x, y = metric_of(rows)
        segs = segments(rows.shift, rows.t, x, y, settings.track_max_gap_s)
        metres = float(shapely.length(segs.lines).sum())
        seconds = float((segs.t1 - segs.t0).sum())
        features = _lines(rows, settings.track_max_gap_s)
    return {"type": "FeatureCollection", "features": features, "worker_id": worker_id,
            "day": day.isoformat(), "points": len(rows), "km": round(metres / 1000, 3),
            "hours": round(seconds / 3600, 3)}


def _lines(rows: TrackRows, max_gap: float) -> list[dict[str, Any]]:
    """The track cut at gaps and shift changes, each piece a LineString with its times."""
    cut = np.r_[True, (rows.shift[1:] != rows.shift[:-1]) | (np.diff(rows.t) > max_gap)]
    starts = np.flatnonzero(cut)
    ends = np.r_[starts[1:], len(rows)]
    out = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        coords = [[round(float(o), 7), round(float(p), 7)]
                  for o, p in zip(rows.lon[a:b], rows.lat[a:b], strict=True)]
        geometry = ({"type": "LineString", "coordinates": coords} if b - a > 1
                    else {"type": "Point", "coordinates": coords[0]})
        out.append({"type": "Feature", "geometry": geometry, "properties": {
            "shift": rows.shift[a], "start": _iso(rows.t[a]), "end": _iso(rows.t[b - 1]),
            "times": [_iso(t) for t in rows.t[a:b]],
            "accuracy": [None if np.isnan(v) else float(v) for v in rows.accuracy[a:b]]}})
    return out


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(float(epoch), UTC).isoformat()


_CHECKINS_OF_DAY = """
SELECT c.id, b.code AS building_code, b.address, c.at, c.distance_m, c.flagged, c.grid_code,
       ST_X(COALESCE(c.geom, ST_PointOnSurface(b.geom))) AS lon,
       ST_Y(COALESCE(c.geom, ST_PointOnSurface(b.geom))) AS lat
FROM field_checkins c JOIN buildings b ON b.id = c.building_id
WHERE c.worker_id = :worker AND c.at >= :start AND c.at < :end AND {scope}
ORDER BY c.at, c.id"""


def checkins_of_day(session: Session, principal: Principal, timezone: str, worker_id: int,
                    day: date) -> dict[str, Any]:
    """A worker's check-ins of one day as GeoJSON points (the phone, else the building)."""
    start, end = day_bounds(day, timezone)
    where, params = record_scope_sql(principal, "c.grid_code", "c.worker_id")
    rows = session.execute(text(_CHECKINS_OF_DAY.format(scope=where)), {
        "worker": worker_id, "start": start, "end": end, **params}).mappings().all()
    audit_track_read(session, principal, worker_id, "checkins",
                     {"day": day.isoformat(), "checkins": len(rows)})
    session.commit()
    features = [{"type": "Feature", "id": r["id"],
                 "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                 "properties": {"building_code": r["building_code"], "address": r["address"],
                                "at": r["at"].isoformat(), "grid": r["grid_code"],
                                "flagged": r["flagged"],
                                "distance_m": None if r["distance_m"] is None
                                else round(float(r["distance_m"]), 1)}} for r in rows]
    return {"type": "FeatureCollection", "features": features, "worker_id": worker_id,
            "day": day.isoformat()}


def grids_and_roads(session: Session, layer: str, codes: list[str], crs: Any
                     ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Current grids ``codes`` of ``layer`` and the roads crossing them, in ``crs``."""
    grids = session.execute(text("""
        SELECT g.code, ST_AsBinary(g.geom) AS wkb FROM grids g
        JOIN grid_layers l ON l.id = g.layer_id
        WHERE l.name = :layer AND g.valid_to IS NULL AND g.code = ANY(CAST(:codes AS text[]))
        ORDER BY g.code"""), {"layer": layer, "codes": codes}).all()
    roads = session.execute(text("""
        SELECT ST_AsBinary(r.geom) FROM roads r WHERE EXISTS (
            SELECT 1 FROM grids g JOIN grid_layers l ON l.id = g.layer_id
            WHERE l.name = :layer AND g.valid_to IS NULL
              AND g.code = ANY(CAST(:codes AS text[])) AND ST_Intersects(g.geom, r.geom))"""),
        {"layer": layer, "codes": codes}).scalars().all()
    return (_project(shapely.from_wkb([bytes(g.wkb) for g in grids]), crs),
            [g.code for g in grids], _project(shapely.from_wkb([bytes(r) for r in roads]), crs))


def _project(geoms: np.ndarray, crs: Any) -> np.ndarray:
    if not len(geoms):
        return np.empty(0, dtype=object)
    def move(coords: np.ndarray) -> np.ndarray:
        x, y = from_wgs84(coords[:, 0], coords[:, 1], crs)
        return np.column_stack([x, y])
    return np.asarray(shapely.transform(geoms, move), dtype=object)


def coverage(session: Session, cipher: PersonalCipher, principal: Principal,
             settings: FieldSettings, timezone: str,
             day: date, worker_id: int | None = None, distance: float = 20.0
             ) -> list[dict[str, Any]]:
    """Road coverage, time and check-ins per grid patrolled on ``day`` (by anyone or one)."""
    start, end = day_bounds(day, timezone)
    rows = load_points(session, cipher, principal, start, end, worker_id)
    audit_track_read(session, principal, worker_id, "coverage",
                     {"day": day.isoformat(), "points": len(rows)})
    session.commit()
    if not len(rows):
        return []
    crs, x, y = metric_of(rows)
    codes = sorted({g for g in rows.grid if isinstance(g, str)})
    grids, names, roads = grids_and_roads(session, settings.field_grid_layer, codes, crs)
    segs = segments(rows.shift, rows.t, x, y, settings.track_max_gap_s)
    everyone = Segments(segs.lines, np.full(len(segs.lines), "all", dtype=object),
                        segs.t0, segs.t1)
    pieces = road_pieces(roads, grids, names)
    covered, spent = coverage_and_time(pieces, segs, grids, names, distance, covering=everyone)
    covered = covered.set_index("grid")
    seconds = spent.groupby("grid")["seconds"].sum()
    checkins = _checkins_by_grid(session, principal, start, end, worker_id)
    road_m = pieces.road_length()
    return [{"grid": code, "road_m": round(float(road_m.get(code, 0.0)), 1),
             "covered_m": round(float(covered["covered_m"].get(code, 0.0)), 1),
             "share": round(float(covered["share"].get(code, 0.0)), 4),
             "hours": round(float(seconds.get(code, 0.0)) / 3600, 3),
             "checkins": int(checkins.get(code, 0))} for code in names]


def _checkins_by_grid(session: Session, principal: Principal, start: datetime, end: datetime,
                      worker_id: int | None) -> pd.Series:
    where, params = record_scope_sql(principal, "c.grid_code", "c.worker_id")
    if worker_id is not None:
        where += " AND c.worker_id = :worker"
        params["worker"] = worker_id
    rows = session.execute(text(f"""
        SELECT c.grid_code, count(*) FROM field_checkins c
        WHERE c.at >= :start AND c.at < :end AND {where} GROUP BY 1"""),  # noqa: S608
        {"start": start, "end": end, **params}).all()
    return pd.Series({r[0]: r[1] for r in rows}, dtype="int64")


def idle(session: Session, cipher: PersonalCipher, principal: Principal,
         settings: FieldSettings, timezone: str,
         worker_id: int, day: date) -> list[dict[str, Any]]:
    """A worker's idle periods of a day (stays within a radius for a while), per shift."""
    start, end = day_bounds(day, timezone)
    rows = load_points(session, cipher, principal, start, end, worker_id)
    audit_track_read(session, principal, worker_id, "idle", {"day": day.isoformat()})
    session.commit()
    if not len(rows):
        return []
    _, x, y = metric_of(rows)
    out = []
    for shift in dict.fromkeys(rows.shift.tolist()):
        mine = rows.shift == shift
        found = idle_periods(rows.t[mine], x[mine], y[mine], settings.field_idle_radius_m,
                             settings.field_idle_minutes * 60)
        first = np.flatnonzero(mine)[0]
        for period in found.itertuples():
            at = first + int(np.searchsorted(rows.t[mine], period.start))
            out.append({"shift": shift, "start": _iso(period.start), "end": _iso(period.end),
                        "minutes": round(period.seconds / 60, 1),
                        "lon": float(rows.lon[at]), "lat": float(rows.lat[at])})
    return out


def unpatrolled(session: Session, principal: Principal, settings: FieldSettings,
                timezone: str, week_of: date) -> dict[str, Any]:
    """Grids of the field layer in scope with no track point in the week (Monday on)."""
    monday = week_of - timedelta(days=week_of.weekday())
    start, _ = day_bounds(monday, timezone)
    where, params = grid_scope_sql(principal, "g.code")
    codes = session.execute(text(f"""
        SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
        WHERE l.name = :layer AND g.valid_to IS NULL AND {where}
          AND NOT EXISTS (SELECT 1 FROM track_points p WHERE p.grid_code = g.code
                          AND p.recorded_at >= :start AND p.recorded_at < :end)
        ORDER BY g.code"""), {"layer": settings.field_grid_layer, "start": start,  # noqa: S608
                               "end": start + timedelta(days=7), **params}).scalars().all()
    return {"week_of": monday.isoformat(), "layer": settings.field_grid_layer,
            "grids": list(codes)}
