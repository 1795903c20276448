"""Camera coverage: view sectors, occlusion by buildings, per-grid figures, rasters.

All geometry work runs in a metric CRS: the ``crs`` argument, else the input's
own CRS when it is projected, else the CGCS2000 3-degree Gauss-Kruger zone of
the data's centroid (:func:`gis_core.crs.metric_crs_for`). Results come back in
the input CRS, aligned with the input index.

View sector
-----------
Headings and pan angles are degrees clockwise from north. A ``fixed`` or
``long_range`` camera sees the sector ``heading +- hfov / 2`` out to
``range_m``. A ``ptz`` camera sweeps its pan range ``pan_min .. pan_max``
(clockwise, so ``300 .. 60`` crosses north) widened by ``hfov / 2`` on each
side, or all around when it has no pan range; a ``long_range`` camera with a
pan range is treated the same way. A ``dome`` sees all around. A sweep of 360
degrees or more is a full disc. ``status`` is not read: select the cameras to
count (e.g. ``cameras[cameras.status == "online"]``) before calling.

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
:func:`viewshed` over a DEM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features
from rasterio.enums import MergeAlg

from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput
from gis_core.types import BoolArray, Bounds, FloatArray, IntArray

__all__ = [
    "blind_spots",
    "coverage_by_grid",
    "coverage_raster",
    "view_polygons",
    "viewshed",
    "visible_pairs",
    "visible_polygons",
    "write_geotiff",
]

CAMERA_DEFAULTS: dict[str, Any] = {
    "mount_height": 6.0,
    "heading": 0.0,
    "hfov": 60.0,
    "range_m": 50.0,
    "kind": "fixed",
    "pan_min": np.nan,
    "pan_max": np.nan,
}
KINDS = ("fixed", "ptz", "dome", "long_range")
#: Distance (m) within which a wall counts as seen by a visible area.
SEEN_TOLERANCE_M = 0.5


# --------------------------------------------------------------------------- helpers


def _metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any) -> CRS:
    if crs is not None:
        out = CRS.from_user_input(crs)
        if not out.is_projected:
            raise InvalidInput("crs must be a projected (metric) CRS", parameter="crs")
        return out
    if gdf.crs is None:
        raise InvalidInput("input has no CRS; set one (e.g. EPSG:4326)", parameter="crs")
    own = CRS.from_user_input(gdf.crs)
    return own if own.is_projected else metric_crs_for(gdf)


def _to(g: gpd.GeoSeries | gpd.GeoDataFrame, crs: CRS, name: str) -> np.ndarray:
    """Geometries of ``g`` as a shapely array in ``crs``."""
    if g.crs is None:
        raise InvalidInput(f"{name} has no CRS; set one (e.g. EPSG:4326)", parameter=name)
    s = g.geometry if isinstance(g, gpd.GeoDataFrame) else g
    if not CRS.from_user_input(s.crs).equals(crs):
        s = s.to_crs(crs)
    return np.asarray(s.values, dtype=object)


def _back(geoms: np.ndarray, index: pd.Index, metric: CRS, out_crs: Any) -> gpd.GeoSeries:
    s = gpd.GeoSeries(geoms, index=index, crs=metric)
    return (
        s if out_crs is None or CRS.from_user_input(out_crs).equals(metric) else s.to_crs(out_crs)
    )


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df:
        return (
            df[name].fillna(CAMERA_DEFAULTS[name])
            if name not in ("pan_min", "pan_max")
            else df[name]
        )
    return pd.Series(CAMERA_DEFAULTS[name], index=df.index)


def _sweeps(cameras: gpd.GeoDataFrame) -> tuple[FloatArray, FloatArray]:
    """Start bearing and sweep (degrees) of every camera; sweep >= 360 is a full disc."""
    kind = _column(cameras, "kind").astype(str).str.lower().to_numpy()
    bad = ~np.isin(kind, KINDS)
    if bad.any():
        raise InvalidInput(f"kind must be one of {KINDS}; got {kind[bad][0]!r}", parameter="kind")
    heading = _column(cameras, "heading").to_numpy(float)
    hfov = _column(cameras, "hfov").to_numpy(float)
    if not (np.isfinite(hfov) & (hfov > 0) & (hfov <= 360)).all():
        raise InvalidInput("hfov must be in (0, 360] degrees", parameter="hfov")
    if not np.isfinite(heading).all():
        raise InvalidInput("heading must be a finite number of degrees", parameter="heading")
    pmin = _column(cameras, "pan_min").to_numpy(float)
    pmax = _column(cameras, "pan_max").to_numpy(float)
    has_pan = np.isfinite(pmin) & np.isfinite(pmax)
    pan_width = np.mod(pmax - pmin, 360.0)
    start = heading - hfov / 2
    sweep = hfov.copy()
    panning = has_pan & np.isin(kind, ("ptz", "long_range"))
    start = np.where(panning, pmin - hfov / 2, start)
    sweep = np.where(panning, pan_width + hfov, sweep)
    sweep = np.where((kind == "dome") | ((kind == "ptz") & ~has_pan), 360.0, sweep)
    return np.mod(start, 360.0), sweep


def _sectors(
    xy: FloatArray, start: FloatArray, sweep: FloatArray, radius: FloatArray, resolution: float
) -> np.ndarray:
    """Sector (or disc) polygons with about ``resolution`` degrees between arc vertices."""
    n = len(xy)
    full = sweep >= 360.0
    sweep = np.minimum(sweep, 360.0)
    n_arc = np.maximum(2, np.ceil(sweep / resolution).astype(np.int64)) + 1
    n_arc = np.where(full, n_arc - 1, n_arc)  # a disc needs no repeated end point
    n_pts = n_arc + (~full)
    owner = np.repeat(np.arange(n), n_pts)
    first = np.cumsum(n_pts) - n_pts
    k = np.arange(owner.size) - first[owner]
    # sectors: vertex 0 is the centre, then the arc; discs: only the arc
    arc_k = np.where(full[owner], k, k - 1)
    denom = np.where(full, n_arc, n_arc - 1)[owner]
    theta = np.radians(start[owner] + sweep[owner] * arc_k / denom)
    r = np.where(arc_k < 0, 0.0, radius[owner])
    x = xy[owner, 0] + r * np.sin(theta)
    y = xy[owner, 1] + r * np.cos(theta)
    rings = shapely.linearrings(np.column_stack([x, y]), indices=owner)
    return np.asarray(shapely.polygons(rings), dtype=object)


def _check_cameras(cameras: gpd.GeoDataFrame) -> None:
    if not isinstance(cameras, gpd.GeoDataFrame):
        raise InvalidInput("cameras must be a GeoDataFrame of points", parameter="cameras")
    if len(cameras) and not bool((cameras.geom_type == "Point").all()):
        raise InvalidInput("cameras must have Point geometries", parameter="cameras")
    rng = _column(cameras, "range_m").to_numpy(float)
    if not (np.isfinite(rng) & (rng > 0)).all():
        raise InvalidInput("range_m must be > 0 metres", parameter="range_m")
    mh = _column(cameras, "mount_height").to_numpy(float)
    if not (np.isfinite(mh) & (mh > 0)).all():
        raise InvalidInput("mount_height must be > 0 metres", parameter="mount_height")


def _view_metric(
    cameras: gpd.GeoDataFrame, metric: CRS, resolution: float
) -> tuple[np.ndarray, FloatArray]:
    if not 0 < resolution <= 30:
        raise InvalidInput("resolution must be in (0, 30] degrees", parameter="resolution")
    _check_cameras(cameras)
    pts = _to(cameras, metric, "cameras")
    xy = shapely.get_coordinates(pts)
    start, sweep = _sweeps(cameras)
    radius = _column(cameras, "range_m").to_numpy(float)
    if len(xy) == 0:
        return np.empty(0, dtype=object), xy
    return _sectors(xy, start, sweep, radius, resolution), xy


# --------------------------------------------------------------------------- view polygons


def view_polygons(
    cameras: gpd.GeoDataFrame, crs: Any = None, resolution: float = 2.0
) -> gpd.GeoSeries:
    """View sector of each camera, without occlusion.

    Parameters
    ----------
    cameras
        Points with the DB columns ``heading``, ``hfov``, ``range_m``, ``kind``,
        ``pan_min``, ``pan_max`` (missing columns or nulls take the DB defaults:
        heading 0, hfov 60, range 50 m, kind fixed).
    crs
        Metric CRS for the construction (default: see module docstring).
    resolution
        Degrees between arc vertices.

    Returns
    -------
    geopandas.GeoSeries
        Polygons in the cameras' CRS, aligned with ``cameras``.

    Examples
    --------
    >>> cams = gpd.GeoDataFrame({"heading": [90.0], "hfov": [90.0], "range_m": [100.0],
    ...                          "kind": ["dome"]},
    ...                         geometry=gpd.points_from_xy([500000.0], [3400000.0]), crs=4547)
    >>> round(float(view_polygons(cams).area.iloc[0]) / (3.14159 * 100 ** 2), 2)
    1.0
    """
    metric = _metric_crs(cameras, crs)
    sectors, _ = _view_metric(cameras, metric, resolution)
    return _back(sectors, cameras.index, metric, cameras.crs)


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
    footprints: np.ndarray,
    bld_h: FloatArray,
    cam_i: IntArray,
    bld_i: IntArray,
) -> tuple[np.ndarray, IntArray]:
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


def _group_union(pieces: np.ndarray, owner: IntArray, n: int) -> np.ndarray:
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
    metric = _metric_crs(cameras, crs)
    sectors, pieces, owner = _sectors_and_shadows(cameras, buildings, height, default_height,
                                                  metric, resolution)
    if pieces.size == 0:
        return _back(sectors, cameras.index, metric, cameras.crs)
    hidden = _group_union(pieces, owner, len(sectors))
    has = np.array([h is not None for h in hidden], dtype=bool)
    visible = sectors.copy()
    visible[has] = shapely.difference(sectors[has], hidden[has].astype(object))
    return _back(visible, cameras.index, metric, cameras.crs)


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
    metric = _metric_crs(cameras, crs)
    sectors, pieces, owner = _sectors_and_shadows(cameras, buildings, height, default_height,
                                                  metric, resolution)
    tree = shapely.STRtree(_to(points, metric, "points"))
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
    default_height: float, metric: Any, resolution: float,
) -> tuple[np.ndarray, np.ndarray, IntArray]:
    """Metric view sectors and the shadow pieces buildings cast in them, with their camera."""
    sectors, xy = _view_metric(cameras, metric, resolution)
    none = (sectors, np.empty(0, dtype=object), np.empty(0, dtype=np.intp))
    if buildings is None or len(buildings) == 0 or len(sectors) == 0:
        return none
    fps = _to(buildings, metric, "buildings")
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
    cam_h = _column(cameras, "mount_height").to_numpy(float)
    cam_r = _column(cameras, "range_m").to_numpy(float)
    pieces, owner = _shadow_pieces(xy, cam_h, cam_r, fps, heights, cam_i, bld_i)
    return sectors, pieces, owner


# --------------------------------------------------------------------------- per grid


def _grid_pieces(
    grid_geoms: np.ndarray, other: np.ndarray, predicate: str = "intersects"
) -> np.ndarray:
    """Per grid, the union of ``other`` clipped to it (None where nothing)."""
    other = other[~shapely.is_empty(other) & ~shapely.is_missing(other)]
    tree = shapely.STRtree(other)
    g_i, o_i = tree.query(grid_geoms, predicate=predicate)
    clipped = shapely.intersection(other[o_i], grid_geoms[g_i])
    return _group_union(np.asarray(clipped, dtype=object), g_i, len(grid_geoms))


def _area(geoms: np.ndarray) -> FloatArray:
    return np.array([0.0 if g is None else shapely.area(g) for g in geoms])


def coverage_by_grid(
    grids: gpd.GeoDataFrame,
    visible: gpd.GeoSeries,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    buildings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    code: str = "code",
    crs: Any = None,
) -> pd.DataFrame:
    """Coverage figures per grid.

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column.
    visible
        Visible ground of the cameras (:func:`visible_polygons`).
    roads
        Road lines; adds road length and its covered share.
    buildings
        Footprints; adds buildings per grid (by representative point) and how
        many are seen: footprint within 0.5 m of some camera's visible ground.
    code
        Grid code column.
    crs
        Metric CRS (default: see module docstring).

    Returns
    -------
    pandas.DataFrame
        Indexed by grid code: ``area_m2``, ``covered_m2``, ``covered_share``,
        ``cameras`` (visible polygons reaching the grid) and, when given,
        ``road_m``, ``covered_road_m``, ``road_share``, ``buildings``,
        ``buildings_seen``. Shares are in [0, 1] (NaN for no road).

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 5, 10)], crs=4547)
    >>> float(coverage_by_grid(g, v).loc["A", "covered_share"])
    0.5
    """
    if code not in grids:
        raise InvalidInput(f"code {code!r} is not a column of grids", parameter="code")
    metric = _metric_crs(grids, crs)
    gg = _to(grids, metric, "grids")
    vis = _to(visible, metric, "visible")
    covered = _grid_pieces(gg, vis)
    area = shapely.area(gg)
    out = pd.DataFrame({"area_m2": area}, index=pd.Index(grids[code].to_numpy(), name=code))
    out["covered_m2"] = _area(covered)
    out["covered_share"] = np.clip(out["covered_m2"] / np.where(area > 0, area, np.nan), 0, 1)
    tree = shapely.STRtree(vis)
    g_i, _ = tree.query(gg, predicate="intersects")
    out["cameras"] = np.bincount(g_i, minlength=len(gg))
    if roads is not None:
        rd = _to(roads, metric, "roads")
        road_in = _grid_pieces(gg, rd)
        road_m = np.array([0.0 if r is None else shapely.length(r) for r in road_in])
        cov_len = np.array(
            [
                0.0 if r is None or c is None else shapely.length(shapely.intersection(r, c))
                for r, c in zip(road_in, covered, strict=True)
            ]
        )
        out["road_m"] = road_m
        out["covered_road_m"] = cov_len
        out["road_share"] = np.clip(cov_len / np.where(road_m > 0, road_m, np.nan), 0, 1)
    if buildings is not None:
        out = out.join(_buildings_seen(gg, buildings, vis, metric).set_axis(out.index))
    return out


def _buildings_seen(
    gg: np.ndarray, buildings: gpd.GeoDataFrame | gpd.GeoSeries, vis: np.ndarray, metric: CRS
) -> pd.DataFrame:
    fps = _to(buildings, metric, "buildings")
    reps = shapely.point_on_surface(fps)
    b_i, g_i = shapely.STRtree(gg).query(reps, predicate="intersects")
    b_i, first = np.unique(b_i, return_index=True)
    g_i = g_i[first]
    v_tree = shapely.STRtree(vis[~shapely.is_empty(vis)])
    s_b, _ = v_tree.query(fps, predicate="dwithin", distance=SEEN_TOLERANCE_M)
    seen = np.zeros(len(fps), dtype=bool)
    seen[s_b] = True
    return pd.DataFrame(
        {
            "buildings": np.bincount(g_i, minlength=len(gg)),
            "buildings_seen": np.bincount(g_i, weights=seen[b_i], minlength=len(gg)).astype(
                np.int64
            ),
        }
    )


def blind_spots(
    grids: gpd.GeoDataFrame,
    visible: gpd.GeoSeries,
    min_area_m2: float = 100.0,
    code: str = "code",
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Uncovered parts of each grid of at least ``min_area_m2``.

    Parameters
    ----------
    grids
        Grid polygons with a ``code`` column.
    visible
        Visible ground of the cameras.
    min_area_m2
        Smallest blind spot kept (m^2, >= 0).
    code
        Grid code column.
    crs
        Metric CRS (default: see module docstring).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per blind spot: ``code``, ``area_m2``, polygon in the grids' CRS,
        largest first within each grid.

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=4547)
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 5, 10)], crs=4547)
    >>> blind_spots(g, v, min_area_m2=10)["area_m2"].round(1).tolist()
    [50.0]
    """
    if not min_area_m2 >= 0:
        raise InvalidInput("min_area_m2 must be >= 0", parameter="min_area_m2")
    if code not in grids:
        raise InvalidInput(f"code {code!r} is not a column of grids", parameter="code")
    metric = _metric_crs(grids, crs)
    gg = _to(grids, metric, "grids")
    covered = _grid_pieces(gg, _to(visible, metric, "visible"))
    has = np.array([c is not None for c in covered], dtype=bool)
    holes = gg.copy()
    holes[has] = shapely.difference(gg[has], covered[has].astype(object))
    parts, owner = shapely.get_parts(holes, return_index=True)
    area = shapely.area(parts)
    keep = (area >= min_area_m2) & (area > 0)
    df = pd.DataFrame({code: grids[code].to_numpy()[owner[keep]], "area_m2": area[keep]})
    out = gpd.GeoDataFrame(
        df, geometry=_back(parts[keep], df.index, metric, grids.crs).values, crs=grids.crs
    )
    order = np.lexsort((-out["area_m2"].to_numpy(), owner[keep]))
    return out.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- rasters


