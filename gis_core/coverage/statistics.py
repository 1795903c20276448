"""Coverage figures per grid (covered area, roads, buildings seen) and blind spots.

The grids and every layer measured against them (visible ground, roads,
buildings) must share one CRS (:mod:`gis_core._checks`); areas and lengths
are measured in the metric CRS of the grids (the ``crs`` argument, else the
grids' own when projected, else their Gauss-Kruger zone).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_core._checks import (
    geometries_in,
    require_column,
    require_frame,
    same_crs,
    series_in,
)
from gis_core.coverage.occlusion import group_union
from gis_core.crs import metric_crs_of
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray, GeomArray

__all__ = ["SEEN_TOLERANCE_M", "blind_spots", "coverage_by_grid"]

#: Distance (m) within which a wall counts as seen by a visible area.
SEEN_TOLERANCE_M = 0.5


def _grid_pieces(
    grid_geoms: GeomArray, other: GeomArray, predicate: str = "intersects"
) -> GeomArray:
    """Per grid, the union of ``other`` clipped to it (None where nothing)."""
    other = other[~shapely.is_empty(other) & ~shapely.is_missing(other)]
    tree = shapely.STRtree(other)
    g_i, o_i = tree.query(grid_geoms, predicate=predicate)
    clipped = shapely.intersection(other[o_i], grid_geoms[g_i])
    return group_union(np.asarray(clipped, dtype=object), g_i, len(grid_geoms))


def _grids_metric(grids: gpd.GeoDataFrame, code: str, crs: Any) -> CRS:
    """The metric CRS of the grids, once they are checked."""
    require_frame(grids, "grids", "polygons")
    require_column(grids, code, "code", "grids")
    return metric_crs_of(grids, "grids", crs)


def _area(geoms: GeomArray) -> FloatArray:
    return np.array([0.0 if g is None else shapely.area(g) for g in geoms])


def coverage_by_grid(
    grids: gpd.GeoDataFrame,
    visible: gpd.GeoSeries,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    buildings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    code: str = "code",
    crs: Any = None,
) -> pd.DataFrame:
    """Coverage figures per grid.

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column.
    visible
        Visible ground of the cameras (:func:`visible_polygons`).
    roads
        Road lines; adds road length and its covered share.
    buildings
        Footprints; adds buildings per grid (by representative point) and how
        many are seen: footprint within 0.5 m of some camera's visible ground.
    code
        Grid code column.
    crs
        Metric CRS (default: see module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed by grid code: ``area_m2``, ``covered_m2``, ``covered_share``,
        ``cameras`` (visible polygons reaching the grid) and, when given,
        ``road_m``, ``covered_road_m``, ``road_share``, ``buildings``,
        ``buildings_seen``. Shares are in [0, 1] (NaN for no road).

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 5, 10)], crs=4547)
    >>> float(coverage_by_grid(g, v).loc["A", "covered_share"])
    0.5
    """
    metric = _grids_metric(grids, code, crs)
    for layer, name in ((visible, "visible"), (roads, "roads"), (buildings, "buildings")):
        if layer is not None:
            same_crs(grids, "grids", layer, name)
    gg = geometries_in(grids, metric, "grids")
    vis = geometries_in(visible, metric, "visible")
    covered = _grid_pieces(gg, vis)
    area = shapely.area(gg)
    out = pd.DataFrame({"area_m2": area}, index=pd.Index(grids[code].to_numpy(), name=code))
    out["covered_m2"] = _area(covered)
    out["covered_share"] = np.clip(out["covered_m2"] / np.where(area > 0, area, np.nan), 0, 1)
    tree = shapely.STRtree(vis)
    g_i, _ = tree.query(gg, predicate="intersects")
    out["cameras"] = np.bincount(g_i, minlength=len(gg))
    if roads is not None:
        rd = geometries_in(roads, metric, "roads")
        road_in = _grid_pieces(gg, rd)
        road_m = np.array([0.0 if r is None else shapely.length(r) for r in road_in])
        cov_len = np.array(
            [
                0.0 if r is None or c is None else shapely.length(shapely.intersection(r, c))
                for r, c in zip(road_in, covered, strict=True)
            ]
        )
        out["road_m"] = road_m
        out["covered_road_m"] = cov_len
        out["road_share"] = np.clip(cov_len / np.where(road_m > 0, road_m, np.nan), 0, 1)
    if buildings is not None:
        out = out.join(_buildings_seen(gg, buildings, vis, metric).set_axis(out.index))
    return out


def _buildings_seen(
    gg: GeomArray, buildings: gpd.GeoDataFrame | gpd.GeoSeries, vis: GeomArray, metric: CRS
) -> pd.DataFrame:
    fps = geometries_in(buildings, metric, "buildings")
    reps = shapely.point_on_surface(fps)
    b_i, g_i = shapely.STRtree(gg).query(reps, predicate="intersects")
    b_i, first = np.unique(b_i, return_index=True)
    g_i = g_i[first]
    v_tree = shapely.STRtree(vis[~shapely.is_empty(vis)])
    s_b, _ = v_tree.query(fps, predicate="dwithin", distance=SEEN_TOLERANCE_M)
    seen = np.zeros(len(fps), dtype=bool)
    seen[s_b] = True
    return pd.DataFrame(
        {
            "buildings": np.bincount(g_i, minlength=len(gg)),
            "buildings_seen": np.bincount(g_i, weights=seen[b_i], minlength=len(gg)).astype(
                np.int64
            ),
        }
    )


def blind_spots(
    grids: gpd.GeoDataFrame,
    visible: gpd.GeoSeries,
    min_area_m2: float = 100.0,
    code: str = "code",
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Uncovered parts of each grid of at least ``min_area_m2``.

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column.
    visible
        Visible ground of the cameras.
    min_area_m2
        Smallest blind spot kept (m^2, >= 0).
    code
        Grid code column.
    crs
        Metric CRS (default: see module docstring).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per blind spot: ``code``, ``area_m2``, polygon in the grids' CRS,
        largest first within each grid.

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 5, 10)], crs=4547)
    >>> blind_spots(g, v, min_area_m2=10)["area_m2"].round(1).tolist()
    [50.0]
    """
    if not min_area_m2 >= 0:
        raise InvalidInput("min_area_m2 must be >= 0", parameter="min_area_m2")
    metric = _grids_metric(grids, code, crs)
    same_crs(grids, "grids", visible, "visible")
    gg = geometries_in(grids, metric, "grids")
    covered = _grid_pieces(gg, geometries_in(visible, metric, "visible"))
    has = np.array([c is not None for c in covered], dtype=bool)
    holes = gg.copy()
    holes[has] = shapely.difference(gg[has], covered[has].astype(object))
    parts, owner = shapely.get_parts(holes, return_index=True)
    area = shapely.area(parts)
    keep = (area >= min_area_m2) & (area > 0)
    df = pd.DataFrame({code: grids[code].to_numpy()[owner[keep]], "area_m2": area[keep]})
    out = gpd.GeoDataFrame(
        df, geometry=series_in(parts[keep], df.index, metric, grids.crs).values, crs=grids.crs
    )
    order = np.lexsort((-out["area_m2"].to_numpy(), owner[keep]))
    return out.iloc[order].reset_index(drop=True)
