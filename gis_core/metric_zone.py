"""The projected CRS for metric work: CGCS2000 Gauss-Kruger zones in China, UTM elsewhere.

:func:`metric_crs` picks the CGCS2000 3-degree Gauss-Kruger zone
(EPSG:4534-4554) whose central meridian, read from PROJ's own definition, is
nearest the point; outside China the WGS 84 UTM zone. :func:`metric_crs_of`
is the metric working CRS of a layer under the CRS policy of
:mod:`gis_core._checks`. All are re-exported by :mod:`gis_core.crs`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
from pyproj import CRS

from gis_core._checks import coordinate_arrays, projected_crs, require_crs
from gis_core.errors import InvalidCoordinates, InvalidInput
from gis_core.gcj02 import in_china

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["metric_crs", "metric_crs_for", "metric_crs_of", "origin_longitude"]

_GK_EPSG = range(4534, 4555)  # CGCS2000 3-degree Gauss-Kruger CM 75E ... CM 135E


def origin_longitude(crs: CRS) -> float | None:
    """Longitude of natural origin (the central meridian) in PROJ's definition, or None."""
    op = crs.coordinate_operation
    if op is not None:
        for param in op.params:
            if param.name in ("Longitude of natural origin", "Longitude of origin"):
                return float(param.value)
    return None


@lru_cache(maxsize=1)
def _gauss_kruger_zones() -> tuple[tuple[float, int], ...]:
    """(central meridian, EPSG code) of EPSG:4534-4554, read from PROJ."""
    zones = ((origin_longitude(CRS.from_epsg(code)), code) for code in _GK_EPSG)
    return tuple((float(lon), code) for lon, code in zones if lon is not None)


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
    lo, la = coordinate_arrays(lon, lat, ("lon", "lat"))
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
        require_crs(data, "data")
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


def metric_crs_of(layer: gpd.GeoDataFrame | gpd.GeoSeries, name: str, crs: Any = None) -> CRS:
    """The metric working CRS: ``crs`` if given, else the layer's own if projected, else its zone.

    Examples
    --------
    >>> import geopandas as gpd
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([114.1], [22.6]), crs=4326)
    >>> metric_crs_of(pts, "cameras").to_epsg()
    4547
    """
    if crs is not None:
        return projected_crs(crs)
    own = require_crs(layer, name)
    return own if own.is_projected else metric_crs_for(layer)
