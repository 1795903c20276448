"""Rasters of coverage: cameras per cell, and terrain line of sight over a DEM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features
from rasterio.enums import MergeAlg

from gis_core._checks import geometries_in
from gis_core.errors import InvalidInput
from gis_core.types import BoolArray, Bounds, FloatArray

__all__ = ["coverage_raster", "viewshed"]


def coverage_raster(
    visible_polys: gpd.GeoSeries, bounds: Bounds, cell_size_m: float, crs: Any
) -> tuple[npt.NDArray[np.uint16], Affine, CRS]:
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
    geoms = geometries_in(visible_polys, out_crs, "visible_polys")
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

    def drop(d: FloatArray) -> FloatArray:
        """Fall of the earth's surface (with refraction) at distance ``d``, or 0."""
        return d * d * (1 - 0.13) / (2 * 6_371_000.0) if curvature else 0 * d

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
