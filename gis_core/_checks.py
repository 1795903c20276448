"""Input checks shared by the engine: CRS, columns and geometry types.

Every public function of :mod:`gis_core` checks its inputs at the top with
these helpers, so a given mistake gets the same message everywhere, naming
the parameter and the fix.

CRS policy
----------
1. Every geometry input carries a CRS. One without raises
   :class:`~gis_core.errors.InvalidInput`:
   ``"grids has no CRS; set one (e.g. grids.set_crs(4326))"``.
2. Layers that one function combines with each other (events and grids,
   cameras and buildings, grids and visible ground, visible ground and
   demand, grids and their boundary) must be in one CRS; otherwise
   :class:`~gis_core.errors.CRSMismatch`:
   ``"buildings are in EPSG:4547 but cameras in EPSG:4326; reproject one of
   them (e.g. buildings.to_crs(cameras.crs))"``. The engine never guesses
   which of two layers is right.
3. The engine reprojects on its own only into a working CRS that the
   function documents: EPSG:4326 for H3 cells, the grid index and web maps;
   the metric CRS of a measurement (the ``crs`` argument, which must be
   projected; else the input's own CRS when it is projected; else the
   CGCS2000 3-degree Gauss-Kruger zone of the data:
   :func:`gis_core.crs.metric_crs_of`); or the CRS asked for as the output
   (a raster's ``crs``). Results come back in the input's CRS.
4. An empty layer combined with others is not checked (it adds nothing).

Examples
--------
>>> import geopandas as gpd
>>> a = gpd.GeoSeries(gpd.points_from_xy([0.0], [0.0]), crs=4326)
>>> b = a.to_crs(3857)
>>> same_crs(a, "events", b, "grids")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gis_core.errors.CRSMismatch: grids are in EPSG:3857 but events in EPSG:4326; reproject one ...
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from gis_core.errors import CRSMismatch, InvalidCoordinates, InvalidInput
from gis_core.types import ArrayLike, FloatArray, GeomArray

__all__ = [
    "coordinate_arrays",
    "geometries_in",
    "projected_crs",
    "require_column",
    "require_crs",
    "require_frame",
    "require_points",
    "same_crs",
    "series_in",
]

Layer: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries


def _crs_name(crs: CRS) -> str:
    return crs.to_string()


def require_crs(layer: Layer, name: str) -> CRS:
    """The CRS of ``layer``; :class:`InvalidInput` naming ``name`` when it has none.

    Examples
    --------
    >>> require_crs(gpd.GeoSeries([]), "grids")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: grids has no CRS; set one (e.g. grids.set_crs(4326))
    """
    if layer.crs is None:
        raise InvalidInput(f"{name} has no CRS; set one (e.g. {name}.set_crs(4326))",
                           parameter=name)
    return CRS.from_user_input(layer.crs)


def same_crs(first: Layer, first_name: str, second: Layer, second_name: str) -> None:
    """:class:`CRSMismatch` naming ``second_name`` unless both layers are in one CRS.

    An empty layer is not checked: it adds nothing to the other.
    """
    if len(first) == 0 or len(second) == 0:
        return
    crs = require_crs(first, first_name)
    other = require_crs(second, second_name)
    if not crs.equals(other):
        raise CRSMismatch(
            f"{second_name} are in {_crs_name(other)} but {first_name} in {_crs_name(crs)}; "
            f"reproject one of them (e.g. {second_name}.to_crs({first_name}.crs))",
            parameter=second_name,
        )


def projected_crs(crs: Any, parameter: str = "crs") -> CRS:
    """``crs`` parsed; :class:`InvalidInput` unless it is projected (metric).

    Examples
    --------
    >>> projected_crs(4326)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: crs must be a projected (metric) CRS, ...; got EPSG:4326
    """
    out = CRS.from_user_input(crs)
    if not out.is_projected:
        raise InvalidInput(
            f"{parameter} must be a projected (metric) CRS, e.g. EPSG:4547; got {_crs_name(out)}",
            parameter=parameter,
        )
    return out


def geometries_in(layer: Layer, crs: CRS, name: str) -> GeomArray:
    """Geometries of ``layer`` as a shapely array in the working CRS ``crs``."""
    own = require_crs(layer, name)
    series = layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer
    if not own.equals(crs):
        series = series.to_crs(crs)
    return np.asarray(series.values, dtype=object)


def series_in(geoms: GeomArray, index: pd.Index, working: CRS, out_crs: Any) -> gpd.GeoSeries:
    """Results built in the ``working`` CRS as a GeoSeries back in ``out_crs`` (None: as is)."""
    series = gpd.GeoSeries(geoms, index=index, crs=working)
    if out_crs is None or CRS.from_user_input(out_crs).equals(working):
        return series
    return series.to_crs(out_crs)


def require_column(frame: pd.DataFrame, column: Hashable, parameter: str, frame_name: str
                   ) -> None:
    """:class:`InvalidInput` naming ``parameter`` unless ``column`` is a column of ``frame``.

    Examples
    --------
    >>> require_column(pd.DataFrame({"code": []}), "name", "code", "grids")
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: code 'name' is not a column of grids; columns: ['code']
    """
    if column not in frame:
        raise InvalidInput(
            f"{parameter} {column!r} is not a column of {frame_name}; "
            f"columns: {list(frame.columns)}",
            parameter=parameter,
        )


def require_frame(obj: object, name: str, what: str) -> None:
    """:class:`InvalidInput` unless ``obj`` is a GeoDataFrame (``what`` says of what)."""
    if not isinstance(obj, gpd.GeoDataFrame):
        raise InvalidInput(f"{name} must be a GeoDataFrame of {what}, got {type(obj).__name__}",
                           parameter=name)


def require_points(geometry: gpd.GeoSeries, name: str) -> None:
    """:class:`InvalidInput` unless every present, non-empty geometry is a Point."""
    present = geometry[~(geometry.isna() | geometry.is_empty)]
    if not bool((present.geom_type == "Point").all()):
        raise InvalidInput(f"{name} must have Point geometries", parameter=name)


def coordinate_arrays(x: ArrayLike, y: ArrayLike, names: tuple[str, str]) -> tuple[
    FloatArray, FloatArray
]:
    """Float64 arrays of equal shape; :class:`InvalidCoordinates` for NaN or infinite values."""
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
