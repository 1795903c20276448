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
  and ``"BD09"`` (Baidu), case-insensitive, by the public formulas of
  :mod:`gis_core.gcj02` (closed-form forward, iterated inverses; outside
  China GCJ-02 equals WGS84).

:func:`metric_crs` picks a projected CRS for metric work: the CGCS2000
3-degree Gauss-Kruger zone (EPSG:4534-4554) whose central meridian, read from
PROJ's own definition, is nearest the point; outside China the WGS 84 UTM zone
(:mod:`gis_core.metric_zone`, re-exported here).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from gis_core._checks import coordinate_arrays
from gis_core.errors import InvalidCoordinates, InvalidInput, UnknownCRS
from gis_core.gcj02 import (
    CHINA_BOUNDS,
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    wgs84_to_gcj02,
)
from gis_core.metric_zone import metric_crs, metric_crs_for, metric_crs_of, origin_longitude
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
    "metric_crs_of",
    "parse_crs",
    "to_wgs84",
    "wgs84_to_gcj02",
]

_SPECIAL = ("GCJ02", "BD09")
#: an EPSG code as a string: ``EPSG:4547``, ``4547``, ``urn:ogc:def:crs:EPSG::4547``
_EPSG_FORM = re.compile(r"(?:EPSG:|URN:OGC:DEF:CRS:EPSG:[0-9.]*:)?([0-9]{1,6})")
#: names accepted for EPSG codes (upper case, without spaces, "-" and "_")
_CRS_NAMES = {"WGS84": 4326, "CRS84": 4326, "OGC:CRS84": 4326,
              "URN:OGC:DEF:CRS:OGC:1.3:CRS84": 4326, "URN:OGC:DEF:CRS:OGC::CRS84": 4326,
              "CGCS2000": 4490}
ACCEPTED_CRS = ("'EPSG:<code>' of a geographic or projected CRS (e.g. 'EPSG:4490', "
                "'EPSG:4547'), 'CGCS2000', 'WGS84', 'GCJ02' or 'BD09'")


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
    xa, ya = coordinate_arrays(x, y, ("x", "y"))
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
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))
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
    parsed = parse_crs(crs)
    lon = origin_longitude(parsed)
    if lon is None:
        raise InvalidInput(f"crs={parsed.name!r} has no central meridian", parameter="crs")
    return lon


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
