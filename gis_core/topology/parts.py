"""What checking and repairing a grid layer share: input checks, polygonal parts."""


from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gis_core._checks import (
    geometries_in,
    require_column,
    require_crs,
    require_frame,
    same_crs,
)
from gis_core.errors import InvalidGeometry, InvalidInput
from gis_core.types import GeomArray

__all__ = ["POLYGONAL", "boundary_in", "check_inputs", "explode", "holes", "polygonal"]

POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon


def check_inputs(grids: gpd.GeoDataFrame, boundary: Any, code: str) -> None:
    """Check the grids (a frame with ``code`` and a CRS) and the kind of ``boundary``."""
    require_frame(grids, "grids", "polygons")
    require_column(grids, code, "code", "grids")
    require_crs(grids, "grids")
    if boundary is not None and not isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries
                                               | BaseGeometry):
        raise InvalidInput("boundary must be None, a GeoDataFrame/GeoSeries or a shapely "
                           f"geometry in the CRS of grids; got {type(boundary).__name__}",
                           parameter="boundary")


def boundary_in(boundary: Any, grids: gpd.GeoDataFrame) -> BaseGeometry | None:
    """Union of the boundary, in the CRS of the grids (a bare geometry is taken to be in it)."""
    if boundary is None:
        return None
    if isinstance(boundary, BaseGeometry):
        geom = boundary
    else:
        same_crs(grids, "grids", boundary, "boundary")
        geom = shapely.union_all(geometries_in(boundary, require_crs(grids, "grids"), "boundary"))
    geom = polygonal(np.array([shapely.make_valid(geom)], dtype=object))[0]
    if geom.is_empty:
        raise InvalidGeometry("boundary must contain a polygon", parameter="boundary")
    return geom


def polygonal(geoms: GeomArray) -> GeomArray:
    """Keep only the polygonal parts of each geometry (empty polygon when none)."""
    out = np.asarray(geoms, dtype=object).copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(out), POLYGONAL))
    for i in mixed:
        parts = shapely.get_parts(out[i])
        polys = parts[np.isin(shapely.get_type_id(parts), POLYGONAL)]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


def explode(geoms: GeomArray) -> tuple[GeomArray, npt.NDArray[np.intp]]:
    """Single polygons of each geometry (collections unpacked), with the owner's index."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    nested = shapely.get_type_id(parts) >= 4  # multi-geometries or collections
    while nested.any():
        inner, which = shapely.get_parts(parts[nested], return_index=True)
        parts = np.r_[parts[~nested], inner]
        owner = np.r_[owner[~nested], owner[nested][which]]
        nested = shapely.get_type_id(parts) >= 4
    keep = shapely.get_type_id(parts) == 3
    return parts[keep], owner[keep]


def holes(union: BaseGeometry) -> BaseGeometry:
    """The interior rings of the union of the grids, as one geometry."""
    rings = [r for p in shapely.get_parts(union) if p.geom_type == "Polygon" for r in p.interiors]
    if not rings:
        return shapely.Polygon()
    return shapely.union_all(shapely.polygons(np.array(rings, dtype=object)))
