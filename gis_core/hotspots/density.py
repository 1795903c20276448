"""Quartic kernel density surfaces of points (ArcGIS Kernel Density, Silverman 4.5)."""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from gis_core._checks import geometries_in
from gis_core.crs import metric_crs_of
from gis_core.errors import InvalidInput
from gis_core.types import Bounds, FloatArray, IntArray

__all__ = ["kernel_density"]


def kernel_density(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    bounds: Bounds | None,
    cell_size_m: float,
    bandwidth_m: float,
    crs: Any = None,
    weights: FloatArray | None = None,
    per: Literal["m2", "km2"] = "km2",
) -> tuple[FloatArray, Affine, CRS]:
    """Quartic kernel density surface (ArcGIS Kernel Density / Silverman 4.5).

    ``density(c) = 1 / r^2 * sum_i 3 / pi * w_i * (1 - (d_ic / r)^2)^2`` for
    points within the bandwidth ``r`` of the cell centre ``c``; it integrates to
    the total weight.

    Parameters
    ----------
    points
        Point geometries (any CRS).
    bounds
        ``(minx, miny, maxx, maxy)`` in ``crs``; None: the points' extent
        widened by the bandwidth.
    cell_size_m
        Cell size in metres.
    bandwidth_m
        Search radius in metres.
    crs
        Metric output CRS; None: the CGCS2000 Gauss-Kruger zone of the points.
    weights
        Weight per point (default 1).
    per
        Density per square metre or per square kilometre.

    Returns
    -------
    tuple
        ``(array float64 rows north-to-south, rasterio Affine, CRS)``; write it
        with :func:`gis_core.io.write_geotiff`.

    Examples
    --------
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([500.0], [500.0]), crs=3857)
    >>> arr, tr, c = kernel_density(pts, (0, 0, 1000, 1000), 10, 200, 3857, per="m2")
    >>> round(float(arr.sum() * 100), 3)
    1.0
    """
    if cell_size_m <= 0 or bandwidth_m <= 0:
        raise InvalidInput("cell_size_m and bandwidth_m must be > 0", parameter="cell_size_m")
    if per not in ("m2", "km2"):
        raise InvalidInput("per must be 'm2' or 'km2'", parameter="per")
    out_crs = CRS.from_user_input(crs) if crs is not None else metric_crs_of(points, "points")
    xy = shapely.get_coordinates(geometries_in(points, out_crs, "points"))
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float)
    if bounds is None:
        x0, y0 = xy.min(axis=0) - bandwidth_m
        x1, y1 = xy.max(axis=0) + bandwidth_m
        bounds = (float(x0), float(y0), float(x1), float(y1))
    minx, miny, maxx, maxy = bounds
    ncol = max(1, int(np.ceil((maxx - minx) / cell_size_m)))
    nrow = max(1, int(np.ceil((maxy - miny) / cell_size_m)))
    transform = Affine(cell_size_m, 0, minx, 0, -cell_size_m, maxy)
    out = np.zeros(nrow * ncol)
    reach = int(np.ceil(bandwidth_m / cell_size_m)) + 1
    grid_c, grid_r = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1))
    dc, dr = grid_c.ravel(), grid_r.ravel()
    col0 = np.floor((xy[:, 0] - minx) / cell_size_m).astype(np.int64)
    row0 = np.floor((maxy - xy[:, 1]) / cell_size_m).astype(np.int64)
    chunk = max(1, 2_000_000 // dc.size)
    r2 = bandwidth_m**2
    for s in range(0, len(xy), chunk):
        c: IntArray = col0[s : s + chunk, None] + dc
        r: IntArray = row0[s : s + chunk, None] + dr
        cx = minx + (c + 0.5) * cell_size_m
        cy = maxy - (r + 0.5) * cell_size_m
        d2 = (cx - xy[s : s + chunk, 0, None]) ** 2 + (cy - xy[s : s + chunk, 1, None]) ** 2
        ok = (d2 < r2) & (c >= 0) & (c < ncol) & (r >= 0) & (r < nrow)
        k = 3.0 / np.pi * (1 - d2[ok] / r2) ** 2 / r2
        val = k * np.broadcast_to(w[s : s + chunk, None], ok.shape)[ok]
        out += np.bincount((r[ok] * ncol + c[ok]), weights=val, minlength=out.size)
    if per == "km2":
        out *= 1e6
    return out.reshape(nrow, ncol), transform, out_crs


# --------------------------------------------------------------------------- emerging hot spots