def coverage_raster(
    visible_polys: gpd.GeoSeries, bounds: Bounds, cell_size_m: float, crs: Any
) -> tuple[np.ndarray, Affine, CRS]:
    """How many cameras see each cell (a cell counts when its centre is visible).

    Parameters
    ----------
    visible_polys
        Visible ground per camera (any CRS; reprojected to ``crs``).
    bounds
        ``(minx, miny, maxx, maxy)`` in ``crs``.
    cell_size_m
        Cell size in units of ``crs`` (metres).
    crs
        Projected CRS of the raster.

    Returns
    -------
    tuple
        ``(uint16 array rows north-to-south, Affine transform, CRS)``.

    Examples
    --------
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(5, 0, 10, 10)], crs=4547)
    >>> arr, tr, c = coverage_raster(v, (0, 0, 20, 10), 5, 4547)
    >>> arr.tolist()
    [[1, 2, 0, 0], [1, 2, 0, 0]]
    """
    if not cell_size_m > 0:
        raise InvalidInput("cell_size_m must be > 0", parameter="cell_size_m")
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not (maxx > minx and maxy > miny):
        raise InvalidInput(
            "bounds must be (minx, miny, maxx, maxy) with max > min", parameter="bounds"
        )
    out_crs = CRS.from_user_input(crs)
    geoms = _to(visible_polys, out_crs, "visible_polys")
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    ncol = int(np.ceil((maxx - minx) / cell_size_m))
    nrow = int(np.ceil((maxy - miny) / cell_size_m))
    transform = Affine(cell_size_m, 0, minx, 0, -cell_size_m, maxy)
    if geoms.size == 0:
        return np.zeros((nrow, ncol), np.uint16), transform, out_crs
    arr = features.rasterize(
        ((g, 1) for g in geoms),
        out_shape=(nrow, ncol),
        transform=transform,
        fill=0,
        dtype="uint16",
        merge_alg=MergeAlg.add,
    )
    return arr, transform, out_crs


