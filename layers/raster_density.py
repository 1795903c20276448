"""Kernel density of one map tile, fast: exact for small kernels, splatted and FFT-convolved else.

The surface is :func:`gis_core.hotspots.kernel_density`'s quartic kernel on the
tile's pixel centres. Its cost grows with points x kernel pixels; when that
product is small it is computed exactly by the engine, otherwise each point's
weight is shared among its four nearest pixel centres (bilinear "splatting")
and the grid is convolved with the kernel sampled on the pixel lattice by FFT,
at a cost independent of the number of points. The splat moves no mass, and
its error shrinks with the square of pixel size over bandwidth: the switch to
FFT happens only when the kernel spans many pixels (see :data:`EXACT_COST`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from scipy.signal import fftconvolve

from gis_core.hotspots import kernel_density
from gis_core.types import FloatArray

__all__ = ["EXACT_COST", "MIN_FFT_RADIUS_PX", "tile_density"]

#: points x kernel pixels up to which the exact sum is cheaper than the FFT
EXACT_COST = 2_000_000
#: the FFT is used only when the bandwidth spans at least this many pixels
MIN_FFT_RADIUS_PX = 6.0


def _quartic_stencil(radius_px: float, cell: float) -> FloatArray:
    """The quartic kernel (per m²) at integer pixel offsets within ``radius_px``."""
    reach = int(np.ceil(radius_px))
    d = np.arange(-reach, reach + 1, dtype=float)
    d2 = (d[None, :] ** 2 + d[:, None] ** 2) / radius_px**2
    r2 = (radius_px * cell) ** 2
    return np.where(d2 < 1.0, 3.0 / np.pi * (1.0 - d2) ** 2 / r2, 0.0)


def _splat(xy: FloatArray, bounds: tuple[float, float, float, float], cell: float,
           size: int, pad: int) -> FloatArray:
    """Points shared bilinearly among the pixel centres of a grid padded by ``pad``."""
    u = (xy[:, 0] - bounds[0]) / cell - 0.5 + pad
    v = (bounds[3] - xy[:, 1]) / cell - 0.5 + pad
    c0, r0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - c0, v - r0
    side = size + 2 * pad
    grid = np.zeros(side * side)
    for dr, dc, w in ((0, 0, (1 - fu) * (1 - fv)), (0, 1, fu * (1 - fv)),
                      (1, 0, (1 - fu) * fv), (1, 1, fu * fv)):
        r, c = r0 + dr, c0 + dc
        ok = (r >= 0) & (r < side) & (c >= 0) & (c < side)
        grid += np.bincount(r[ok] * side + c[ok], weights=w[ok], minlength=grid.size)
    return grid.reshape(side, side)


def tile_density(xy: FloatArray, bounds: tuple[float, float, float, float], size: int,
                 bandwidth: float) -> FloatArray:
    """Quartic density (per km² of the map unit) of points ``xy`` on a ``size`` x ``size`` tile.

    Parameters
    ----------
    xy
        ``(n, 2)`` point coordinates in the tile's projected CRS.
    bounds
        ``(minx, miny, maxx, maxy)`` of the tile (square).
    size
        Pixels per side.
    bandwidth
        Kernel radius in map units.

    Returns
    -------
    numpy.ndarray
        ``(size, size)`` rows north to south, as ``kernel_density(...)[0]``.

    Examples
    --------
    >>> xy = np.random.default_rng(1).uniform(0, 1000, (3000, 2))
    >>> fast = tile_density(xy, (0, 0, 1000, 1000), 100, 150.0)
    >>> exact = tile_density(xy[:10], (0, 0, 1000, 1000), 100, 150.0)  # exact path
    >>> fast.shape, bool(abs(fast.sum() * 1e-4 - 3000) < 400), exact.shape
    ((100, 100), True, (100, 100))
    """
    cell = (bounds[2] - bounds[0]) / size
    radius_px = bandwidth / cell
    if len(xy) == 0:
        return np.zeros((size, size))
    if (len(xy) * (2 * np.ceil(radius_px) + 1) ** 2 <= EXACT_COST
            or radius_px < MIN_FFT_RADIUS_PX):
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=3857)
        arr, _, _ = kernel_density(pts, bounds, cell, bandwidth, 3857)
        return np.asarray(arr[:size, :size], dtype=float)
    reach = int(np.ceil(radius_px))
    grid = _splat(xy, bounds, cell, size, reach + 1)
    out = fftconvolve(grid, _quartic_stencil(radius_px, cell), mode="valid")[1:-1, 1:-1]
    return np.asarray(np.clip(out, 0.0, None), dtype=float) * 1e6
