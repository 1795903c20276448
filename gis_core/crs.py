"""Coordinate systems: any EPSG/PROJ CRS plus the Chinese GCJ-02 and BD-09.

Storage and the grid index work in EPSG:4326 (CGCS2000, EPSG:4490, is treated
as equal to it at the centimetre level). :func:`to_wgs84` and
:func:`from_wgs84` convert arrays of coordinates between EPSG:4326 and

* a geographic or projected CRS of the EPSG registry (``"EPSG:4547"``,
  ``4490``, ``"urn:ogc:def:crs:EPSG::4547"``, the names ``"CGCS2000"``,
  ``"WGS84"``, ``"CRS84"``) or a ``pyproj.CRS``, through cached ``Transformer``
  objects with ``always_xy=True`` (x = easting/longitude first). A string is
  checked before PROJ sees it: PROJ strings, WKT, other authorities (``ESRI``,
  ``IAU_2015``: other planets) and geocentric or vertical CRSs are refused
  with :class:`~gis_core.errors.UnknownCRS` naming the parameter and the
  accepted forms (pass a ``pyproj.CRS`` to use anything else);
* ``"GCJ02"`` (the "Mars" coordinates of Chinese phone map SDKs and WeChat)
  and ``"BD09"`` (Baidu), case-insensitive, by the public formulas. The
  forward direction (WGS84 -> GCJ-02 -> BD-09) is closed-form; the inverses
  are solved by fixed-point iteration until the round trip is below 1e-10
  degrees. Outside China (the public box 72.004-137.8347 E,
  0.8293-55.8271 N) GCJ-02 equals WGS84.

:func:`metric_crs` picks a projected CRS for metric work: the CGCS2000
3-degree Gauss-Kruger zone (EPSG:4534-4554) whose central meridian, read from
PROJ's own definition, is nearest the point; outside China the WGS 84 UTM zone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from gis_core.errors import InvalidCoordinates, InvalidInput, UnknownCRS
from gis_core.types import ArrayLike, BoolArray, Bounds, CRSLike, FloatArray

__all__ = [
    "CHINA_BOUNDS",
    "bd09_to_gcj02",
    "central_meridian",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "looks_swapped",
    "metric_crs",
    "metric_crs_for",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_gcj02",
]

#: The box in which the public GCJ-02 formula applies (lon_min, lat_min, lon_max, lat_max).
CHINA_BOUNDS: Bounds = (72.004, 0.8293, 137.8347, 55.8271)

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOLERANCE = 1e-10  # degrees; well below the 1e-8 round-trip promise
_INVERSE_MAX_ITER = 60
_SPECIAL = ("GCJ02", "BD09")
_GK_EPSG = range(4534, 4555)  # CGCS2000 3-degree Gauss-Kruger CM 75E ... CM 135E
#: an EPSG code as a string: ``EPSG:4547``, ``4547``, ``urn:ogc:def:crs:EPSG::4547``
_EPSG_FORM = re.compile(r"(?:EPSG:|URN:OGC:DEF:CRS:EPSG:[0-9.]*:)?([0-9]{1,6})")
#: names accepted for EPSG codes (upper case, without spaces, "-" and "_")
_CRS_NAMES = {"WGS84": 4326, "CRS84": 4326, "OGC:CRS84": 4326,
              "URN:OGC:DEF:CRS:OGC:1.3:CRS84": 4326, "URN:OGC:DEF:CRS:OGC::CRS84": 4326,
              "CGCS2000": 4490}
ACCEPTED_CRS = ("'EPSG:<code>' of a geographic or projected CRS (e.g. 'EPSG:4490', "
                "'EPSG:4547'), 'CGCS2000', 'WGS84', 'GCJ02' or 'BD09'")


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------


def _as_float_arrays(x: ArrayLike, y: ArrayLike, names: tuple[str, str]) -> tuple[
    FloatArray, FloatArray
]:
    """Return float64 arrays of equal shape, rejecting NaN and infinite values."""
    try:
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidCoordinates(
            f"{names[0]} and {names[1]} must be numbers or arrays of numbers", parameter=names[0]
        ) from exc
    if xa.shape != ya.shape:
        raise InvalidCoordinates(
            f"{names[0]} and {names[1]} must have the same shape, got {xa.shape} and {ya.shape}",
            parameter=names[0],
        )
    for arr, name in zip((xa, ya), names, strict=True):
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad.ravel())[0])
            raise InvalidCoordinates(
                f"{name} must be finite; {int(bad.sum())} value(s) are NaN or infinite "
                f"(first at position {first})",
                parameter=name,
                positions=np.flatnonzero(bad.ravel())[:100].tolist(),
            )
    return xa, ya


def _special_name(crs: object) -> str | None:
    if isinstance(crs, str):
        name = crs.strip().upper().replace("-", "").replace("_", "")
        if name in _SPECIAL:
            return name
    return None


def _epsg_code(crs: str | int) -> int | None:
    """The EPSG code a string or number names in one of the accepted forms, else None."""
    if isinstance(crs, int):
        return crs
    name = crs.strip().upper().replace(" ", "").replace("-", "").replace("_", "")
    if name in _CRS_NAMES:
        return _CRS_NAMES[name]
    found = _EPSG_FORM.fullmatch(name)
    return int(found.group(1)) if found else None


@lru_cache(maxsize=256)
def _epsg_crs(code: int) -> CRS | str:
    """The CRS of an EPSG code, or why it is refused (a sentence)."""
    try:
        crs = CRS.from_epsg(code)
    except CRSError:
        return "is not in the EPSG registry"
    if not (crs.is_geographic or crs.is_projected):
        return f"is a {crs.type_name} ({crs.name}), not a map's coordinates on Earth"
    try:
        _transformer(crs.to_wkt(), _WGS84.to_wkt())
    except ProjError:
        return f"({crs.name}) cannot be transformed to EPSG:4326"
    return crs


def parse_crs(crs: CRSLike, parameter: str = "crs") -> CRS:
    """Parse a CRS given as an EPSG code or name, checked before PROJ sees it.

    Parameters
    ----------
    crs
        An EPSG code of a geographic or projected CRS (``4547``, ``"EPSG:4547"``,
        ``"urn:ogc:def:crs:EPSG::4547"``), a name (``"CGCS2000"``, ``"WGS84"``,
        ``"CRS84"``) or a ``pyproj.CRS`` (taken as it is).
    parameter
        Name of the caller's parameter, used in the error message.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    UnknownCRS
        When ``crs`` is in none of these forms (a PROJ string, WKT, another
        authority such as ``IAU_2015``), unknown, not geographic or projected
        (geocentric, vertical), or cannot be transformed to EPSG:4326.

    Examples
    --------
    >>> parse_crs("epsg:4547").name
    'CGCS2000 / 3-degree Gauss-Kruger CM 114E'
    >>> parse_crs("CGCS2000").to_epsg()
    4490
    >>> try:
    ...     parse_crs("+proj=longlat")
    ... except UnknownCRS as exc:
    ...     print(exc.message[:35])
    crs='+proj=longlat' is not accepted
    """
    if isinstance(crs, CRS):
        return crs
    if isinstance(crs, bool) or not isinstance(crs, str | int):
        raise UnknownCRS(f"{parameter} must be {ACCEPTED_CRS} or a pyproj.CRS; "
                         f"got {type(crs).__name__}", parameter=parameter)
    code = _epsg_code(crs)
    if code is None:
        raise UnknownCRS(f"{parameter}={crs!r} is not accepted: give {ACCEPTED_CRS}",
                         parameter=parameter)
    parsed = _epsg_crs(code)
    if isinstance(parsed, str):
        raise UnknownCRS(f"{parameter}={crs!r}: EPSG:{code} {parsed}; give {ACCEPTED_CRS}",
                         parameter=parameter)
    return parsed


@lru_cache(maxsize=256)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS(src_wkt), CRS(dst_wkt), always_xy=True)


_WGS84 = CRS.from_epsg(4326)


def _transform(x: FloatArray, y: FloatArray, src: CRS, dst: CRS, parameter: str) -> tuple[
    FloatArray, FloatArray
]:
    if src == dst:
        return x.copy(), y.copy()
    try:
        transformer = _transformer(src.to_wkt(), dst.to_wkt())
    except ProjError as exc:
        raise UnknownCRS(f"{parameter}: no transformation from {src.name!r} to {dst.name!r} "
                         f"({exc}); give {ACCEPTED_CRS}", parameter=parameter) from exc
    tx, ty = transformer.transform(x, y)
    tx = np.asarray(tx, dtype=np.float64)
    ty = np.asarray(ty, dtype=np.float64)
    bad = ~(np.isfinite(tx) & np.isfinite(ty))
    if bad.any():
        raise InvalidCoordinates(
            f"{int(bad.sum())} point(s) cannot be transformed from {src.name!r} to "
            f"{dst.name!r}: outside the area where {parameter} is defined",
            parameter=parameter,
            positions=np.flatnonzero(bad.ravel())[:100].tolist(),
        )
    return tx, ty


# ---------------------------------------------------------------------------
# GCJ-02 and BD-09
# ---------------------------------------------------------------------------


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
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))
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
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))

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
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))
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
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))
    # The closed-form approximate inverse is a good start for the exact iteration.
    x = lo - 0.0065
    y = la - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _iterate_inverse(_gcj_to_bd, lo, la, z * np.cos(theta), z * np.sin(theta))


# ---------------------------------------------------------------------------
# public conversions
# ---------------------------------------------------------------------------


def to_wgs84(x: ArrayLike, y: ArrayLike, crs: CRSLike) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in ``crs`` to EPSG:4326 longitude/latitude.

    Parameters
    ----------
    x, y
        Coordinates (scalars or arrays of one shape), x = easting or longitude.
    crs
        Source CRS: anything pyproj understands, or ``"GCJ02"`` / ``"BD09"``
        (case-insensitive).

    Returns
    -------
    tuple of numpy.ndarray
        Longitudes and latitudes in EPSG:4326, same shape as the input.

    Raises
    ------
    InvalidCoordinates
        When a coordinate is NaN or infinite, or cannot be transformed.
    UnknownCRS
        When ``crs`` is not understood.

    Examples
    --------
    >>> lon, lat = to_wgs84([500000.0], [2500000.0], "EPSG:4547")
    >>> round(float(lon[0]), 6), round(float(lat[0]), 2)
    (114.0, 22.6)
    >>> lon, lat = to_wgs84(*from_wgs84(113.95, 22.53, "bd09"), "BD09")
    >>> round(float(lon), 9), round(float(lat), 9)
    (113.95, 22.53)
    """
    special = _special_name(crs)
    xa, ya = _as_float_arrays(x, y, ("x", "y"))
    if special == "GCJ02":
        return gcj02_to_wgs84(xa, ya)
    if special == "BD09":
        return gcj02_to_wgs84(*bd09_to_gcj02(xa, ya))
    return _transform(xa, ya, parse_crs(crs), _WGS84, "crs")


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRSLike) -> tuple[FloatArray, FloatArray]:
    """Convert EPSG:4326 longitude/latitude to coordinates in ``crs``.

    Parameters
    ----------
    lon, lat
        WGS84 longitudes and latitudes in degrees.
    crs
        Target CRS: anything pyproj understands, or ``"GCJ02"`` / ``"BD09"``.

    Returns
    -------
    tuple of numpy.ndarray
        x and y in ``crs`` (x = easting or longitude).

    Raises
    ------
    InvalidCoordinates
        When a coordinate is NaN or infinite, or cannot be transformed.
    UnknownCRS
        When ``crs`` is not understood.

    Examples
    --------
    >>> x, y = from_wgs84(114.0, 22.6, 4547)
    >>> round(float(x), 3)
    500000.0
    """
    special = _special_name(crs)
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))
    if special == "GCJ02":
        return wgs84_to_gcj02(lo, la)
    if special == "BD09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lo, la))
    return _transform(lo, la, _WGS84, parse_crs(crs), "crs")