def write_geotiff(
    dest: str | Path | BinaryIO,
    array: np.ndarray,
    transform: Affine,
    crs: Any,
    nodata: float | None = None,
) -> None:
    """Write a single-band GeoTIFF (deflate-compressed) to a path or a binary file object.

    Parameters
    ----------
    dest
        File path, or a writable binary file object such as ``io.BytesIO``.
    array
        2-D raster, rows north-to-south.
    transform
        Affine of the upper-left corner.
    crs
        CRS of the raster.
    nodata
        Optional nodata value.

    Examples
    --------
    >>> import io
    >>> buf = io.BytesIO()
    >>> write_geotiff(buf, np.ones((2, 3), np.uint16), Affine(1, 0, 0, 0, -1, 2), 4547)
    >>> buf.getvalue()[:2] in (b"II", b"MM")
    True
    """
    arr = np.asarray(array)
    if arr.ndim != 2:
        raise InvalidInput("array must be 2-D", parameter="array")
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype,
        "crs": CRS.from_user_input(crs).to_wkt(),
        "transform": transform,
        "compress": "deflate",
        "nodata": nodata,
    }
    if isinstance(dest, str | Path):
        with rasterio.open(dest, "w", **profile) as ds:
            ds.write(arr, 1)
        return
    with rasterio.MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(arr, 1)
        dest.write(mem.read())


