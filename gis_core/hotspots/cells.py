"""H3 cells of points and hexagons of cells (h3 v4 ids as strings), vectorised.

Points are indexed by ``h3ronpy`` (the H3 algorithm over whole arrays; ids
equal to ``h3.latlng_to_cell`` point by point, tested on real 311 reports) and
the 64-bit ids written as the usual 15 hexadecimal digits in one numpy step.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import h3
import numpy as np
import numpy.typing as npt
import shapely
from h3ronpy.vector import coordinates_to_cells
from pyproj import CRS

from gis_core._checks import geometries_in
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray, GeomArray

__all__ = ["cell_polygons", "lonlat", "points_to_cells"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype="S1")
#: An H3 cell id has 15 hexadecimal digits (mode bit 59 set, bits 60-63 zero).
_DIGITS = 15
_SHIFTS = np.arange(_DIGITS - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
_WGS84 = CRS.from_epsg(4326)


def lonlat(points: gpd.GeoDataFrame | gpd.GeoSeries, name: str = "events"
           ) -> tuple[FloatArray, FloatArray]:
    """Longitudes and latitudes of points in EPSG:4326, the working CRS of H3."""
    pts = geometries_in(points, _WGS84, name)
    return shapely.get_x(pts).astype(float), shapely.get_y(pts).astype(float)


def points_to_cells(lon: FloatArray, lat: FloatArray, resolution: int
                    ) -> npt.NDArray[np.object_]:
    """H3 cell id (string) of every point, as ``h3.latlng_to_cell(lat, lon, resolution)``.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees (EPSG:4326), finite.
    resolution
        H3 resolution, 0..15.

    Returns
    -------
    numpy.ndarray
        Object array of id strings, aligned with the points.

    Examples
    --------
    >>> points_to_cells(np.array([121.5]), np.array([31.2]), 9).tolist()
    ['8930994a64fffff']
    >>> h3.latlng_to_cell(31.2, 121.5, 9)
    '8930994a64fffff'
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    if lon.size == 0:
        return np.empty(0, dtype=object)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InvalidInput("events must have finite coordinates", parameter="events")
    ids = np.asarray(coordinates_to_cells(lat, lon, int(resolution)), dtype=np.uint64)
    digits = (ids[:, None] >> _SHIFTS) & np.uint64(0xF)
    text = np.ascontiguousarray(_HEX[digits.astype(np.intp)]).view(f"S{_DIGITS}").ravel()
    return np.asarray(text.astype(str), dtype=object)


def cell_polygons(cells: Sequence[str]) -> GeomArray:
    """Hexagon (or pentagon) of each cell, EPSG:4326 ``(lng, lat)``, in the order given.

    Examples
    --------
    >>> cell_polygons(["8930994a64fffff"])[0].geom_type
    'Polygon'
    """
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(c)] for c in cells]
    return np.asarray(shapely.polygons(rings) if rings else [], dtype=object)
