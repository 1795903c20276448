"""Numbering order of grids: west -> east in rows of centroid latitude, north -> south.

See :mod:`coding.grid_codes` for the code structures and rules.
"""


from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gis_core.errors import InvalidGeometry

ROW_GAP = 0.4
"""A new row starts where centroids drop by more than this share of the median grid height."""


def _row_bands(cy: npt.NDArray[np.float64], height: float) -> npt.NDArray[np.int64]:
    """Row number of each centroid latitude (0 = northernmost row)."""
    height = height if height > 0 else 1.0
    by_lat = np.argsort(-cy, kind="stable")
    ys = cy[by_lat]
    rows = np.zeros(ys.size, dtype=np.int64)
    row, top = 0, ys[0] if ys.size else 0.0
    for k in range(1, ys.size):  # at most 999 grids per community
        if ys[k - 1] - ys[k] > ROW_GAP * height or top - ys[k] >= height:
            row, top = row + 1, ys[k]
        rows[k] = row
    out = np.empty_like(rows)
    out[by_lat] = rows
    return out


def grid_order(geometries: Sequence[BaseGeometry] | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return the positions of ``geometries`` in west -> east, north -> south order.

    Rows: with ``h`` the median north-south extent of the geometries, the
    centroids are taken north to south and a new row starts where a centroid
    lies more than ``0.4 h`` below the previous one (a gap between rows) or at
    least ``h`` below the first centroid of the current row (so rows never get
    taller than one grid). Within a row the order is by centroid longitude
    (then latitude, then input position).

    Parameters
    ----------
    geometries
        Non-empty polygons (any CRS whose y axis points north).

    Returns
    -------
    numpy.ndarray
        ``order[k]`` is the input position of the ``k``-th grid.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> grid_order([box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)]).tolist()
    [2, 1, 0]
    """
    geoms = np.asarray(geometries, dtype=object).ravel()
    if geoms.size == 0:
        return np.empty(0, dtype=np.int64)
    bad = ~shapely.is_geometry(geoms)
    bad[~bad] = shapely.is_empty(geoms[~bad].astype(object))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidGeometry(f"geometries must be non-empty geometries; item {i} is {geoms[i]!r}")
    centroids = shapely.centroid(geoms)
    cx, cy = shapely.get_x(centroids), shapely.get_y(centroids)
    bounds = shapely.bounds(geoms)
    row = _row_bands(cy, float(np.median(bounds[:, 3] - bounds[:, 1])))
    return np.lexsort((np.arange(geoms.size), -cy, cx, row)).astype(np.int64)