# --------------------------------------------------------------------------- viewshed


def _read_dem(
    dem: Any, transform: Affine | None, crs: Any
) -> tuple[FloatArray, Affine, CRS | None]:
    if isinstance(dem, str | Path):
        with rasterio.open(dem) as ds:
            arr = ds.read(1, masked=True).astype(float).filled(np.nan)
            return arr, ds.transform, ds.crs and CRS.from_user_input(ds.crs)
    arr = np.asarray(dem, dtype=float)
    if arr.ndim != 2:
        raise InvalidInput("dem must be a 2-D array or a raster path", parameter="dem")
    if transform is None:
        raise InvalidInput("transform is required with an array DEM", parameter="transform")
    return arr, transform, None if crs is None else CRS.from_user_input(crs)


def _local_metres(
    cols: FloatArray,
    rows: FloatArray,
    transform: Affine,
    crs: CRS | None,
    origin: tuple[float, float],
) -> tuple[FloatArray, FloatArray]:
    """East/north offsets (m) of pixel positions from ``origin`` (in the DEM CRS)."""
    x = transform.c + transform.a * cols + transform.b * rows
    y = transform.f + transform.d * cols + transform.e * rows
    if crs is not None and crs.is_geographic:
        aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={origin[1]} +lon_0={origin[0]} +datum=WGS84")
        tr = Transformer.from_crs(crs, aeqd, always_xy=True)
        e, n = tr.transform(x, y)
        return np.asarray(e), np.asarray(n)
    return x - origin[0], y - origin[1]


