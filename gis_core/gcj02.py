"""GCJ-02 ("Mars" coordinates of Chinese phone map SDKs and WeChat) and BD-09 (Baidu).

By the public formulas. The forward direction (WGS84 -> GCJ-02 -> BD-09) is
closed-form; the inverses are solved by fixed-point iteration until the round
trip is below 1e-10 degrees. Outside China (:data:`CHINA_BOUNDS`, the public
box 72.004-137.8347 E, 0.8293-55.8271 N) GCJ-02 equals WGS84. Usually reached
through :func:`gis_core.crs.to_wgs84` with ``crs="GCJ02"`` or ``"BD09"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gis_core._checks import coordinate_arrays
from gis_core.types import ArrayLike, BoolArray, Bounds, FloatArray

__all__ = [
    "CHINA_BOUNDS",
    "bd09_to_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_gcj02",
]

#: The box in which the public GCJ-02 formula applies (lon_min, lat_min, lon_max, lat_max).
CHINA_BOUNDS: Bounds = (72.004, 0.8293, 137.8347, 55.8271)

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE = 1e-10  # degrees; well below the 1e-8 round-trip promise
_INVERSE_MAX_ITER = 60


def in_china(lon: ArrayLike, lat: ArrayLike) -> BoolArray:
    """Tell which points lie in the box where GCJ-02 differs from WGS84.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> in_china([116.4, 2.35], [39.9, 48.85]).tolist()
    [True, False]
    """
    lo = np.asarray(lon, dtype=np.float64)
    la = np.asarray(lat, dtype=np.float64)
    x0, y0, x1, y1 = CHINA_BOUNDS
    return np.asarray((lo >= x0) & (lo <= x1) & (la >= y0) & (la <= y1))


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat), zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    xp = x * np.pi
    yp = y * np.pi
    common = 20.0 * np.sin(6.0 * xp) + 20.0 * np.sin(2.0 * xp)
    dlat = common + 20.0 * np.sin(yp) + 40.0 * np.sin(yp / 3.0)
    dlat += 160.0 * np.sin(yp / 12.0) + 320.0 * np.sin(yp / 30.0)
    dlon = common + 20.0 * np.sin(xp) + 40.0 * np.sin(xp / 3.0)
    dlon += 150.0 * np.sin(xp / 12.0) + 300.0 * np.sin(xp / 30.0)
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = dlat * (2.0 / 3.0) - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
    dlat += 0.2 * sqrt_abs_x
    dlon = dlon * (2.0 / 3.0) + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
    dlon += 0.1 * sqrt_abs_x
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = ~in_china(lon, lat)
    dlon = np.where(outside, 0.0, dlon)
    dlat = np.where(outside, 0.0, dlat)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude/latitude to GCJ-02 by the public formula.

    Parameters
    ----------
    lon, lat
        WGS84 coordinates in degrees (scalars or arrays of the same shape).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude; equal to the input outside China.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.397, 39.909)
    >>> bool(0.005 < float(lon) - 116.397 < 0.007)
    True
    """
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))
    dlon, dlat = _gcj_offset(lo, la)
    return lo + dlon, la + dlat


def _iterate_inverse(
    forward: Any, tx: FloatArray, ty: FloatArray, x0: FloatArray, y0: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Solve forward(x, y) == (tx, ty) by fixed-point iteration from (x0, y0).

    The forward maps are the identity plus a slowly varying offset, so
    ``x <- x - (forward(x) - target)`` converges geometrically.
    """
    x = x0.copy()
    y = y0.copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex = fx - tx
        ey = fy - ty
        x -= ex
        y -= ey
        if not x.size or max(np.abs(ex).max(), np.abs(ey).max()) < _INVERSE_TOLERANCE:
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude back to WGS84, exactly (iterative).

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude such that ``wgs84_to_gcj02`` returns the
        input within 1e-10 degrees.

    Notes
    -----
    Within a few hundred metres of the edge of :data:`CHINA_BOUNDS` the
    forward map jumps (identity outside), so a GCJ-02 point there may have
    no exact preimage; the iteration then stops after 60 steps.

    Examples
    --------
    >>> glon, glat = wgs84_to_gcj02(121.4737, 31.2304)
    >>> lon, lat = gcj02_to_wgs84(glon, glat)
    >>> bool(abs(lon - 121.4737) < 1e-9 and abs(lat - 31.2304) < 1e-9)
    True
    """
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))

    def forward(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        dx, dy = _gcj_offset(x, y)
        return x + dx, y + dy

    return _iterate_inverse(forward, lo, la, lo, la)


def _gcj_to_bd(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09.

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> bool(0.006 < float(lon) - 116.404 < 0.007)
    True
    """
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))
    return _gcj_to_bd(lo, la)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02, exactly (iterative).

    Parameters
    ----------
    lon, lat
        BD-09 coordinates in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.

    Examples
    --------
    >>> blon, blat = gcj02_to_bd09(116.404, 39.915)
    >>> lon, lat = bd09_to_gcj02(blon, blat)
    >>> bool(abs(lon - 116.404) < 1e-9 and abs(lat - 39.915) < 1e-9)
    True
    """
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))
    # The closed-form approximate inverse is a good start for the exact iteration.
    x = lo - 0.0065
    y = la - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _iterate_inverse(_gcj_to_bd, lo, la, z * np.cos(theta), z * np.sin(theta))

