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
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy import Connection, Engine, text

from api.analytics.reading import (
    feature_collection,
    pad,
    read_buildings,
    read_cameras,
    read_frame,
    read_grids,
    read_roads,
)
from api.db.change_counters import read_versions
from gis_core import coverage, placement
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput
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


# --------------------------------------------------------------------------- coverage


def _visible(conn: Connection, grids: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries,
                                                                 gpd.GeoDataFrame, tuple]:
    bbox = pad(grids.total_bounds, 10)
    cams = read_cameras(conn, bbox)
    reach = pad(grids.total_bounds, float(cams["range_m"].max()) if len(cams) else 10)
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
            "blind_spots": feature_collection(holes)}


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
        ev = read_frame(conn, "SELECT e.id, ST_AsBinary(e.geom) AS wkb FROM events e WHERE "
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
            "candidates": len(sites), "sites": feature_collection(best),
            "existing_weight": best.attrs.get("existing_weight"),
            "total_weight": best.attrs.get("total_weight")}
