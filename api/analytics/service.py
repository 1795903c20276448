"""Analytics over the stored data: camera coverage, placement, hot spots, anomalies.

Each analysis reads what it needs from PostGIS into GeoDataFrames and runs the
:mod:`gis_core` engine on it. Results are cached in memory, keyed by the
analysis, its parameters and the change counters (``table_versions``, kept by
the triggers of migration 0003) of the tables it reads: an unchanged repeat is
answered from the cache, any committed change of those tables computes anew.
Coverage and hot-spot runs also write their results into ``blind_spots`` and
``hotspot_cells`` (replacing the previous run's rows, in one transaction), so
the one-map draws them as tile layers.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from api.db.change_counters import read_versions
from gis_core import anomalies, coverage, hotspots, placement
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput, NotFound
from gis_core.io import write_geotiff

#: Tables each analysis reads (its cache key includes their change counters).
DEPENDS = {
    "coverage": ("grids", "grid_layers", "cameras", "buildings", "roads"),
    "placement": ("grids", "grid_layers", "cameras", "buildings", "roads", "events"),
    "hotspots": ("events", "grids", "grid_layers", "event_categories"),
    "emerging": ("events", "event_categories"),
    "anomalies": ("events", "grids", "grid_layers", "event_categories"),
    "density": ("events", "event_categories"),
}


class AnalysisBusy(Exception):
    """Another computation of the same kind is running (answered 429 with Retry-After)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"another {name} analysis is running; try again shortly")
        self.name = name


