"""View sectors of cameras, without occlusion.

All geometry work runs in a metric CRS (see :mod:`gis_core._checks`: the
``crs`` argument, else the cameras' own CRS when it is projected, else the
CGCS2000 3-degree Gauss-Kruger zone of the data); results come back in the
cameras' CRS, aligned with their index.

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
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_core._checks import geometries_in, require_frame, series_in
from gis_core.crs import metric_crs_of
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray, GeomArray

__all__ = ["CAMERA_DEFAULTS", "DISC_KINDS", "DISC_WITHOUT_PAN_KINDS", "KINDS", "PANNING_KINDS",
           "camera_column", "view_polygons"]

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
#: the sector rule, one home for Python here and the SQL of the camera layer
#: (``layers.catalog``): these kinds with a pan range sweep it, widened by hfov/2 ...
PANNING_KINDS = ("ptz", "long_range")
#: ... these see a full disc always, and these when they have no pan range
DISC_KINDS = ("dome",)
DISC_WITHOUT_PAN_KINDS = ("ptz",)


def camera_column(df: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` of the cameras with the DB default where it is missing or null."""
    if name in df:
        return (
            df[name].fillna(CAMERA_DEFAULTS[name])
            if name not in ("pan_min", "pan_max")
            else df[name]
        )
    return pd.Series(CAMERA_DEFAULTS[name], index=df.index)


def _sweeps(cameras: gpd.GeoDataFrame) -> tuple[FloatArray, FloatArray]:
    """Start bearing and sweep (degrees) of every camera; sweep >= 360 is a full disc."""
    kind = camera_column(cameras, "kind").astype(str).str.lower().to_numpy()
    bad = ~np.isin(kind, KINDS)
    if bad.any():
        raise InvalidInput(f"kind must be one of {KINDS}; got {kind[bad][0]!r}", parameter="kind")
    heading = camera_column(cameras, "heading").to_numpy(float)
    hfov = camera_column(cameras, "hfov").to_numpy(float)
    if not (np.isfinite(hfov) & (hfov > 0) & (hfov <= 360)).all():
        raise InvalidInput("hfov must be in (0, 360] degrees", parameter="hfov")
    if not np.isfinite(heading).all():
        raise InvalidInput("heading must be a finite number of degrees", parameter="heading")
    pmin = camera_column(cameras, "pan_min").to_numpy(float)
    pmax = camera_column(cameras, "pan_max").to_numpy(float)
    has_pan = np.isfinite(pmin) & np.isfinite(pmax)
    pan_width = np.mod(pmax - pmin, 360.0)
    start = heading - hfov / 2
    sweep = hfov.copy()
    panning = has_pan & np.isin(kind, PANNING_KINDS)
    start = np.where(panning, pmin - hfov / 2, start)
    sweep = np.where(panning, pan_width + hfov, sweep)
    disc = np.isin(kind, DISC_KINDS) | (np.isin(kind, DISC_WITHOUT_PAN_KINDS) & ~has_pan)
    sweep = np.where(disc, 360.0, sweep)
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
    require_frame(cameras, "cameras", "points")
    if len(cameras) and not bool((cameras.geom_type == "Point").all()):
        raise InvalidInput("cameras must have Point geometries", parameter="cameras")
    rng = camera_column(cameras, "range_m").to_numpy(float)
    if not (np.isfinite(rng) & (rng > 0)).all():
        raise InvalidInput("range_m must be > 0 metres", parameter="range_m")
    mh = camera_column(cameras, "mount_height").to_numpy(float)
    if not (np.isfinite(mh) & (mh > 0)).all():
        raise InvalidInput("mount_height must be > 0 metres", parameter="mount_height")


def view_metric(
    cameras: gpd.GeoDataFrame, metric: CRS, resolution: float
) -> tuple[GeomArray, FloatArray]:
    """View sectors in the ``metric`` CRS and the cameras' metric coordinates."""
    if not 0 < resolution <= 30:
        raise InvalidInput("resolution must be in (0, 30] degrees", parameter="resolution")
    _check_cameras(cameras)
    pts = geometries_in(cameras, metric, "cameras")
    xy = shapely.get_coordinates(pts)
    start, sweep = _sweeps(cameras)
    radius = camera_column(cameras, "range_m").to_numpy(float)
    if len(xy) == 0:
        return np.empty(0, dtype=object), xy
    return _sectors(xy, start, sweep, radius, resolution), xy


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
    require_frame(cameras, "cameras", "points")
    metric = metric_crs_of(cameras, "cameras", crs)
    sectors, _ = view_metric(cameras, metric, resolution)
    return series_in(sectors, cameras.index, metric, cameras.crs)
