"""Fast, exact assignment of points to the grids of one or many grid layers.

:class:`GridIndex` answers "which grid of every layer covers this point?" for
millions of points at raster-lookup speed while giving exactly the answer of
PostGIS ``ST_Covers`` plus the tie rule below.

How it works (per layer and validity snapshot): a fine raster over the
layer's bounds holds, for every cell that lies wholly inside one grid's
interior, that grid's id; cells that lie wholly outside every grid hold
"outside"; every cell within a small margin of any grid boundary is marked
"edge". Interior and outside cells are labelled by their centre, which is
exact because no boundary comes near them; edge cells are found by sampling
every boundary segment at half-cell steps and marking all cells within
0.27 cells of each sample, a conservative cover of the segment with a margin
far larger than floating-point error. Points falling in edge cells (a few
percent) are resolved exactly with prepared shapely predicates against the
grids of their coarse bucket (every grid intersecting the slightly enlarged
bucket), grouped by grid so each prepared polygon stays in cache.

The raster is sized to about 128 cells across a typical grid, at most
8192 cells a side (~90-130 MB of uint16 for 4,000 grids of a 20 km district).
A layer whose grids are tiny compared with its extent gets a coarse raster
and more exact fallbacks: still exact, slower.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from affine import Affine
from rasterio import features
from shapely import STRtree

from gis_core._checks import require_column, require_crs, require_frame
from gis_core.crs import to_wgs84
from gis_core.errors import InvalidCoordinates, InvalidGeometry, InvalidInput
from gis_core.types import ArrayLike, Bounds, CRSLike, FloatArray, IntArray

__all__ = ["DEFAULT_LAYER", "GridIndex"]

#: Layer name used when the grids have no layer column.
DEFAULT_LAYER = "grid"

_OPEN_START = np.iinfo(np.int64).min
_OPEN_END = np.iinfo(np.int64).max
_SAMPLE_STEP = 0.5  # boundary samples per cell side: every half cell
_MARGIN = 0.27  # cells marked around each sample (>= step / 2 + safety)
_PAD = 2  # outside cells around the layer bounds
_MAX_SIDE = 8192
_MIN_SIDE = 64
_CELLS_PER_GRID = 128  # raster cells across a typical grid
_BUCKETS_PER_GRID = 4  # candidate buckets across a typical grid
_MAX_BUCKETS = 256
_SNAPSHOT_CACHE = 8
_EXACT_BELOW = 20_000  # uncached snapshots: points below this go exact, no raster build
_RASTERS_PER_LAYER = 2  # snapshots of a layer that keep their raster (the rest go exact)


@dataclass(frozen=True)
class _Buckets:
    """Coarse cells listing the grids that intersect each (slightly enlarged) cell.

    Cheaper than an R-tree query for the few points that need an exact test:
    no point geometries are built, and a cell lookup is one array gather.
    """

    origin_x: float
    origin_y: float
    scale_x: float  # buckets per degree
    scale_y: float
    nx: int
    ny: int
    indptr: IntArray  # CSR over buckets, row-major
    grids: IntArray

    @classmethod
    def build(cls, tree: STRtree, bounds: Bounds, per_side: int) -> _Buckets:
        x0, y0, x1, y1 = bounds
        bw = max(x1 - x0, 1e-12) / per_side
        bh = max(y1 - y0, 1e-12) / per_side
        bx = np.tile(np.arange(per_side), per_side)
        by = np.repeat(np.arange(per_side), per_side)
        pad_x, pad_y = 0.01 * bw, 0.01 * bh  # float safety at bucket edges
        boxes = shapely.box(x0 + bx * bw - pad_x, y0 + by * bh - pad_y,
                            x0 + (bx + 1) * bw + pad_x, y0 + (by + 1) * bh + pad_y)
        bucket, grid = tree.query(boxes, predicate="intersects")
        indptr = np.searchsorted(bucket, np.arange(per_side * per_side + 1))
        return cls(x0, y0, 1.0 / bw, 1.0 / bh, per_side, per_side,
                   indptr.astype(np.intp), grid.astype(np.intp))

    def candidates(self, lon: FloatArray, lat: FloatArray) -> tuple[IntArray, IntArray]:
        """(point, grid) pairs: every grid that may cover each point."""
        bx = np.clip((lon - self.origin_x) * self.scale_x, 0, self.nx - 1).astype(np.intp)
        by = np.clip((lat - self.origin_y) * self.scale_y, 0, self.ny - 1).astype(np.intp)
        bucket = by * self.nx + bx
        start = self.indptr[bucket]
        count = self.indptr[bucket + 1] - start
        pts = np.repeat(np.arange(len(lon)), count)
        offset = np.arange(len(pts)) - np.repeat(np.cumsum(count) - count, count)
        return pts, self.grids[np.repeat(start, count) + offset]


@dataclass(frozen=True)
class _Raster:
    """Cell lookup of one layer snapshot."""

    values: npt.NDArray[np.integer[Any]]  # flat, row-major; id, n (outside) or n + 1 (edge)
    width: int
    height: int
    origin_x: float
    origin_y: float
    scale_x: float  # cells per degree
    scale_y: float
    buckets: _Buckets

    def lookup(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        fx = lon - self.origin_x
        fx *= self.scale_x
        np.clip(fx, 0, self.width - 1, out=fx)
        fy = lat - self.origin_y
        fy *= self.scale_y
        np.clip(fy, 0, self.height - 1, out=fy)
        cell = fy.astype(np.intp)
        cell *= self.width
        cell += fx.astype(np.intp)
        return self.values.take(cell).astype(np.intp)


class _Snapshot:
    """The grids of one layer valid at one time, sorted by code, with their raster."""

    def __init__(self, codes: npt.NDArray[np.object_], geoms: npt.NDArray[np.object_],
                 exclusive: bool, max_side: int) -> None:
        order = np.argsort(codes, kind="stable")
        self.codes = codes[order]
        self.geoms = geoms[order]
        self.exclusive = exclusive
        self.n = len(self.codes)
        shapely.prepare(self.geoms)
        # GEOS builds a prepared polygon's point locator on first use; do it now,
        # once, so concurrent queries from several threads never race on it.
        first = shapely.get_point(shapely.get_exterior_ring(shapely.get_geometry(self.geoms, 0)), 0)
        shapely.intersects_xy(self.geoms, shapely.get_x(first), shapely.get_y(first))
        self.tree = STRtree(self.geoms)
        self._code_or_none = np.append(self.codes, [None, None]).astype(object)
        self.raster: _Raster | None = None
        self.max_side = max_side

    # -- raster -----------------------------------------------------------

    def build_raster(self) -> None:
        if self.raster is not None or self.n == 0:
            return
        x0, y0, x1, y1 = shapely.total_bounds(self.geoms)
        sizes = shapely.bounds(self.geoms)
        typical = float(np.median(np.maximum(sizes[:, 2] - sizes[:, 0],
                                             sizes[:, 3] - sizes[:, 1])))
        span = max(x1 - x0, y1 - y0)
        side = int(np.clip(np.ceil(span / typical * _CELLS_PER_GRID), _MIN_SIDE, self.max_side))
        cell = span / side
        width = int(np.ceil((x1 - x0) / cell)) + 2 * _PAD
        height = int(np.ceil((y1 - y0) / cell)) + 2 * _PAD
        ox, oy = x0 - _PAD * cell, y0 - _PAD * cell
        dtype = np.uint16 if self.n + 2 <= np.iinfo(np.uint16).max else np.int32
        transform = Affine(cell, 0.0, ox, 0.0, cell, oy)
        # Replace-merge in descending code order: where grids overlap, the
        # smallest code is written last and wins (the exclusive tie rule).
        values = features.rasterize(
            zip(_geojson(self.geoms[::-1]), range(self.n - 1, -1, -1), strict=True),
            out_shape=(height, width), transform=transform, fill=self.n, dtype=dtype,
        )
        edge = _edge_mask(self.geoms, ox, oy, 1.0 / cell, width, height)
        if not self.exclusive:
            count = features.rasterize(
                ((g, 1) for g in _geojson(self.geoms)), out_shape=(height, width),
                transform=transform,
                fill=0, dtype=np.uint16, merge_alg=features.MergeAlg.add,
            )
            edge |= count.ravel() > 1
        flat = values.ravel()
        flat[edge] = self.n + 1
        per_side = int(np.clip(np.ceil(span / typical * _BUCKETS_PER_GRID), 1, _MAX_BUCKETS))
        buckets = _Buckets.build(self.tree, (x0, y0, x1, y1), per_side)
        self.raster = _Raster(flat, width, height, ox, oy, 1.0 / cell, 1.0 / cell, buckets)

    # -- queries ------------------------------------------------------------

    def covering_pairs(self, lon: FloatArray, lat: FloatArray, buckets: _Buckets | None = None
                       ) -> tuple[IntArray, IntArray]:
        """Exact (point, grid id) pairs where the grid covers the point (ST_Covers)."""
        if not len(lon) or self.n == 0:
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        if buckets is not None:
            pts, ids = buckets.candidates(lon, lat)
        else:
            pts, ids = self.tree.query(shapely.points(lon, lat))
        # Grouping the pairs by grid keeps each prepared polygon hot in the cache
        # (about 3x faster than the tree's point order).
        order = np.argsort(ids, kind="stable")
        pts, ids = pts[order], ids[order]
        hit = shapely.intersects_xy(self.geoms[ids], lon[pts], lat[pts])
        return pts[hit], ids[hit]

    def min_ids(self, lon: FloatArray, lat: FloatArray, buckets: _Buckets | None = None
                ) -> IntArray:
        """Smallest covering grid id per point (n where none), exactly."""
        result = np.full(len(lon), self.n, dtype=np.intp)
        pts, ids = self.covering_pairs(lon, lat, buckets)
        np.minimum.at(result, pts, ids)
        return result

    def assign(self, lon: FloatArray, lat: FloatArray) -> np.ndarray:
        """Codes (exclusive) or lists of codes per point; the raster is used when built."""
        if self.n == 0:
            return np.full(len(lon), None, dtype=object)
        if not self.exclusive:
            return self._assign_lists(lon, lat)
        raster = self.raster  # read once: another thread may free it
        if raster is None:
            return self._code_or_none.take(self.min_ids(lon, lat))
        ids = raster.lookup(lon, lat)
        edge = np.flatnonzero(ids == self.n + 1)
        if len(edge):
            ids[edge] = self.min_ids(lon[edge], lat[edge], raster.buckets)
        return self._code_or_none.take(ids)

    def assign_areas(self, geoms: npt.NDArray[np.object_]) -> np.ndarray:
        """Per polygon: the grid holding the largest part (exclusive) or all grids sharing area."""
        out = np.full(len(geoms), None, dtype=object)
        if self.n == 0 or not len(geoms):
            return out
        src, ids = self.tree.query(geoms, predicate="intersects")
        area = shapely.area(shapely.intersection(geoms[src], self.geoms[ids]))
        share = area > 0
        src, ids, area = src[share], ids[share], area[share]
        if not len(src):
            return out
        if self.exclusive:
            order = np.lexsort((ids, -area, src))  # largest area first, ties: smallest code
            src, ids = src[order], ids[order]
            first = np.r_[True, src[1:] != src[:-1]]
            out[src[first]] = self.codes[ids[first]]
            return out
        order = np.lexsort((ids, src))
        src, ids = src[order], ids[order]
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
        ends = np.r_[starts[1:], len(src)]
        codes = self.codes[ids].tolist()
        for a, b in zip(starts, ends, strict=True):
            out[src[a]] = sorted(set(codes[a:b]))
        return out

    def _assign_lists(self, lon: FloatArray, lat: FloatArray) -> np.ndarray:
        out = np.full(len(lon), None, dtype=object)
        todo = np.arange(len(lon))
        raster = self.raster
        if raster is not None:
            ids = raster.lookup(lon, lat)
            single = np.flatnonzero(ids < self.n)
            out[single] = [[c] for c in self.codes[ids[single]].tolist()]
            todo = np.flatnonzero(ids == self.n + 1)
        pts, gids = self.covering_pairs(lon[todo], lat[todo],
                                        raster.buckets if raster is not None else None)
        if len(pts):
            order = np.lexsort((gids, pts))
            pts, gids = pts[order], gids[order]
            starts = np.flatnonzero(np.r_[True, pts[1:] != pts[:-1]])
            ends = np.r_[starts[1:], len(pts)]
            codes = self.codes[gids].tolist()
            lists = [sorted(set(codes[a:b])) for a, b in zip(starts, ends, strict=True)]
            holder = np.empty(len(lists), dtype=object)
            holder[:] = lists
            out[todo[pts[starts]]] = holder
        return out


def _geojson(geoms: npt.NDArray[np.object_]) -> list[dict[str, Any]]:
    """GeoJSON-like MultiPolygon dicts, built from coordinate arrays in bulk.

    rasterio reads shapes through ``__geo_interface__``, which walks every
    coordinate in Python; converting all coordinates at once is ~10x faster.
    """
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    # Hundreds of thousands of small lists would trigger many full garbage
    # collections (3-5x the conversion time); none of them can form a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        coords = shapely.get_coordinates(rings).tolist()
    finally:
        if enabled:
            gc.enable()
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    starts = [0, *ends[:-1]]
    polygons: list[list[list[list[float]]]] = [[] for _ in range(len(parts))]
    for part, a, b in zip(ring_part.tolist(), starts, ends, strict=True):
        polygons[part].append(coords[a:b])
    shapes: list[dict[str, Any]] = [{"type": "MultiPolygon", "coordinates": []}
                                    for _ in range(len(geoms))]
    for owner, polygon in zip(part_owner.tolist(), polygons, strict=True):
        shapes[owner]["coordinates"].append(polygon)
    return shapes


def _edge_mask(geoms: npt.NDArray[np.object_], ox: float, oy: float, scale: float,
               width: int, height: int) -> npt.NDArray[np.bool_]:
    """Flat mask of every cell within ``_MARGIN`` cells of any grid boundary."""
    mask = np.zeros(width * height, dtype=bool)
    rings = shapely.get_parts(shapely.boundary(geoms))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    u = (coords[:, 0] - ox) * scale
    v = (coords[:, 1] - oy) * scale
    seg = np.flatnonzero(ring[1:] == ring[:-1])
    chunk = 200_000
    for start in range(0, len(seg), chunk):
        s = seg[start:start + chunk]
        u0, v0 = u[s], v[s]
        du, dv = u[s + 1] - u0, v[s + 1] - v0
        steps = np.ceil(np.maximum(np.abs(du), np.abs(dv)) / _SAMPLE_STEP).astype(np.intp)
        steps = np.maximum(steps, 1)
        counts = steps + 1
        which = np.repeat(np.arange(len(s)), counts)
        k = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        t = k / steps[which]
        su = u0[which] + t * du[which]
        sv = v0[which] + t * dv[which]
        lo_u = np.clip(np.floor(su - _MARGIN), 0, width - 1).astype(np.intp)
        hi_u = np.clip(np.floor(su + _MARGIN), 0, width - 1).astype(np.intp)
        lo_v = np.clip(np.floor(sv - _MARGIN), 0, height - 1).astype(np.intp) * width
        hi_v = np.clip(np.floor(sv + _MARGIN), 0, height - 1).astype(np.intp) * width
        mask[lo_v + lo_u] = True
        mask[lo_v + hi_u] = True
        mask[hi_v + lo_u] = True
        mask[hi_v + hi_u] = True
    return mask


def _to_utc_ns(values: Any, parameter: str) -> IntArray:
    """Datetimes (naive = UTC) to int64 ns; NaT stays NaT (the min int64)."""
    try:
        stamps = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{parameter} must hold datetimes", parameter=parameter) from exc
    return np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)


class GridIndex:
    """In-memory index assigning points to the grids of one or many layers.

    Parameters
    ----------
    grids
        GeoDataFrame of Polygon/MultiPolygon grids in any CRS (reprojected to
        EPSG:4326). Every row is one grid version.
    code
        Column with the grid codes (compared as strings).
    layer
        Column naming each row's layer. When absent, every grid belongs to one
        layer named ``"grid"``.
    valid_from, valid_to
        Columns with the validity period of each version (datetimes; naive
        values are UTC; missing values mean an open end). When absent, every
        version is always valid.
    exclusive
        Whether a layer is exclusive (a partition: one grid per point). A bool
        for every layer or a mapping layer -> bool; default True for every layer.
        A layer named in the mapping that has no grids still gets a column
        (all ``None``).
    max_side
        Largest raster side (cells) per layer snapshot; memory is about
        ``2 * max_side**2`` bytes per layer at most.

    Notes
    -----
    Semantics of :meth:`assign` (one output column per layer):

    * A grid *covers* a point when the point is in its interior or on its
      boundary (PostGIS ``ST_Covers``); a point in a hole is not covered by the
      grid with the hole (but is by a grid filling the hole).
    * Exclusive layer: the code of the covering grid; on a shared edge or
      vertex of several grids (or where grids overlap) the smallest code in
      string order; ``None`` when no grid covers the point.
    * Non-exclusive layer: the sorted list of the codes of every covering
      grid; ``None`` (not an empty list) when no grid covers the point.
    * Time: only versions with ``valid_from <= at < valid_to`` count (open
      ends allowed). ``at=None`` means now (UTC). Each distinct set of valid
      versions is a snapshot; the current one gets its raster when the index
      is built, others when first queried with at least 20,000 points (the two
      most recently used snapshots of a layer keep their raster); smaller
      queries on a snapshot without raster use the exact R-tree path. Both
      paths give identical answers.
    * The index is read-only after construction and safe to share between
      threads; to follow edits of the grids, build a new one and swap it in.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame(
    ...     {"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326
    ... )
    >>> index = GridIndex(grids)
    >>> index.assign([0.5, 1.0, 1.5, 5.0], [0.5, 0.5, 0.5, 5.0])["grid"].tolist()
    ['A', 'A', 'B', None]
    """

    def __init__(
        self,
        grids: gpd.GeoDataFrame,
        code: str = "code",
        layer: str = "layer",
        valid_from: str = "valid_from",
        valid_to: str = "valid_to",
        exclusive: bool | Mapping[str, bool] | None = None,
        max_side: int = _MAX_SIDE,
    ) -> None:
        frame = self._check_grids(grids, code)
        if not isinstance(max_side, int) or max_side < _MIN_SIDE:
            raise InvalidInput(f"max_side must be an int >= {_MIN_SIDE}", parameter="max_side")
        self._codes = frame[code].astype(str).to_numpy(dtype=object)
        self._geoms = np.asarray(frame.geometry.array, dtype=object)
        n = len(frame)
        layers = frame[layer].astype(str).to_numpy(dtype=object) if layer in frame else np.full(
            n, DEFAULT_LAYER, dtype=object)
        self._layer_of = layers
        self.layers: list[str] = list(dict.fromkeys(layers.tolist()))
        self.exclusive = self._check_exclusive(exclusive)
        self._from = (_to_utc_ns(frame[valid_from], valid_from) if valid_from in frame
                      else np.full(n, _OPEN_START, dtype=np.int64))
        self._to = (_to_utc_ns(frame[valid_to], valid_to) if valid_to in frame
                    else np.full(n, _OPEN_START, dtype=np.int64))
        self._to = np.where(self._to == _OPEN_START, _OPEN_END, self._to)  # NaT -> open
        self._rows_of = {name: np.flatnonzero(layers == name) for name in self.layers}
        self.max_side = max_side
        #: (minx, miny, maxx, maxy) of every grid in EPSG:4326 (NaN when there are none)
        self.bounds: Bounds = (
            tuple(float(v) for v in shapely.total_bounds(self._geoms))  # type: ignore[assignment]
            if n else (np.nan,) * 4)
        self._cache: OrderedDict[tuple[str, bytes], _Snapshot] = OrderedDict()
        self._lock = threading.RLock()
        now = time.time_ns()
        for name in self.layers:
            self._snapshot(name, now, build=True)

    # -- construction checks ----------------------------------------------------

    @staticmethod
    def _check_grids(grids: gpd.GeoDataFrame, code: str) -> gpd.GeoDataFrame:
        require_frame(grids, "grids", "polygons")
        require_column(grids, code, "code", "grids")
        if len(grids):
            require_crs(grids, "grids")
        if grids[code].isna().any():
            raise InvalidInput(f"grids column {code!r} has missing codes", parameter="code")
        frame = grids.to_crs(4326) if len(grids) and not grids.crs.equals("EPSG:4326") else grids
        geoms = np.asarray(frame.geometry.array, dtype=object)
        kinds = shapely.get_type_id(geoms)
        bad = ~np.isin(kinds, (3, 6)) | shapely.is_empty(geoms)
        if bad.any():
            raise InvalidGeometry(
                "grids must be non-empty Polygons or MultiPolygons; bad codes: "
                f"{frame[code][bad].astype(str).tolist()[:10]}", parameter="grids")
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            raise InvalidGeometry(
                "grids has invalid geometries (see gis_core.topology.check); codes: "
                f"{frame[code][invalid].astype(str).tolist()[:10]}", parameter="grids")
        return frame

    def _check_exclusive(self, exclusive: bool | Mapping[str, bool] | None) -> dict[str, bool]:
        """Flags per layer; also completes ``self.layers`` (mapping names, default layer)."""
        if exclusive is not None and not isinstance(exclusive, bool | Mapping):
            raise InvalidInput("exclusive must be None, a bool or a mapping layer -> bool",
                               parameter="exclusive")
        flags: dict[str, bool] = {}
        if isinstance(exclusive, Mapping):
            # A layer named here but without grids is kept: every point is outside it.
            flags = {str(name): bool(flag) for name, flag in exclusive.items()}
            self.layers += [name for name in flags if name not in self.layers]
        if not self.layers:
            self.layers = [DEFAULT_LAYER]
        default = exclusive if isinstance(exclusive, bool) else True
        return {name: flags.get(name, default) for name in self.layers}

    # -- snapshots --------------------------------------------------------------

    def _snapshot(self, name: str, at_ns: int, build: bool = False) -> _Snapshot:
        rows = self._rows_of[name]
        mask = (self._from[rows] <= at_ns) & (at_ns < self._to[rows])
        key = (name, np.packbits(mask).tobytes())
        with self._lock:
            snap = self._cache.get(key)
            if snap is None:
                valid = rows[mask]
                snap = _Snapshot(self._codes[valid], self._geoms[valid], self.exclusive[name],
                                 self.max_side)
                self._cache[key] = snap
                while len(self._cache) > _SNAPSHOT_CACHE * max(1, len(self.layers)):
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            if build and snap.raster is None:
                snap.build_raster()
                self._trim_rasters(name, keep=snap)
        return snap

    def _trim_rasters(self, name: str, keep: _Snapshot) -> None:
        """Free the rasters of all but the most recently used snapshots of a layer."""
        with_raster = [s for (layer, _), s in reversed(self._cache.items())
                       if layer == name and s.raster is not None and s is not keep]
        for old in with_raster[_RASTERS_PER_LAYER - 1:]:
            old.raster = None

    # -- public API -------------------------------------------------------------

    def assign(
        self,
        x: ArrayLike,
        y: ArrayLike,
        crs: CRSLike = "EPSG:4326",
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Assign points to the grids of every layer.

        Parameters
        ----------
        x, y
            Coordinates in ``crs`` (x = longitude or easting), 1-D arrays,
            lists or Series of the same length.
        crs
            CRS of the coordinates: any EPSG code or pyproj CRS, or ``"GCJ02"``
            / ``"BD09"``.
        at
            Time of the events (datetime, Timestamp or ISO string; naive = UTC).
            Only grid versions valid at that time count. ``None`` = now.

        Returns
        -------
        pandas.DataFrame
            One object column per layer (see the class notes for the values),
            indexed like ``x`` when it is a Series, else 0..n-1.

        Raises
        ------
        InvalidCoordinates
            NaN or infinite coordinates, or arrays of different lengths.
        UnknownCRS
            ``crs`` is not understood.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["B", "A"]},
        ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
        >>> GridIndex(grids).assign([1.0], [1.0])["grid"].tolist()  # shared vertex
        ['A']
        """
        index = x.index if isinstance(x, pd.Series) else None
        lon, lat = to_wgs84(x, y, crs)
        if lon.ndim != 1:
            raise InvalidCoordinates(f"x and y must be 1-D, got shape {lon.shape}",
                                     parameter="x")
        if index is None:
            index = pd.RangeIndex(len(lon))
        at_ns = self._at_ns(at)
        columns: dict[Hashable, np.ndarray] = {}
        for name in self.layers:
            snap = self._snapshot(name, at_ns, build=len(lon) >= _EXACT_BELOW)
            columns[name] = snap.assign(lon, lat)
        return pd.DataFrame(columns, index=index, dtype=object)

    def covered(
        self,
        x: ArrayLike,
        y: ArrayLike,
        crs: CRSLike = "EPSG:4326",
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Tell which points fall in at least one grid of any layer (the jurisdiction).

        With ``covered(y, x)`` on points that are not covered, this tells
        whether latitude and longitude were probably swapped.

        Parameters
        ----------
        x, y, crs, at
            As in :meth:`assign`.

        Returns
        -------
        numpy.ndarray of bool

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(114, 22, 115, 23)], crs=4326)
        >>> index = GridIndex(grids)
        >>> x, y = [114.5, 22.5], [22.5, 114.5]
        >>> index.covered(x, y).tolist(), index.covered(y, x).tolist()
        ([True, False], [False, True])
        """
        frame = self.assign(x, y, crs=crs, at=at)
        return np.asarray(frame.notna().any(axis=1).to_numpy(dtype=bool))

    def assign_footprints(
        self,
        footprints: gpd.GeoSeries | gpd.GeoDataFrame,
        at: dt.datetime | pd.Timestamp | str | None = None,
    ) -> pd.DataFrame:
        """Assign building footprints (or any polygons) to the grids of every layer.

        A polygon goes to the grid holding the largest part of it (exclusive
        layers; ties: the smallest code) or to the sorted list of every grid
        sharing area with it (non-exclusive layers); ``None`` when it shares no
        area with any grid. Point geometries follow :meth:`assign`. Areas are
        compared in EPSG:4326, which ranks the parts of one footprint like a
        metric CRS would (the scale is the same across a building).

        Parameters
        ----------
        footprints
            GeoSeries or GeoDataFrame with a CRS; Polygon, MultiPolygon or Point.
        at
            Time, as in :meth:`assign`.

        Returns
        -------
        pandas.DataFrame
            One column per layer, indexed like ``footprints``.

        Raises
        ------
        InvalidInput
            ``footprints`` has no CRS or is not a GeoSeries/GeoDataFrame.
        InvalidGeometry
            An empty or non-polygonal, non-point geometry.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
        ...                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)
        >>> house = gpd.GeoSeries([box(0.9, 0.4, 1.3, 0.6)], crs=4326)  # mostly in B
        >>> GridIndex(grids).assign_footprints(house)["grid"].tolist()
        ['B']
        """
        if not isinstance(footprints, gpd.GeoSeries | gpd.GeoDataFrame):
            raise InvalidInput("footprints must be a GeoSeries or GeoDataFrame",
                               parameter="footprints")
        if len(footprints):
            require_crs(footprints, "footprints")
        series = footprints.geometry if isinstance(footprints, gpd.GeoDataFrame) else footprints
        if len(series) and not series.crs.equals("EPSG:4326"):
            series = series.to_crs(4326)
        geoms = np.asarray(series.array, dtype=object)
        kinds = shapely.get_type_id(geoms)
        bad = ~np.isin(kinds, (0, 3, 6)) | shapely.is_empty(geoms)
        if bad.any():
            raise InvalidGeometry("footprints must be non-empty Polygons, MultiPolygons or "
                                  f"Points; bad positions: {np.flatnonzero(bad)[:10].tolist()}",
                                  parameter="footprints")
        point = np.flatnonzero(kinds == 0)
        polygon = np.flatnonzero(kinds != 0)
        at_ns = self._at_ns(at)
        columns: dict[Hashable, np.ndarray] = {}
        for name in self.layers:
            snap = self._snapshot(name, at_ns)
            column = np.full(len(geoms), None, dtype=object)
            if len(point):
                column[point] = snap.assign(shapely.get_x(geoms[point]),
                                            shapely.get_y(geoms[point]))
            column[polygon] = snap.assign_areas(geoms[polygon])
            columns[name] = column
        return pd.DataFrame(columns, index=series.index, dtype=object)

    @staticmethod
    def _at_ns(at: dt.datetime | pd.Timestamp | str | None) -> int:
        if at is None:
            return time.time_ns()
        if not isinstance(at, dt.datetime | str):
            raise InvalidInput("at must be a datetime, a pandas Timestamp, an ISO string or None",
                               parameter="at")
        try:
            stamp = pd.Timestamp(at)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"at={at!r} is not a time; use ISO 8601, e.g. "
                               "'2025-03-01T10:00:00+08:00'", parameter="at") from exc
        if stamp is pd.NaT:
            raise InvalidInput("at must be a valid time", parameter="at")
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int(stamp.as_unit("ns").value)