class ResultCache:
    """A small LRU of analysis results keyed by name, parameters and table versions.

    One computation runs at a time per kind (``name``): a request for the same
    result waits for it and gets the cached answer; a request for another
    result of a kind already computing gets :class:`AnalysisBusy` at once.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._running: dict[str, tuple[tuple[Any, ...], threading.Event]] = {}
        self.hits = 0
        self.misses = 0

    def _cached(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return True, self._items[key]
        return False, None

    def _claim(self, name: str, key: tuple[Any, ...]) -> tuple[bool, Any]:
        """(True, result) when cached; (False, None) when this caller computes."""
        while True:
            with self._lock:
                hit, result = self._cached(key)
                if hit:
                    return True, result
                running = self._running.get(name)
                if running is None:
                    self._running[name] = (key, threading.Event())
                    return False, None
                if running[0] != key:
                    raise AnalysisBusy(name)
                done = running[1]
            done.wait()  # the same result is being computed: take it from the cache

    def get_or_compute(self, engine: Engine, name: str, params: dict[str, Any],
                       compute: Callable[[], Any]) -> Any:
        """The cached result, or ``compute()`` stored under the current table versions."""
        key = (name, json.dumps(params, sort_keys=True, default=str), versions(engine, name))
        hit, result = self._claim(name, key)
        if hit:
            return result
        try:
            result = compute()
            with self._lock:
                self.misses += 1
                self._items[key] = result
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return result
        finally:
            with self._lock:
                _, done = self._running.pop(name)
            done.set()


def versions(engine: Engine, name: str) -> tuple[tuple[str, int], ...]:
    """The change counters of the tables analysis ``name`` reads."""
    with engine.connect() as conn:
        found = read_versions(conn, DEPENDS[name])
    return tuple(sorted(found.items()))


# --------------------------------------------------------------------------- reading


def _frame(conn: Connection, sql: str, params: dict[str, Any] | None = None
           ) -> gpd.GeoDataFrame:
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
    frame = _frame(conn, "SELECT g.code, g.name, ST_AsBinary(g.geom) AS wkb FROM grids g "
                         "JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = :l "
                         "AND g.valid_to IS NULL AND (CAST(:g AS text) IS NULL OR g.code = :g)"
                         " ORDER BY g.code", {"l": layer, "g": grid})
    if grid is not None and frame.empty:
        raise NotFound(f"query parameter 'grid': no current grid {grid!r} in layer {layer!r}",
                       parameter="grid")
    return frame


def read_cameras(conn: Connection, bbox: Sequence[float] | None = None) -> gpd.GeoDataFrame:
    """Cameras in service (optionally those whose range reaches ``bbox``)."""
    where = ""
    params: dict[str, Any] = {}
    if bbox is not None:
        where = ("AND ST_DWithin(geom::geography, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
                 "::geography, range_m)")
        params = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    return _frame(conn, "SELECT code, kind, mount_height, heading, hfov, range_m, pan_min, "  # noqa: S608 - SQL from trusted parts; values bound
                        "pan_max, ST_AsBinary(geom) AS wkb FROM cameras WHERE status <> "
                        f"'removed' {where} ORDER BY code", params)


def read_buildings(conn: Connection, bbox: Sequence[float]) -> gpd.GeoDataFrame:
    """Building footprints with heights in a box."""
    return _frame(conn, "SELECT code, coalesce(height, floors * 3.0) AS height, "
                        "ST_AsBinary(geom) AS wkb FROM buildings WHERE geom && "
                        "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)",
                  dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))


def read_roads(conn: Connection, bbox: Sequence[float]) -> gpd.GeoDataFrame:
    """Road centre lines in a box."""
    return _frame(conn, "SELECT name, ST_AsBinary(geom) AS wkb FROM roads WHERE geom && "
                        "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)",
                  dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))


def read_events(conn: Connection, start: datetime | None, end: datetime | None,
                categories: Sequence[str] | None) -> gpd.GeoDataFrame:
    """Events (no personal data) in a time window and categories."""
    frame = _frame(conn, "SELECT e.id, c.code AS category_code, e.reported_at, e.grids, "
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


def _pad(bounds: Sequence[float], metres: float) -> tuple[float, float, float, float]:
    d = metres / 100_000.0
    return (bounds[0] - d, bounds[1] - d, bounds[2] + d, bounds[3] + d)


def _feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- coverage


def _visible(conn: Connection, grids: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries,
                                                                 gpd.GeoDataFrame, tuple]:
    bbox = _pad(grids.total_bounds, 10)
    cams = read_cameras(conn, bbox)
    reach = _pad(grids.total_bounds, float(cams["range_m"].max()) if len(cams) else 10)
    buildings = read_buildings(conn, reach)
    if cams.empty:
        empty = gpd.GeoSeries([], crs=metric_crs_for(grids))
        return empty, buildings, reach
    return coverage.visible_polygons(cams, buildings if len(buildings) else None), buildings, reach


def coverage_report(conn: Connection, layer: str, grid: str | None, min_area_m2: float
                    ) -> dict[str, Any]:
    """Per-grid coverage figures and blind spots; blind spots replace the stored ones."""
    grids = read_grids(conn, layer, grid)
    visible, buildings, _reach = _visible(conn, grids)
    roads = read_roads(conn, grids.total_bounds)
    per_grid = coverage.coverage_by_grid(grids, visible, roads=roads if len(roads) else None,
                                         buildings=buildings if len(buildings) else None)
    holes = coverage.blind_spots(grids, visible, min_area_m2=min_area_m2).to_crs(4326)
    codes = grids["code"].tolist()
    conn.execute(text("DELETE FROM blind_spots WHERE grid_code = ANY(:c)"), {"c": codes})
    if len(holes):
        conn.execute(text(
            "INSERT INTO blind_spots (grid_code, area_m2, geom) SELECT c, a, "
            "ST_Multi(ST_GeomFromWKB(w, 4326)) FROM unnest(CAST(:c AS text[]), "
            "CAST(:a AS float8[]), CAST(:w AS bytea[])) AS t(c, a, w)"),
            {"c": holes["code"].tolist(), "a": holes["area_m2"].astype(float).tolist(),
             "w": [shapely.to_wkb(g) for g in holes.geometry]})
    figures = per_grid.reset_index().rename(columns={"index": "code"})
    figures = figures.replace({np.nan: None})
    return {"layer": layer, "grid": grid, "cameras": len(visible),
            "min_area_m2": min_area_m2,
            "grids": figures.to_dict("records"),
            "blind_spots": _feature_collection(holes)}


def coverage_geotiff(conn: Connection, layer: str, grid: str | None, cell_size_m: float
                     ) -> bytes:
    """How many cameras see each cell, as a GeoTIFF in the territory's metric CRS."""
    grids = read_grids(conn, layer, grid)
    visible, _, _ = _visible(conn, grids)
    crs = metric_crs_for(grids)
    bounds = grids.to_crs(crs).total_bounds
    array, transform, out_crs = coverage.coverage_raster(visible.to_crs(crs), tuple(bounds),
                                                         cell_size_m, crs)
    buf = io.BytesIO()
    write_geotiff(buf, array, transform, out_crs)
    return buf.getvalue()