# ---------------------------------------------------------------------------
# metric CRS
# ---------------------------------------------------------------------------


def central_meridian(crs: CRSLike) -> float:
    """Return the central meridian (longitude of natural origin) of a projected CRS.

    Read from PROJ's definition of the CRS, not from its name.

    Parameters
    ----------
    crs
        A projected CRS with a transverse-Mercator-like projection.

    Returns
    -------
    float
        Longitude in degrees.

    Raises
    ------
    InvalidInput
        When the CRS has no central meridian.

    Examples
    --------
    >>> central_meridian("EPSG:4547")
    114.0
    """
    parsed = parse_crs(crs)
    op = parsed.coordinate_operation
    if op is not None:
        for param in op.params:
            if param.name in ("Longitude of natural origin", "Longitude of origin"):
                return float(param.value)
    raise InvalidInput(f"crs={parsed.name!r} has no central meridian", parameter="crs")


@lru_cache(maxsize=1)
def _gauss_kruger_zones() -> tuple[tuple[float, int], ...]:
    """(central meridian, EPSG code) of EPSG:4534-4554, read from PROJ."""
    return tuple((central_meridian(CRS.from_epsg(code)), code) for code in _GK_EPSG)


@lru_cache(maxsize=512)
def _metric_crs_cached(lon: float, lat: float) -> CRS:
    if in_china(lon, lat):
        zones = _gauss_kruger_zones()
        meridians = np.array([m for m, _ in zones])
        best = int(np.argmin(np.abs(meridians - lon)))
        if abs(meridians[best] - lon) <= 1.5 + 1e-9:
            return CRS.from_epsg(zones[best][1])
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """Pick the projected CRS for metric work around a WGS84 point.

    In China (see :data:`CHINA_BOUNDS`) this is the CGCS2000 3-degree
    Gauss-Kruger zone (EPSG:4534-4554, false easting 500 km) whose central
    meridian, as PROJ defines it, is nearest ``lon`` (always within 1.5
    degrees); elsewhere, or west of 73.5 E, the WGS 84 UTM zone of the point.

    Parameters
    ----------
    lon, lat
        A representative point (for a territory: its centroid) in EPSG:4326.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    InvalidCoordinates
        When ``lon``/``lat`` are not finite or out of range.

    Examples
    --------
    >>> metric_crs(114.06, 22.54).to_epsg()
    4547
    >>> metric_crs(-73.95, 40.7).to_epsg()
    32618
    """
    lo, la = _as_float_arrays(lon, lat, ("lon", "lat"))
    if lo.ndim or la.ndim:
        raise InvalidCoordinates("lon and lat must be scalars", parameter="lon")
    if not (-180.0 <= lo <= 180.0 and -90.0 <= la <= 90.0):
        raise InvalidCoordinates(
            f"lon must be in [-180, 180] and lat in [-90, 90]; got ({float(lo)}, {float(la)})",
            parameter="lon",
        )
    return _metric_crs_cached(float(lo), float(la))


