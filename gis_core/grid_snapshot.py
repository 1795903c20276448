"""One validity snapshot of a grid layer: its lookup raster and the exact fallbacks.

The engine room of :class:`gis_core.grid_index.GridIndex`.

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

import gc
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from rasterio import features
from shapely import STRtree

from gis_core.types import Bounds, FloatArray, IntArray

__all__ = ["MAX_SIDE", "MIN_SIDE", "Snapshot"]

#: Largest raster side (cells) by default, and the smallest allowed.
MAX_SIDE = 8192
MIN_SIDE = 64
_SAMPLE_STEP = 0.5  # boundary samples per cell side: every half cell
_MARGIN = 0.27  # cells marked around each sample (>= step / 2 + safety)
_PAD = 2  # outside cells around the layer bounds
_CELLS_PER_GRID = 128  # raster cells across a typical grid
_BUCKETS_PER_GRID = 4  # candidate buckets across a typical grid
_MAX_BUCKETS = 256


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


class Snapshot:
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
        """Build the lookup raster once (nothing for an empty snapshot)."""
        if self.raster is not None or self.n == 0:
            return
        x0, y0, x1, y1 = shapely.total_bounds(self.geoms)
        sizes = shapely.bounds(self.geoms)
        typical = float(np.median(np.maximum(sizes[:, 2] - sizes[:, 0],
                                             sizes[:, 3] - sizes[:, 1])))
        span = max(x1 - x0, y1 - y0)
        side = int(np.clip(np.ceil(span / typical * _CELLS_PER_GRID), MIN_SIDE, self.max_side))
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
