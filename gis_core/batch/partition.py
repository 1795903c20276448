"""Spatial partitions: tiles of a box for point assignment, H3 parents for cell analyses.

A point belongs to exactly one tile (half-open tiles ``x0 <= x < x1``, the
last row and column closed), and the halo of a tile is every grid touching
the closed tile, so each point of it meets every grid that could cover it. A
grid itself belongs to the tile of its representative point
(:func:`grids_owned`), for analyses whose unit is the grid (camera coverage). An
H3 cell belongs to its parent at a coarser resolution, and the halo of a
parent is the occupied cells within ``k`` rings of its own cells, so the
``k``-ring neighbourhood of each of its cells is complete.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from gis_core.errors import InvalidInput
from gis_core.types import ArrayLike, Bounds, FloatArray, IntArray

__all__ = ["grids_owned", "grids_touching", "h3_halo", "h3_partitions", "tile_boxes",
           "tile_of"]


def _edges(low: float, high: float, n: int) -> FloatArray:
    return np.linspace(low, high, n + 1)


def _check_tiling(bounds: Bounds, nx: int, ny: int) -> None:
    if not (isinstance(nx, int) and isinstance(ny, int) and nx >= 1 and ny >= 1):
        raise InvalidInput("nx and ny must be integers >= 1", parameter="nx")
    x0, y0, x1, y1 = bounds
    if not (np.isfinite(bounds).all() and x0 < x1 and y0 < y1):
        raise InvalidInput(f"bounds must be finite (minx, miny, maxx, maxy), got {bounds}",
                           parameter="bounds")


def tile_boxes(bounds: Bounds, nx: int, ny: int) -> list[Bounds]:
    """The ``nx * ny`` tiles of ``bounds``, row by row from the lower left.

    Examples
    --------
    >>> tile_boxes((0.0, 0.0, 2.0, 1.0), 2, 1)
    [(0.0, 0.0, 1.0, 1.0), (1.0, 0.0, 2.0, 1.0)]
    """
    _check_tiling(bounds, nx, ny)
    xs, ys = _edges(bounds[0], bounds[2], nx), _edges(bounds[1], bounds[3], ny)
    return [(float(xs[i]), float(ys[j]), float(xs[i + 1]), float(ys[j + 1]))
            for j in range(ny) for i in range(nx)]


def tile_of(x: ArrayLike, y: ArrayLike, bounds: Bounds, nx: int, ny: int) -> IntArray:
    """Tile number (as in :func:`tile_boxes`) of every point; -1 outside ``bounds``.

    A point on an inner tile edge goes to the tile above or to the right of it.

    Examples
    --------
    >>> tile_of([0.5, 1.0, 2.0, 3.0], [0.5, 0.5, 1.0, 0.5], (0.0, 0.0, 2.0, 1.0), 2, 1).tolist()
    [0, 1, 1, -1]
    """
    _check_tiling(bounds, nx, ny)
    px, py = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xs, ys = _edges(bounds[0], bounds[2], nx), _edges(bounds[1], bounds[3], ny)
    col = np.clip(np.searchsorted(xs, px, side="right") - 1, 0, nx - 1)
    row = np.clip(np.searchsorted(ys, py, side="right") - 1, 0, ny - 1)
    inside = (px >= bounds[0]) & (px <= bounds[2]) & (py >= bounds[1]) & (py <= bounds[3])
    return np.where(inside, row * nx + col, -1).astype(np.int64)


def grids_touching(grids: gpd.GeoDataFrame, box: Bounds) -> gpd.GeoDataFrame:
    """The grids (EPSG:4326) that touch the closed ``box``: the halo of a tile for assignment.

    Examples
    --------
    >>> from shapely.geometry import box as rect
    >>> g = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, crs=4326,
    ...                      geometry=[rect(0, 0, 1, 1), rect(1, 0, 2, 1), rect(3, 0, 4, 1)])
    >>> grids_touching(g, (0.0, 0.0, 1.0, 1.0))["code"].tolist()  # B shares the edge x = 1
    ['A', 'B']
    """
    geoms = np.asarray(grids.geometry.array, dtype=object)
    return grids.iloc[np.flatnonzero(shapely.intersects(geoms, shapely.box(*box)))]


def grids_owned(grids: gpd.GeoDataFrame, bounds: Bounds, nx: int, ny: int,
                tile: int) -> gpd.GeoDataFrame:
    """The grids whose representative point lies in ``tile``: each grid in exactly one tile.

    The representative point is :func:`shapely.point_on_surface` (always inside
    the grid), placed in a tile by :func:`tile_of`.

    Examples
    --------
    >>> from shapely.geometry import box as rect
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, crs=4326,
    ...                      geometry=[rect(0, 0, 1.5, 1), rect(1.5, 0, 2, 1)])
    >>> [grids_owned(g, (0.0, 0.0, 2.0, 1.0), 2, 1, t)["code"].tolist() for t in (0, 1)]
    [['A'], ['B']]
    """
    if grids.empty:
        return grids
    xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(grids.geometry.array,
                                                                     dtype=object)))
    return grids.iloc[np.flatnonzero(tile_of(xy[:, 0], xy[:, 1], bounds, nx, ny) == tile)]


def h3_partitions(cells: Sequence[str] | np.ndarray, resolution: int) -> pd.Series:
    """The parent cell at ``resolution`` of every H3 cell (the partition key), aligned.

    Examples
    --------
    >>> c = h3.latlng_to_cell(31.2, 121.5, 9)
    >>> h3_partitions([c], 6).tolist() == [h3.cell_to_parent(c, 6)]
    True
    """
    ids = list(cells)
    if ids and not 0 <= resolution <= h3.get_resolution(ids[0]):
        raise InvalidInput("resolution must be between 0 and the cells' resolution",
                           parameter="resolution")
    return pd.Series([h3.cell_to_parent(c, resolution) for c in ids], dtype=object)


def h3_halo(core: Sequence[str], occupied: pd.Index, k: int) -> list[str]:
    """Occupied cells within ``k`` rings of ``core`` that are not in it, sorted.

    Examples
    --------
    >>> c = h3.latlng_to_cell(31.2, 121.5, 9)
    >>> ring = h3.grid_ring(c, 1)
    >>> h3_halo([c], pd.Index([c, ring[0]]), 1) == [ring[0]]
    True
    """
    if not isinstance(k, int) or k < 1:
        raise InvalidInput("k must be an integer >= 1", parameter="k")
    near = {n for c in core for n in h3.grid_disk(c, k)} - set(core)
    return sorted(near & set(occupied))