def metric_crs_for(data: Any) -> pyproj.CRS:
    """Pick the metric CRS of a territory from its data, by its centroid.

    Parameters
    ----------
    data
        A GeoDataFrame or GeoSeries (with a CRS), a shapely geometry in
        EPSG:4326, or bounds ``(minx, miny, maxx, maxy)`` in EPSG:4326.

    Returns
    -------
    pyproj.CRS
        See :func:`metric_crs`.

    Examples
    --------
    >>> metric_crs_for((116.2, 39.8, 116.6, 40.0)).to_epsg()
    4548
    """
    import shapely
    from shapely.geometry.base import BaseGeometry

    if hasattr(data, "to_crs") and hasattr(data, "total_bounds"):
        if data.crs is None:
            raise InvalidInput("data has no CRS; set one (e.g. EPSG:4326)", parameter="data")
        bounds = tuple(data.to_crs(4326).total_bounds)
    elif isinstance(data, BaseGeometry):
        bounds = tuple(shapely.bounds(data))
    elif isinstance(data, tuple | list | np.ndarray) and len(data) == 4:
        bounds = tuple(float(v) for v in data)
    else:
        raise InvalidInput(
            "data must be a GeoDataFrame/GeoSeries, a shapely geometry or bounds "
            f"(minx, miny, maxx, maxy); got {type(data).__name__}",
            parameter="data",
        )
    return metric_crs((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0)


def looks_swapped(x: ArrayLike, y: ArrayLike, bounds: Bounds) -> BoolArray:
    """Tell which WGS84 points look like latitude and longitude were swapped.

    A point looks swapped when it lies outside ``bounds`` but ``(y, x)`` lies inside.

    Parameters
    ----------
    x, y
        Longitudes and latitudes as received (EPSG:4326).
    bounds
        The jurisdiction's bounds ``(minx, miny, maxx, maxy)`` in EPSG:4326.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> looks_swapped([22.54, 114.06], [114.06, 22.54], (113.7, 22.4, 114.7, 22.9)).tolist()
    [True, False]
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    x0, y0, x1, y1 = bounds

    def inside(px: FloatArray, py: FloatArray) -> BoolArray:
        return np.asarray((px >= x0) & (px <= x1) & (py >= y0) & (py <= y1))

    return inside(ya, xa) & ~inside(xa, ya)
