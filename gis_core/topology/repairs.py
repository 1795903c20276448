"""Repair of a grid layer into a partition: overlaps, crumbs and gaps by documented rules."""


from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from gis_core.crs import metric_crs_for
from gis_core.topology.parts import boundary_in, check_inputs, explode, holes, polygonal
from gis_core.types import GeomArray

__all__ = ["repair"]

_FILL_ROUNDS = 3


def _remove_overlaps(geoms: GeomArray, codes: npt.NDArray[np.object_]) -> GeomArray:
    """Each overlap stays with the grid of the smallest code (the assignment tie rule)."""
    rank = np.empty(len(codes), dtype=np.intp)
    rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))
    a, b = STRtree(geoms).query(geoms, predicate="intersects")
    loser = rank[a] > rank[b]  # a loses the area it shares with the smaller-code b
    a, b = a[loser], b[loser]
    out = geoms.copy()
    for grid in np.unique(a):
        out[grid] = shapely.difference(geoms[grid], shapely.union_all(geoms[b[a == grid]]))
    return polygonal(out)


def _fill_gaps(geoms: GeomArray, codes: npt.NDArray[np.object_], gaps: GeomArray,
               crs: CRS, metric: CRS) -> tuple[GeomArray, npt.NDArray[np.bool_]]:
    """Give each gap to the neighbour with the longest shared edge (ties: smallest code).

    Returns the new geometries and which gaps found a neighbour.
    """
    eps = 1e-7 if crs.is_geographic else 1e-2
    placed = np.zeros(len(gaps), dtype=bool)
    idx, grid = STRtree(geoms).query(gaps, predicate="dwithin", distance=eps)
    if not len(idx):
        return geoms, placed
    near_gap = shapely.buffer(gaps, eps)  # gaps are small: cheaper than buffering grids
    shared = shapely.intersection(shapely.boundary(geoms[grid]), near_gap[idx])
    length = np.asarray(gpd.GeoSeries(shared, crs=crs).to_crs(metric).length)
    order = np.lexsort((codes[grid].astype(str), -length, idx))
    idx, grid = idx[order], grid[order]
    first = np.r_[True, idx[1:] != idx[:-1]]
    winner_gap, winner = idx[first], grid[first]
    out = geoms.copy()
    for g in np.unique(winner):
        out[g] = shapely.union_all(np.r_[np.array([geoms[g]], dtype=object),
                                         gaps[winner_gap[winner == g]]])
    placed[winner_gap] = True
    return polygonal(out), placed


def _move_crumbs(geoms: GeomArray, codes: npt.NDArray[np.object_], crs: CRS, metric: CRS,
                 sliver_area: float) -> GeomArray:
    """Hand parts under ``sliver_area`` m2 (except a grid's largest) to a neighbour."""
    parts, owner = explode(geoms)
    if not len(parts):
        return geoms
    area = shapely.area(np.asarray(gpd.GeoSeries(parts, crs=crs).to_crs(metric).array))
    order = np.lexsort((-area, owner))
    largest = np.zeros(len(parts), dtype=bool)
    largest[order[np.r_[True, owner[order][1:] != owner[order][:-1]]]] = True
    crumb = (area < sliver_area) & ~largest
    if not crumb.any():
        return geoms
    out = geoms.copy()
    for grid in np.unique(owner[crumb]):
        out[grid] = shapely.union_all(parts[(owner == grid) & ~crumb])
    out, placed = _fill_gaps(out, codes, parts[crumb], crs, metric)
    for part, grid in zip(parts[crumb][~placed], owner[crumb][~placed], strict=True):
        out[grid] = shapely.union(out[grid], part)  # an island: stays with its grid
    return out


def _gaps(geoms: GeomArray, bound: BaseGeometry | None) -> GeomArray:
    """Polygon pieces of the boundary (or of the holes of the union) no grid covers."""
    union = shapely.union_all(geoms)
    gap_geom = shapely.difference(bound, union) if bound is not None else holes(union)
    gaps, _ = explode(np.array([gap_geom], dtype=object))
    return np.asarray(gaps[shapely.area(gaps) > 0], dtype=object)


def repair(
    grids: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    code: str = "code",
    sliver_area: float = 10.0,
) -> gpd.GeoDataFrame:
    """Repair an exclusive grid layer into a partition of its jurisdiction.

    Steps, in order: invalid geometries are made valid (polygonal parts kept);
    with a ``boundary``, grids are clipped to it; every overlap stays with the
    grid of the smallest code (the same rule that breaks ties in
    :class:`gis_core.grid_index.GridIndex`) and is cut from the others; parts
    under ``sliver_area`` m2 that are not a grid's largest part (crumbs left
    by the cuts) go to the neighbour with the longest shared edge (islands
    stay); every gap (part of the boundary, or hole of the union, that no grid
    covers) is merged into the neighbouring grid with the longest shared edge
    (ties: the smallest code). Gaps touching no grid stay gaps.

    Parameters
    ----------
    grids
        The grids of one exclusive layer (any CRS).
    boundary
        The jurisdiction, as for :func:`check`.
    code
        Column with the grid codes.
    sliver_area
        Parts smaller than this (m2, in the metric CRS) are handed to a neighbour.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``grids`` with repaired geometries, same CRS and columns.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[box(114.0, 22.5, 114.01, 22.51), box(114.009, 22.5, 114.02, 22.51)],
    ...     crs=4326)
    >>> from gis_core.topology import check
    >>> fixed = repair(grids)
    >>> check(fixed).ok, round(fixed.geometry.iloc[1].bounds[0], 3)
    (True, 114.01)
    """
    check_inputs(grids, boundary, code)
    out = grids.copy()
    if not len(grids):
        return out
    codes = grids[code].astype(str).to_numpy(dtype=object)
    geoms = polygonal(shapely.make_valid(np.asarray(grids.geometry.array, dtype=object)))
    bound = boundary_in(boundary, grids)
    if bound is not None:
        geoms = polygonal(shapely.intersection(geoms, bound))
    geoms = _remove_overlaps(geoms, codes)
    metric = metric_crs_for(grids)
    geoms = _move_crumbs(geoms, codes, grids.crs, metric, sliver_area)
    for _ in range(_FILL_ROUNDS):  # a second round takes what noise left of thin gaps
        gaps = _gaps(geoms, bound)
        if not len(gaps):
            break
        geoms, _ = _fill_gaps(geoms, codes, gaps, grids.crs, metric)
    out[grids.geometry.name] = gpd.GeoSeries(geoms, index=grids.index, crs=grids.crs)
    return out

