"""Ground each camera sees once buildings hide what they hide.

Cameras and buildings must share one CRS (:mod:`gis_core._checks`); the work
runs in a metric CRS as in :mod:`gis_core.coverage.sectors`.

Occlusion (2.5D model)
----------------------
Buildings are prisms with a flat roof at ``height`` metres above flat ground;
the camera's eye is at ``mount_height``. The ground point ``x`` is hidden when
the straight line from the eye to ``x`` passes through a prism. For a footprint
``F`` and a camera at ``C`` this hidden region is exactly

    ``{C + s (p - C) : p in F, 1 <= s <= k}``,  ``k = H_cam / (H_cam - H_bld)``

i.e. the footprint swept away from the camera until the ray that grazes the
roof edge comes down to the ground. A building lower than the camera hides
only this finite "shadow" (the lower the building, the shorter it is; the
ground beyond it is seen again); a building as tall as the camera or taller
hides everything behind it out to the range (``k`` is then taken large enough
to reach ``range_m``). The footprint itself is never counted as covered ground.
The region is built exactly: for a convex footprint it is the convex hull of
``F`` and ``F`` scaled by ``k`` about ``C``; for a concave one it is the union of
``F``, its scaled copy and one trapezoid per edge. A building that contains the
camera (a camera on its roof or inside it) does not occlude that camera; a
camera on a wall is occluded only by the parts of its building in front of it.
Multi-part footprints occlude part by part. Walls, terrain, trees and
vertical angles are not modelled; for terrain use
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_core._checks import geometries_in, require_frame, same_crs, series_in
from gis_core.coverage.sectors import camera_column, view_metric
from gis_core.crs import metric_crs_of
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray, GeomArray, IntArray

__all__ = ["group_union", "visible_pairs", "visible_polygons"]


def _heights(buildings: gpd.GeoDataFrame, height: str, default_height: float) -> FloatArray:
    if default_height < 0 or not np.isfinite(default_height):
        raise InvalidInput("default_height must be >= 0 metres", parameter="default_height")
    if height in buildings:
        h = pd.to_numeric(buildings[height], errors="coerce").to_numpy(float)
    else:
        h = np.full(len(buildings), np.nan)
    h = np.where(np.isfinite(h), h, default_height)
    if (h < 0).any():
        raise InvalidInput("building heights must be >= 0 metres", parameter="height")
    return h


def _scaled(coords: FloatArray, centre: FloatArray, k: FloatArray) -> FloatArray:
    return centre + (coords - centre) * k[:, None]


def _shadow_pieces(
    cam_xy: FloatArray,
    cam_h: FloatArray,
    cam_r: FloatArray,
    footprints: GeomArray,
    bld_h: FloatArray,
    cam_i: IntArray,
    bld_i: IntArray,
) -> tuple[GeomArray, IntArray]:
    """Hidden-ground polygons for every (camera, building) pair; returns (pieces, camera)."""
    fp = footprints[bld_i]
    dmin = shapely.distance(fp, shapely.points(cam_xy)[cam_i])
    full_k = cam_r[cam_i] / np.maximum(dmin, 0.05) * 1.01 + 1.0
    hc, hb = cam_h[cam_i], bld_h[bld_i]
    with np.errstate(divide="ignore"):
        k = np.where(hb >= hc, full_k, np.minimum(hc / np.maximum(hc - hb, 1e-9), full_k))
    shells = shapely.get_exterior_ring(fp)
    coords, ring_of = shapely.get_coordinates(shells, return_index=True)
    centre = cam_xy[cam_i][ring_of]
    far = _scaled(coords, centre, k[ring_of])
    convex = shapely.area(fp) >= 0.999 * shapely.area(shapely.convex_hull(fp))
    # convex footprints: hull of F and kF
    cv = convex[ring_of]
    hull_pairs, dense = np.unique(ring_of[cv], return_inverse=True)
    hull_idx = np.concatenate([dense, dense])
    order = np.argsort(hull_idx, kind="stable")
    pieces = [np.empty(0, object)]
    if hull_pairs.size:
        pts = np.vstack([coords[cv], far[cv]])[order]
        pieces = [
            # a hull of the vertices: linestrings are much cheaper to build than multipoints
            np.asarray(shapely.convex_hull(shapely.linestrings(pts, indices=hull_idx[order])))
        ]
    owners = [hull_pairs]
    # concave footprints: F, kF and one trapezoid per edge
    cc = np.nonzero(~convex)[0]
    if cc.size:
        sel = np.isin(ring_of, cc)
        c_xy, f_xy, own = coords[sel], far[sel], ring_of[sel]
        same = own[1:] == own[:-1]
        a, b, fa, fb = c_xy[:-1][same], c_xy[1:][same], f_xy[:-1][same], f_xy[1:][same]
        edge_owner = own[:-1][same]
        quad_idx = np.repeat(np.arange(edge_owner.size), 4)
        quad_pts = np.stack([a, b, fb, fa], axis=1).reshape(-1, 2)
        quads = shapely.convex_hull(shapely.linestrings(quad_pts, indices=quad_idx))
        far_pairs, own_dense = np.unique(own, return_inverse=True)
        far_polys = shapely.polygons(shapely.linearrings(f_xy, indices=own_dense))
        pieces += [np.asarray(quads), fp[cc], np.asarray(far_polys)]
        owners += [edge_owner, cc, far_pairs]
    return np.concatenate(pieces), cam_i[np.concatenate(owners)]


def group_union(pieces: GeomArray, owner: IntArray, n: int) -> GeomArray:
    """Union of ``pieces`` per owner 0..n-1 (None where an owner has none)."""
    out = np.full(n, None, dtype=object)
    if pieces.size == 0:
        return out
    order = np.argsort(owner, kind="stable")
    owner, pieces = owner[order], pieces[order]
    counts = np.bincount(owner, minlength=n)
    slot = np.arange(owner.size) - (np.cumsum(counts) - counts)[owner]
    width = int(counts.max())
    # pad to a 2-D array and union along rows in GEOS, in blocks to bound memory
    block = max(1, 4_000_000 // width)
    has = np.nonzero(counts)[0]
    for s in range(0, has.size, block):
        rows = has[s : s + block]
        table = np.full((rows.size, width), None, dtype=object)
        pos = np.searchsorted(rows, owner)
        ok = (pos < rows.size) & (rows[np.minimum(pos, rows.size - 1)] == owner)
        table[pos[ok], slot[ok]] = pieces[ok]
        out[rows] = shapely.union_all(table, axis=1)
    return out


def visible_polygons(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    height: str = "height",
    default_height: float = 10.0,
    crs: Any = None,
    resolution: float = 2.0,
) -> gpd.GeoSeries:
    """Ground each camera sees: its view sector minus what buildings hide.

    Parameters
    ----------
    cameras
        Camera points with the DB columns (see :func:`view_polygons`), including
        ``mount_height`` (default 6 m).
    buildings
        Footprint polygons, or None for no occlusion.
    height
        Column of building heights in metres; missing values take ``default_height``.
    default_height
        Height of buildings without one (m).
    crs
        Metric CRS for the construction (default: see module docstring).
    resolution
        Degrees between arc vertices of the sectors.

    Returns
    -------
    geopandas.GeoSeries
        Visible ground (possibly empty or multi-part) in the cameras' CRS.

    Examples
    --------
    >>> cams = gpd.GeoDataFrame({"heading": [90.0], "hfov": [40.0], "range_m": [100.0]},
    ...                         geometry=gpd.points_from_xy([0.0], [0.0]), crs=4547)
    >>> wall = gpd.GeoDataFrame({"height": [30.0]}, geometry=[shapely.box(20, -50, 25, 50)],
    ...                         crs=4547)
    >>> bool(visible_polygons(cams, wall).iloc[0].bounds[2] <= 20.0 + 1e-6)
    True
    """
    require_frame(cameras, "cameras", "points")
    metric = metric_crs_of(cameras, "cameras", crs)
    sectors, pieces, owner = _sectors_and_shadows(cameras, buildings, height, default_height,
                                                  metric, resolution)
    if pieces.size == 0:
        return series_in(sectors, cameras.index, metric, cameras.crs)
    hidden = group_union(pieces, owner, len(sectors))
    has = np.array([h is not None for h in hidden], dtype=bool)
    visible = sectors.copy()
    visible[has] = shapely.difference(sectors[has], hidden[has].astype(object))
    return series_in(visible, cameras.index, metric, cameras.crs)


def visible_pairs(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    points: gpd.GeoSeries,
    height: str = "height",
    default_height: float = 10.0,
    crs: Any = None,
    resolution: float = 2.0,
) -> tuple[IntArray, IntArray]:
    """Which camera sees which point, as :func:`visible_polygons` would say, without them.

    A point is seen when it lies in the camera's sector and in none of the
    camera's shadow pieces; no polygon is unioned, so this stays cheap for many
    cameras with long ranges among many buildings.

    Returns
    -------
    (camera positions, point positions)
        Aligned integer arrays, one entry per seeing pair.

    Examples
    --------
    >>> cams = gpd.GeoDataFrame({"heading": [90.0], "hfov": [40.0], "range_m": [100.0]},
    ...                         geometry=gpd.points_from_xy([0.0], [0.0]), crs=4547)
    >>> wall = gpd.GeoDataFrame({"height": [30.0]}, geometry=[shapely.box(20, -50, 25, 50)],
    ...                         crs=4547)
    >>> pts = gpd.GeoSeries(gpd.points_from_xy([10.0, 50.0], [0.0, 0.0]), crs=4547)
    >>> [a.tolist() for a in visible_pairs(cams, wall, pts)]
    [[0], [0]]
    """
    require_frame(cameras, "cameras", "points")
    same_crs(cameras, "cameras", points, "points")
    metric = metric_crs_of(cameras, "cameras", crs)
    sectors, pieces, owner = _sectors_and_shadows(cameras, buildings, height, default_height,
                                                  metric, resolution)
    tree = shapely.STRtree(geometries_in(points, metric, "points"))
    cam, pt = tree.query(sectors, predicate="intersects")
    if pieces.size == 0:
        return cam, pt
    piece, hidden_pt = tree.query(pieces, predicate="intersects")
    n = len(points)
    seen = np.isin(cam.astype(np.int64) * n + pt, owner[piece].astype(np.int64) * n + hidden_pt,
                   invert=True)
    return cam[seen], pt[seen]


def _sectors_and_shadows(
    cameras: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, height: str,
    default_height: float, metric: CRS, resolution: float,
) -> tuple[GeomArray, GeomArray, IntArray]:
    """Metric view sectors and the shadow pieces buildings cast in them, with their camera."""
    sectors, xy = view_metric(cameras, metric, resolution)
    none = (sectors, np.empty(0, dtype=object), np.empty(0, dtype=np.intp))
    if buildings is None or len(buildings) == 0 or len(sectors) == 0:
        return none
    same_crs(cameras, "cameras", buildings, "buildings")
    fps = geometries_in(buildings, metric, "buildings")
    ok_geom = shapely.is_valid(fps) & ~shapely.is_empty(fps)
    if not ok_geom.all():
        raise InvalidInput("buildings must have valid, non-empty polygons", parameter="buildings")
    heights = _heights(buildings, height, default_height)
    # multi-part footprints occlude part by part
    fps, parent = shapely.get_parts(fps, return_index=True)
    poly = shapely.get_type_id(fps) == 3
    fps, heights = fps[poly], heights[parent[poly]]
    tree = shapely.STRtree(fps)
    cam_i, bld_i = tree.query(sectors, predicate="intersects")
    inside = shapely.contains_properly(fps[bld_i], shapely.points(xy)[cam_i])
    cam_i, bld_i = cam_i[~inside], bld_i[~inside]
    cam_h = camera_column(cameras, "mount_height").to_numpy(float)
    cam_r = camera_column(cameras, "range_m").to_numpy(float)
    pieces, owner = _shadow_pieces(xy, cam_h, cam_r, fps, heights, cam_i, bld_i)
    return sectors, pieces, owner