def _bilinear(dem: FloatArray, r: FloatArray, c: FloatArray) -> FloatArray:
    """DEM height at fractional pixel-centre coordinates; NaN outside."""
    nr, nc = dem.shape
    r0 = np.clip(np.floor(r).astype(np.int64), 0, nr - 2)
    c0 = np.clip(np.floor(c).astype(np.int64), 0, nc - 2)
    fr, fc = np.clip(r - r0, 0, 1), np.clip(c - c0, 0, 1)
    v = (
        dem[r0, c0] * (1 - fr) * (1 - fc)
        + dem[r0 + 1, c0] * fr * (1 - fc)
        + dem[r0, c0 + 1] * (1 - fr) * fc
        + dem[r0 + 1, c0 + 1] * fr * fc
    )
    out = (r >= -0.5) & (r <= nr - 0.5) & (c >= -0.5) & (c <= nc - 0.5)
    return np.where(out, v, np.nan)


def viewshed(
    dem: str | Path | FloatArray,
    transform: Affine | None,
    observer_xy: tuple[float, float],
    observer_height: float,
    max_range: float,
    heading: float | None = None,
    hfov: float | None = None,
    crs: Any = None,
    target_height: float = 0.0,
    curvature: bool = True,
) -> BoolArray:
    """Cells of a DEM seen from an observer (line of sight), within range and angles.

    For every cell centre within ``max_range`` metres (and within
    ``heading +- hfov / 2``), the terrain along the straight line from the
    observer is sampled every half cell (bilinear); the cell is visible when
    no sample rises above the line from the observer's eye
    (ground + ``observer_height``) to the target (ground + ``target_height``).
    Distances are true metres: a geographic DEM (e.g. EPSG:4326) is measured in
    an azimuthal-equidistant frame centred on the observer. With
    ``curvature`` the earth's curvature with standard refraction (k = 0.13) is
    applied, as GDAL's viewshed does.

    Parameters
    ----------
    dem
        Raster path (band 1; its transform and CRS are used) or a 2-D array.
    transform
        Affine of the array (ignored for a path).
    observer_xy
        Observer position in the DEM's CRS.
    observer_height
        Eye height above the ground (m).
    max_range
        Range (m).
    heading, hfov
        Viewing direction (degrees clockwise from north) and horizontal field
        of view; None or hfov >= 360 for all around.
    crs
        CRS of an array DEM (None: metric units assumed).
    target_height
        Height above ground of what must be seen (m).
    curvature
        Apply earth curvature and refraction.

    Returns
    -------
    numpy.ndarray
        Boolean array of the DEM's shape; NaN (nodata) cells are never visible.

    Examples
    --------
    >>> flat = np.zeros((50, 50))
    >>> vis = viewshed(flat, Affine(10, 0, 0, 0, -10, 500), (250, 250), 2, 100)
    >>> int(vis.sum()) in range(300, 330)
    True
    """
    arr, tr, dem_crs = _read_dem(dem, transform, crs)
    if not (max_range > 0 and observer_height >= 0):
        raise InvalidInput("max_range must be > 0 and observer_height >= 0", parameter="max_range")
    if hfov is not None and not 0 < hfov <= 360:
        raise InvalidInput("hfov must be in (0, 360] degrees", parameter="hfov")
    inv = ~tr
    ox, oy = float(observer_xy[0]), float(observer_xy[1])
    oc, orow = inv @ (ox, oy)
    oc, orow = oc - 0.5, orow - 0.5  # pixel-centre coordinates
    nr, nc = arr.shape
    if not (-0.5 <= orow <= nr - 0.5 and -0.5 <= oc <= nc - 0.5):
        raise InvalidInput("observer_xy is outside the DEM", parameter="observer_xy")
    rr, cc = np.mgrid[0:nr, 0:nc]
    rows, cols = rr.ravel().astype(float), cc.ravel().astype(float)
    e, n = _local_metres(cols + 0.5, rows + 0.5, tr, dem_crs, (ox, oy))
    dist = np.hypot(e, n)
    cand = dist <= max_range
    if heading is not None and hfov is not None and hfov < 360:
        bearing = np.degrees(np.arctan2(e, n))
        off = np.abs((bearing - heading + 180.0) % 360.0 - 180.0)
        cand &= (off <= hfov / 2) | (dist == 0)
    cand &= np.isfinite(arr.ravel())
    eye = _bilinear(arr, np.array([orow]), np.array([oc]))[0] + observer_height
    idx = np.nonzero(cand)[0]
    visible = np.zeros(arr.size, dtype=bool)
    drop = (lambda d: d * d * (1 - 0.13) / (2 * 6_371_000.0)) if curvature else (lambda d: 0 * d)
    pix = np.hypot(rows[idx] - orow, cols[idx] - oc)
    n_samp = int(max(2, np.ceil(pix.max() * 2))) if idx.size else 2
    t = (np.arange(1, n_samp) / n_samp)[None, :]
    chunk = max(1, 3_000_000 // n_samp)
    for s in range(0, idx.size, chunk):
        i = idx[s : s + chunk]
        d = dist[i]
        target = arr.ravel()[i] + target_height - drop(d)
        sr = orow + (rows[i, None] - orow) * t
        sc = oc + (cols[i, None] - oc) * t
        # only samples strictly between the observer and the target cell
        inside = t * pix[s : s + chunk, None] < pix[s : s + chunk, None] - 0.5
        h = _bilinear(arr, sr, sc) - drop(d[:, None] * t)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(inside & np.isfinite(h), (h - eye) / (d[:, None] * t), -np.inf)
            tslope = np.where(d > 0, (target - eye) / d, np.inf)
        visible[i] = tslope >= slope.max(axis=1) - 1e-12
    return visible.reshape(arr.shape)