def placement_report(conn: Connection, layer: str, grid: str | None, k: int,
                     candidates: Sequence[Sequence[float]] | None, range_m: float,
                     demand: str) -> dict[str, Any]:
    """The ``k`` best new camera sites for the grids, with the gain of each."""
    grids = read_grids(conn, layer, grid)
    visible, buildings, _ = _visible(conn, grids)
    area = grids.union_all()
    if candidates:
        sites = gpd.GeoDataFrame({"candidate": [f"c{i}" for i in range(len(candidates))]},
                                 geometry=gpd.points_from_xy([c[0] for c in candidates],
                                                             [c[1] for c in candidates]),
                                 crs=4326)
    else:  # road vertices (crossings and bends) inside the grids
        roads = read_roads(conn, grids.total_bounds)
        xy = shapely.get_coordinates(np.asarray(roads.geometry.array)) if len(roads) else \
            np.empty((0, 2))
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326)
        pts = pts[pts.within(area)].drop_duplicates()
        step = max(1, len(pts) // 400)
        sites = gpd.GeoDataFrame({"candidate": [f"r{i}" for i in range(len(pts[::step]))]},
                                 geometry=pts[::step].to_numpy(), crs=4326)
    if sites.empty:
        raise InvalidInput("no candidate sites inside the chosen grids; give 'candidates'",
                           parameter="candidates")
    if k > len(sites):
        raise InvalidInput(f"body field 'k': {k} sites asked for, {len(sites)} candidates",
                           parameter="k")
    kwargs: dict[str, Any] = {}
    if demand == "events":
        ev = _frame(conn, "SELECT e.id, ST_AsBinary(e.geom) AS wkb FROM events e WHERE "
                          "ST_Within(e.geom, ST_GeomFromWKB(:a, 4326))",
                    {"a": shapely.to_wkb(area)})
        if ev.empty:
            raise InvalidInput("no events inside the chosen grids; use demand=area",
                               parameter="demand")
        ev["weight"] = 1.0
        kwargs["demand"] = ev
    else:
        kwargs["area"] = grids
        kwargs["sample_spacing_m"] = 10.0
    best = placement.recommend_cameras(
        sites, k, existing_visible=visible if len(visible) else None,
        buildings=buildings if len(buildings) else None, range_m=range_m, **kwargs)
    best = best.to_crs(4326)
    return {"layer": layer, "grid": grid, "k": k, "demand": demand,
            "candidates": len(sites), "sites": _feature_collection(best),
            "existing_weight": best.attrs.get("existing_weight"),
            "total_weight": best.attrs.get("total_weight")}


# --------------------------------------------------------------------------- hot spots


#: the most H3 cells an analysis may cut the territory into (sets the finest resolution)
MAX_H3_CELLS = 200_000
#: the most time steps of an emerging hot spot analysis
MAX_TIME_STEPS = 260


def max_h3_resolution(conn: Connection) -> int:
    """The finest H3 resolution that cuts the territory into at most ``MAX_H3_CELLS`` cells.

    The territory is the bounding box of the admin areas (or of the grids).
    """
    area_km2 = conn.execute(text(
        "SELECT coalesce((SELECT ST_Area(ST_Envelope(ST_Extent(geom))::geography) "
        "FROM admin_areas), (SELECT ST_Area(ST_Envelope(ST_Extent(geom))::geography) "
        "FROM grids)) / 1e6")).scalar()
    if not area_km2:
        return 9
    fits = [r for r in range(16)
            if area_km2 / h3.average_hexagon_area(r, unit="km^2") <= MAX_H3_CELLS]
    return max(fits, default=0)


def check_h3_resolution(conn: Connection, resolution: int, parameter: str) -> None:
    """422 naming ``parameter`` when ``resolution`` is finer than the territory allows."""
    finest = max_h3_resolution(conn)
    if resolution > finest:
        raise InvalidInput(f"query parameter '{parameter}': H3 resolution {resolution} would "
                           f"cut the territory into more than {MAX_H3_CELLS:,} cells; use "
                           f"{finest} or coarser", code="resolution_too_fine",
                           parameter=parameter, maximum=finest)


def parse_cell(cell: str) -> tuple[str, str | int]:
    """``h3:9`` -> ("h3", 9); ``grid:basic`` -> ("grid", "basic")."""
    kind, _, arg = cell.partition(":")
    if kind == "h3" and arg.isdigit() and 0 <= int(arg) <= 15:
        return "h3", int(arg)
    if kind == "grid" and arg:
        return "grid", arg
    raise InvalidInput(f"query parameter 'cell': {cell!r}; use h3:RES (0-15) or grid:LAYER",
                       parameter="cell")


def hotspot_report(conn: Connection, cell: str, start: datetime | None, end: datetime | None,
                   categories: Sequence[str] | None, alpha: float) -> dict[str, Any]:
    """Gi* with FDR on H3 cells or grids; the classes replace the stored hot spots."""
    kind, arg = parse_cell(cell)
    events = read_events(conn, start, end, categories)
    if kind == "h3":
        cells = hotspots.aggregate_h3(events, int(arg))
        ids = cells["cell"].tolist()
        stats = hotspots.gi_star(cells["count"].to_numpy(), ids, method="contiguity",
                                 alpha=alpha)
    else:
        grids = read_grids(conn, str(arg))
        cells = hotspots.aggregate_grids(events, grids)
        ids = cells["code"].tolist()
        stats = hotspots.gi_star(cells["count"].to_numpy(), cells, method="contiguity",
                                 alpha=alpha)
    out = gpd.GeoDataFrame({"cell": ids, "count": cells["count"].to_numpy(),
                            "z": stats["z"].to_numpy(), "p": stats["p"].to_numpy(),
                            "class": stats["class"].astype(int).to_numpy(),
                            "significant": stats["significant"].to_numpy()},
                           geometry=cells.geometry.to_numpy(), crs=cells.crs)
    method = f"gi_star:{cell}"
    conn.execute(text("DELETE FROM hotspot_cells WHERE method LIKE 'gi_star:%'"))
    conn.execute(text(
        "INSERT INTO hotspot_cells (method, cell, value, z, p, hot_class, geom) SELECT :m, c, v, "
        "z, p, k, ST_Multi(ST_GeomFromWKB(w, 4326)) FROM unnest(CAST(:c AS text[]), "
        "CAST(:v AS float8[]), CAST(:z AS float8[]), CAST(:p AS float8[]), CAST(:k AS int[]), "
        "CAST(:w AS bytea[])) AS t(c, v, z, p, k, w)"),
        {"m": method, "c": ids, "v": out["count"].astype(float).tolist(),
         "z": [None if not np.isfinite(v) else float(v) for v in out["z"]],
         "p": [None if not np.isfinite(v) else float(v) for v in out["p"]],
         "k": out["class"].tolist(), "w": [shapely.to_wkb(g) for g in out.geometry.to_crs(4326)]})
    summary = {str(k): int(v) for k, v in out["class"].value_counts().sort_index().items()}
    return {"method": "gi_star", "cell": cell, "events": int(out["count"].sum()),
            "alpha": alpha, "classes": summary, "cells": _feature_collection(out)}


def as_utc(value: datetime | None) -> pd.Timestamp | None:
    """``value`` as a pandas Timestamp in UTC (a naive one is taken as UTC).

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> as_utc(datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))))
    Timestamp('2024-01-01 00:00:00+0000', tz='UTC')
    """
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_time_steps(step: str, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """422 unless ``step`` is a pandas frequency making at most ``MAX_TIME_STEPS`` steps.

    Only ``MAX_TIME_STEPS + 1`` steps are ever generated, whatever the window.

    Examples
    --------
    >>> t0, t1 = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-12-31", tz="UTC")
    >>> check_time_steps("W", t0, t1)
    >>> try:
    ...     check_time_steps("h", t0, t1)
    ... except InvalidInput as exc:
    ...     print(exc.code)
    too_many_steps
    """
    try:
        offset = pd.tseries.frequencies.to_offset(step)
        steps = pd.date_range(first.floor("D"), periods=MAX_TIME_STEPS + 1, freq=offset)
    except (ValueError, TypeError):
        raise InvalidInput(f"query parameter 'step': {step!r} is not a pandas frequency "
                           "such as W, D, 2W or MS", parameter="step") from None
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return  # the steps run past any date: fewer than the maximum before ``last``
    if steps[-1] <= last or steps[-1] <= steps[0]:
        raise InvalidInput(f"query parameter 'step': {step!r} makes more than "
                           f"{MAX_TIME_STEPS} time steps over the events' time span (use a "
                           "longer step or a shorter window)", code="too_many_steps",
                           parameter="step")


def emerging_report(conn: Connection, resolution: int, step: str, start: datetime | None,
                    end: datetime | None, categories: Sequence[str] | None) -> dict[str, Any]:
    """Emerging hot spot patterns per H3 cell over time steps."""
    t0, t1 = as_utc(start), as_utc(end)
    events = read_events(conn, start, end, categories)
    check_time_steps(step, t0 if t0 is not None else events["reported_at"].min(),
                     t1 if t1 is not None else events["reported_at"].max())
    result = hotspots.emerging_hotspots(events, resolution=resolution, time_step=step,
                                        start=t0, end=t1)
    steps = [str(s) for s in result.attrs.get("time_steps", [])]
    patterns = {str(k): int(v) for k, v in result["pattern"].value_counts().items()}
    return {"resolution": resolution, "step": step, "time_steps": steps,
            "patterns": patterns, "cells": _feature_collection(result)}


def anomaly_report(conn: Connection, layer: str, period: str, at: datetime | None,
                   method: str, by_category: bool, baseline: int | None) -> dict[str, Any]:
    """Grids (and categories) whose count in the period is abnormal against their own past."""
    read_grids(conn, layer)  # 404 for an unknown layer
    freq = {"day": "D", "week": "W", "month": "M"}[period]
    rows = conn.execute(text(
        "SELECT e.grids ->> :l AS grid, e.reported_at, c.code AS category FROM events e "
        "JOIN event_categories c ON c.id = e.category_id WHERE e.grids ? :l "
        "AND jsonb_typeof(e.grids -> :l) = 'string' "
        "AND (CAST(:at AS timestamptz) IS NULL OR e.reported_at < :at)"),
        {"l": layer, "at": at}).all()
    if not rows:
        raise NotFound(f"no events in grid layer {layer!r}", parameter="layer")
    frame = pd.DataFrame(rows, columns=["grid", "reported_at", "category"])
    stamps = pd.to_datetime(frame["reported_at"], utc=True).dt.tz_convert("Asia/Shanghai")
    frame["period"] = stamps.dt.tz_localize(None).dt.to_period(freq)
    keys = ["grid", "period"] + (["category"] if by_category else [])
    counts = frame.groupby(keys).size().rename("count").reset_index()
    alerts = anomalies.grid_anomalies(counts, method=method,  # type: ignore[arg-type]
                                      category_col="category" if by_category else None,
                                      baseline_periods=baseline)
    alerts = alerts.astype(object).where(alerts.notna(), None)
    records = [{k: (str(v) if isinstance(v, pd.Period) else v) for k, v in r.items()}
               for r in alerts.to_dict("records")]
    latest = counts["period"].max()
    return {"layer": layer, "period": period, "tested": str(latest), "method": method,
            "alerts": records}


def density_geotiff(conn: Connection, start: datetime | None, end: datetime | None,
                    categories: Sequence[str] | None, cell_size_m: float,
                    bandwidth_m: float) -> bytes:
    """Kernel density of events (per km²) as a GeoTIFF."""
    events = read_events(conn, start, end, categories)
    surface, transform, crs = hotspots.kernel_density(events, None, cell_size_m, bandwidth_m)
    buf = io.BytesIO()
    write_geotiff(buf, surface.astype("float32"), transform, crs)
    return buf.getvalue()
