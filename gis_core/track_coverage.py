"""Patrol coverage: the share of each grid's road length within a distance of the tracks.

Roads are cut at grid edges and then into pieces of at most ``step`` metres
(:func:`road_pieces`, once per grid layer and day). A piece counts as covered
by a track when its midpoint lies within ``distance`` (20 m) of one of the
track's segments (:func:`gis_core.tracks.segments`; none spans a gap), so the
covered length is exact to within ``step / 2`` at each place where the band
around the track begins or ends along a road.

All tracks are answered at once (:func:`_covered`): the pieces near each
track are found by squares of a coarse grid, each track's candidates are moved
by an offset of their own into one tree, and the segments ask in rounds, a
piece found covered leaving the tree, so that a worker passing the same place
all day long does not test its pieces again and again. The test itself is the
exact distance from the midpoint to the segment.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from gis_core.errors import InvalidInput
from gis_core.tracks import ObjectArray, Segments, cores, time_in_grids
from gis_core.types import ArrayLike, BoolArray, FloatArray, GeomArray, IntArray

__all__ = ["RoadPieces", "coverage_and_time", "road_coverage", "road_pieces"]


@dataclass(frozen=True)
class RoadPieces:
    """Roads cut into short pieces, each in one grid."""

    grid: ObjectArray
    length: FloatArray
    #: the pieces' midpoints, (n, 2)
    xy: FloatArray

    def road_length(self) -> pd.Series:
        """Road length (m) of each grid that has roads."""
        return pd.Series(self.length).groupby(self.grid).sum()


def road_pieces(roads: GeomArray, grids: GeomArray, codes: ArrayLike,
                step: float = 5.0) -> RoadPieces:
    """Cut ``roads`` (lines, metric CRS) at the edges of ``grids`` and into ``step``-m pieces.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> p = road_pieces(np.array([LineString([(0, 5), (200, 5)])]),
    ...                 np.array([box(0, 0, 100, 10), box(100, 0, 200, 10)]), ["A", "B"])
    >>> p.road_length().to_dict(), len(p.length)
    ({'A': 100.0, 'B': 100.0}, 40)
    """
    if step <= 0:
        raise InvalidInput(f"step must be a positive length in metres, got {step}",
                           parameter="step")
    names = np.asarray(codes, dtype=object)
    road_i, grid_i = STRtree(roads).query(grids, predicate="intersects")[::-1]
    inside = shapely.intersection(roads[road_i], grids[grid_i])
    parts, owner = shapely.get_parts(inside, return_index=True)
    lines = parts[shapely.get_type_id(parts) == 1]
    owner = owner[shapely.get_type_id(parts) == 1]
    mid, length, piece_owner = _pieces(lines, step)
    return RoadPieces(names[grid_i[owner[piece_owner]]], length, mid)


def _pieces(lines: GeomArray, step: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Midpoints, lengths and line of the pieces: ``lines`` segmentized to ``step`` m."""
    coords, index = shapely.get_coordinates(shapely.segmentize(lines, step), return_index=True)
    same = index[1:] == index[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    return (a + b) / 2, np.hypot(*(b - a).T), index[:-1][same]


#: runs of segments asked for their pieces together (bounds the memory of the pairs)
CHUNK = 50_000
#: consecutive segments of a track that ask for their pieces as one box
RUN = 2
#: the rounds: every 16th run of each track, then every 4th of those left, then the rest
ROUNDS = (16, 4, 1)


def _within(p: FloatArray, a: FloatArray, b: FloatArray, distance: float) -> BoolArray:
    """Whether each point ``p`` is within ``distance`` of the segment ``a``-``b`` (rows)."""
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    u = np.clip(np.divide(np.einsum("ij,ij->i", p - a, ab), length2,
                          out=np.zeros(len(p)), where=length2 > 0), 0.0, 1.0)
    gap = p - a - u[:, None] * ab
    near: BoolArray = np.einsum("ij,ij->i", gap, gap) <= distance * distance
    return near


def _expand(first: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``first[i] .. first[i] + count[i]``: (i, value) of every value of each."""
    owner = np.repeat(np.arange(len(count)), count)
    value = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count) + first[owner]
    return owner, value


def _candidates(xy: FloatArray, track: IntArray, lo: FloatArray, hi: FloatArray,
                cell: float) -> tuple[IntArray, IntArray]:
    """Candidate (track, piece) pairs, each once: all pieces near a track's boxes.

    The pairs are those whose piece midpoint ``xy`` lies in a square of ``cell`` m
    that a box ``lo``-``hi`` of the track meets, so every piece inside a box is one.
    """
    origin = np.minimum(xy.min(0), lo.min(0))
    top = np.floor((np.maximum(xy.max(0), hi.max(0)) - origin) / cell).astype(np.int64) + 1
    c0 = np.floor((lo - origin) / cell).astype(np.int64)
    c1 = np.floor((hi - origin) / cell).astype(np.int64)
    nx, ny = c1[:, 0] - c0[:, 0] + 1, c1[:, 1] - c0[:, 1] + 1
    box, k = _expand(np.zeros(len(lo), dtype=np.int64), nx * ny)
    cells = top[0] * top[1]
    key = np.unique(track[box] * cells + (c0[box, 1] + k // nx[box]) * top[0]
                    + c0[box, 0] + k % nx[box])
    pc = np.floor((xy - origin) / cell).astype(np.int64)
    piece_cell = pc[:, 1] * top[0] + pc[:, 0]
    order = np.argsort(piece_cell, kind="stable")
    sorted_cell = piece_cell[order]
    first = np.searchsorted(sorted_cell, key % cells, side="left")
    count = np.searchsorted(sorted_cell, key % cells, side="right") - first
    pair, at = _expand(first, count)
    return key[pair] // cells, order[at]


def _covered(pieces: RoadPieces, track: IntArray, a: FloatArray, b: FloatArray,
             distance: float) -> tuple[IntArray, IntArray]:
    """The (track, piece) pairs, each once, whose piece is within ``distance`` of a segment.

    ``track`` labels each segment ``a``-``b``. Segments are taken in runs of ``RUN``
    consecutive ones of a track, each run asking for the pieces in its box grown by
    ``distance``, and the pieces found are tested exactly against the run's segments
    (the distance to each, in the original coordinates). Every track is moved along
    x by its own offset, wider than all the data, so that one tree of the candidate
    (track, piece) points answers all tracks at once without mixing them. Runs are
    asked in rounds (an evenly spread share of each track's runs first) and a piece
    found covered leaves the tree, so a worker passing the same place again and again
    does not test it again and again.
    """
    if bool((track[1:] < track[:-1]).any()):  # segments() gives them track after track
        perm = np.argsort(track, kind="stable")
        track, a, b = track[perm], a[perm], b[perm]
    rank = np.arange(len(track)) - np.searchsorted(track, track)  # place in the track
    starts = np.flatnonzero(rank % RUN == 0)
    count = np.diff(np.r_[starts, len(track)])
    lo = np.minimum.reduceat(np.minimum(a, b), starts) - distance
    hi = np.maximum.reduceat(np.maximum(a, b), starts) + distance
    run_track, run_rank = track[starts], rank[starts] // RUN
    cand_t, cand_p = _candidates(pieces.xy, run_track, lo, hi, max(3 * distance, 1.0))
    origin = min(float(pieces.xy[:, 0].min()), float(lo[:, 0].min()))
    width = max(float(pieces.xy[:, 0].max()), float(hi[:, 0].max())) - origin + 1.0
    shift = np.arange(int(track[-1]) + 1) * width - origin  # adding it keeps x's order
    points = shapely.points(pieces.xy[cand_p, 0] + shift[cand_t], pieces.xy[cand_p, 1])
    # a line from corner to corner has the box as its envelope, and is made faster
    boxes = shapely.linestrings(np.stack([lo[:, 0] + shift[run_track], lo[:, 1],
                                          hi[:, 0] + shift[run_track], hi[:, 1]], 1
                                         ).reshape(-1, 2, 2))
    left = np.ones(len(cand_t), dtype=bool)
    for k, stride in enumerate(ROUNDS):
        runs = np.flatnonzero((run_rank % stride == 0)
                              & ((k == 0) | (run_rank % ROUNDS[k - 1] != 0)))
        alive = np.flatnonzero(left)
        if not len(runs) or not len(alive):
            continue
        tree = STRtree(points[alive])
        for part in np.array_split(runs, 1 + len(runs) // CHUNK):
            run_i, hit = tree.query(boxes[part])
            pair, seg = _expand(starts[part[run_i]], count[part[run_i]])
            cand = alive[hit[pair]]
            near = _within(pieces.xy[cand_p[cand]], a[seg], b[seg], distance)
            left[cand[near]] = False
    done = np.flatnonzero(~left)
    return cand_t[done], cand_p[done]


def road_coverage(pieces: RoadPieces, segs: Segments, distance: float = 20.0) -> pd.DataFrame:
    """Road length within ``distance`` of each track, per track and grid.

    Columns ``group``, ``grid``, ``covered_m``, ``road_m``, ``share``; one row per
    track and grid it covered some road of. Pass all tracks of a grid as one
    group for the grid's coverage by anyone.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from gis_core.tracks import segments
    >>> p = road_pieces(np.array([LineString([(0, 5), (200, 5)])]),
    ...                 np.array([box(0, 0, 100, 10), box(100, 0, 200, 10)]), ["A", "B"])
    >>> s = segments(["w", "w"], [0, 60], [0, 50], [17, 17])  # 12 m off: 16 m on either side
    >>> road_coverage(p, s).round(2).to_dict("records")
    [{'group': 'w', 'grid': 'A', 'covered_m': 65.0, 'road_m': 100.0, 'share': 0.65}]
    """
    ends = shapely.get_coordinates(segs.lines).reshape(-1, 2, 2)
    track, names = pd.factorize(segs.group)
    if len(track) and len(pieces.xy):
        track_i, piece_i = _covered(pieces, track.astype(np.int64), ends[:, 0], ends[:, 1],
                                    distance)
    else:
        track_i = piece_i = np.zeros(0, dtype=np.int64)
    covered = pd.DataFrame({"group": np.asarray(names, dtype=object)[track_i],
                            "grid": pieces.grid[piece_i], "covered_m": pieces.length[piece_i]})
    out = covered.groupby(["group", "grid"], sort=True)["covered_m"].sum().reset_index()
    out["road_m"] = out["grid"].map(pieces.road_length()).astype(float)
    out["share"] = out["covered_m"] / out["road_m"]
    return out


def coverage_and_time(pieces: RoadPieces, segs: Segments, grids: GeomArray, codes: ArrayLike,
                      distance: float = 20.0, covering: Segments | None = None,
                      threads: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``road_coverage(pieces, covering or segs, distance)`` and ``time_in_grids(segs, ...)``.

    A day's score needs both, and neither needs the other: with two threads or more
    (default: :func:`gis_core.tracks.cores`) they are computed at once, each on a thread
    of its own (shapely and numpy release the GIL for their work). They share only
    ``segs``' lines, which neither changes: the coverage reads their coordinates, the
    time in grids their boxes; the grids are prepared by the time in grids alone.
    ``covering`` regroups the same lines for the coverage (e.g. everyone's as one).

    Examples
    --------
    >>> from shapely import LineString, box
    >>> from gis_core.tracks import segments
    >>> g = np.array([box(0, 0, 100, 10), box(100, 0, 200, 10)])
    >>> p = road_pieces(np.array([LineString([(0, 5), (200, 5)])]), g, ["A", "B"])
    >>> covered, spent = coverage_and_time(p, segments(["w", "w"], [0, 100], [50, 150],
    ...                                                 [5, 5]), g, ["A", "B"])
    >>> covered["covered_m"].tolist(), spent["seconds"].tolist()
    ([70.0, 70.0], [50.0, 50.0])
    """
    covering = segs if covering is None else covering
    if (cores() if threads is None else threads) < 2:
        return road_coverage(pieces, covering, distance), time_in_grids(segs, grids, codes)
    with ThreadPoolExecutor(2, thread_name_prefix="gis_core scores") as pool:
        covered = pool.submit(road_coverage, pieces, covering, distance)
        spent = pool.submit(time_in_grids, segs, grids, codes)
        return covered.result(), spent.result()
