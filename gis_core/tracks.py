"""Patrol tracks in a metric CRS: GPS noise, segments, time in grids, idle periods.

A track is the time-ordered positions of one worker: times ``t`` in seconds,
``x``/``y`` in metres of a projected CRS, and the phone's ``accuracy`` (metres,
the radius of 68 % confidence the browser reports).

The noise rule (:func:`noise_reasons`), applied in time order, one point after
the other, comparing each point with the last point *kept*:

1. ``time``: a time not later than the last kept point's (a repeat) is dropped;
2. ``accuracy``: accuracy worse (larger) than ``max_accuracy_m`` is dropped;
3. ``speed``: reaching it from the last kept point needs more than
   ``max_speed_mps`` (a straight line at constant speed) -- dropped;
4. ``jump``: a spike -- more than ``max_jump_m`` from the last kept point while
   the next point (that passes 1-2) is back within ``max_jump_m`` of the last
   kept point -- dropped.

A dropped point is never the reference of the next one. A track is cut into
*segments* between consecutive kept points; a pause longer than ``max_gap_s``
between two points (no signal, phone off) is a gap: no segment spans it, so
coverage and time in grids never assume the worker walked across it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from gis_core.errors import InvalidInput
from gis_core.types import ArrayLike, BoolArray, FloatArray, GeomArray, IntArray

#: an array of labels of any hashable kind
ObjectArray = GeomArray

__all__ = ["NoiseRule", "Segments", "cores", "idle_periods", "noise_reasons", "segments",
           "time_in_grids"]


def cores() -> int:
    """The processors this process may run on (the default number of threads here)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class NoiseRule:
    """The thresholds of the noise rule (see the module's docstring)."""

    max_accuracy_m: float = 50.0
    #: 12 m/s (43 km/h): an e-bike in town; faster is a bad fix
    max_speed_mps: float = 12.0
    max_jump_m: float = 100.0


def _arrays(t: ArrayLike, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray,
                                                                FloatArray]:
    ta, xa, ya = (np.asarray(v, dtype=np.float64) for v in (t, x, y))
    if not (ta.shape == xa.shape == ya.shape) or ta.ndim != 1:
        raise InvalidInput("t, x and y must be 1-D arrays of the same length", parameter="t")
    if not (np.isfinite(ta).all() and np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise InvalidInput("t, x and y must be finite numbers", parameter="t")
    return ta, xa, ya


def noise_reasons(t: ArrayLike, x: ArrayLike, y: ArrayLike, accuracy: ArrayLike,
                  rule: NoiseRule = NoiseRule(),
                  anchor: tuple[float, float, float] | None = None) -> list[str | None]:
    """Why each point is dropped (None: kept), aligned with the input, by the noise rule.

    Parameters
    ----------
    t, x, y, accuracy
        Times (s, ascending), metric coordinates (m) and accuracies (m).
    rule
        The thresholds.
    anchor
        ``(t, x, y)`` of the last kept point before these (a batch that continues a track).

    Examples
    --------
    >>> noise_reasons([0, 10, 20, 30, 30], [0, 10, 900, 20, 25], [0, 0, 0, 0, 0],
    ...               [5, 5, 5, 80, 5])
    [None, None, 'speed', 'accuracy', None]
    >>> noise_reasons([0, 10, 20], [0, 110, 5], [0, 0, 0], [5, 5, 5])
    [None, 'jump', None]
    """
    ta, xa, ya = _arrays(t, x, y)
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.shape != ta.shape:
        raise InvalidInput("accuracy must have one value per point", parameter="accuracy")
    usable = np.flatnonzero(~(acc > rule.max_accuracy_m))  # NaN accuracy: unknown, kept
    reasons: list[str | None] = ["accuracy"] * len(ta)
    last = anchor
    for k, i in enumerate(usable.tolist()):
        following = int(usable[k + 1]) if k + 1 < len(usable) else None
        reasons[i] = _reason(ta, xa, ya, i, following, last, rule)
        if reasons[i] is None:
            last = (ta[i], xa[i], ya[i])
    return reasons


def _reason(t: FloatArray, x: FloatArray, y: FloatArray, i: int, following: int | None,
            last: tuple[float, float, float] | None, rule: NoiseRule) -> str | None:
    if last is None:
        return None
    lt, lx, ly = last
    if t[i] <= lt:
        return "time"
    far = float(np.hypot(x[i] - lx, y[i] - ly))
    if far > rule.max_speed_mps * (t[i] - lt):
        return "speed"
    if far > rule.max_jump_m and following is not None and \
            float(np.hypot(x[following] - lx, y[following] - ly)) <= rule.max_jump_m:
        return "jump"
    return None


@dataclass(frozen=True)
class Segments:
    """The straight pieces of tracks between consecutive points (none across a gap)."""

    #: LineStrings (a point's repeat gives a degenerate line of length 0)
    lines: GeomArray
    #: the track (worker, shift ...) of each segment, as given in ``group``
    group: ObjectArray
    t0: FloatArray
    t1: FloatArray


def segments(group: ArrayLike, t: ArrayLike, x: ArrayLike, y: ArrayLike,
             max_gap_s: float = 300.0, threads: int | None = None) -> Segments:
    """The segments of one or many tracks (rows sorted by ``group`` then ``t``).

    Making a GEOS line costs about a microsecond, the most of this function's time for
    millions of points; ``threads`` (default: :func:`cores`) make them at once, each a
    share of the segments (shapely releases the GIL).

    Examples
    --------
    >>> s = segments(["a", "a", "a", "b", "b"], [0, 10, 900, 0, 5], [0, 10, 20, 0, 0],
    ...              [0, 0, 0, 0, 5])
    >>> [round(g.length, 1) for g in s.lines], list(s.group)
    ([10.0, 5.0], ['a', 'b'])
    """
    ta, xa, ya = _arrays(t, x, y)
    ga = np.asarray(group, dtype=object)
    if ga.shape != ta.shape:
        raise InvalidInput("group must have one value per point", parameter="group")
    same = ga[1:] == ga[:-1]
    dt = np.diff(ta)
    if bool((same & (dt < 0)).any()):
        raise InvalidInput("t must ascend within each group", parameter="t")
    take = np.flatnonzero(same & (dt <= max_gap_s))
    coords = np.stack([np.stack([xa[take], ya[take]], 1),
                       np.stack([xa[take + 1], ya[take + 1]], 1)], 1)
    lines = _linestrings(coords, cores() if threads is None else threads)
    return Segments(np.asarray(lines, dtype=object), ga[take], ta[take], ta[take + 1])


#: segments below which one thread makes the lines (a thread costs more than it gives)
LINES_PER_THREAD = 100_000


def _linestrings(coords: FloatArray, threads: int) -> GeomArray:
    """Lines of the (n, 2, 2) ``coords``, made by up to ``threads`` threads."""
    if not len(coords):
        return np.empty(0, dtype=object)
    parts = min(max(threads, 1), 1 + len(coords) // LINES_PER_THREAD)
    if parts == 1:
        return np.asarray(shapely.linestrings(coords), dtype=object)
    with ThreadPoolExecutor(parts, thread_name_prefix="gis_core lines") as pool:
        return np.concatenate(list(pool.map(shapely.linestrings, np.array_split(coords, parts))))


def time_in_grids(segs: Segments, grids: GeomArray, codes: ArrayLike) -> pd.DataFrame:
    """Seconds each track spent in each grid.

    A segment's duration is shared among the grids it crosses in proportion to
    its length in each (constant speed), where length along a grid's edge counts
    half (a shared edge: half for each neighbour); a segment of length 0
    (standing still) counts for the grid holding it, the first in ``grids``
    order where it lies on an edge. Columns ``group``, ``grid``, ``seconds``.

    Examples
    --------
    >>> from shapely import box
    >>> s = segments(["w", "w"], [0, 100], [50, 150], [5, 5])
    >>> time_in_grids(s, np.array([box(0, 0, 100, 10), box(100, 0, 200, 10)]), ["A", "B"]
    ...               ).to_dict("records")
    [{'group': 'w', 'grid': 'A', 'seconds': 50.0}, {'group': 'w', 'grid': 'B', 'seconds': 50.0}]
    """
    names = np.asarray(codes, dtype=object)
    shapely.prepare(grids)  # tested many times each; most segments lie inside one grid
    tree = STRtree(grids)
    edges = _edges(grids)
    edge_tree = STRtree(shapely.linestrings(np.stack(edges[:2], 1)))
    track, labels = pd.factorize(segs.group)
    keys, seconds = [], []
    for rows in np.array_split(np.arange(len(segs.lines)), 1 + len(segs.lines) // CHUNK):
        lines = segs.lines[rows]
        ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
        inner, grid_in = _inside_grids(lines, ends, track[rows], tree, edge_tree, edges)
        rest = np.flatnonzero(~np.isin(np.arange(len(rows)), inner))
        seg_i, grid_i, share = _grid_shares(lines[rest], grids, tree, edges)
        seg_i = np.r_[inner, rest[seg_i]]
        keys.append(track[rows[seg_i]].astype(np.int64) * len(grids) + np.r_[grid_in, grid_i])
        seconds.append((segs.t1 - segs.t0)[rows[seg_i]] * np.r_[np.ones(len(inner)), share])
    key, at = np.unique(np.concatenate(keys), return_inverse=True)
    total = np.bincount(at, weights=np.concatenate(seconds), minlength=len(key))
    frame = pd.DataFrame({"group": np.asarray(labels, dtype=object)[key // len(grids)],
                          "grid": names[key % len(grids)], "seconds": total})
    return _summed(frame, "seconds")


def _inside_grids(lines: GeomArray, ends: FloatArray, track: IntArray, tree: STRtree,
                  edge_tree: STRtree, edges: tuple[FloatArray, FloatArray, IntArray, IntArray]
                  ) -> tuple[IntArray, IntArray]:
    """(segment, grid) of the segments that meet no grid's edge: all their time is there.

    Such a segment lies inside the same grids from end to end, so a run of them,
    one after the other along a track, lies inside the grids holding the run's first
    point: one point-in-polygon test per run. A run whose first point no grid holds
    strictly inside is left out (outside every grid, or an edge missed by rounding):
    the caller measures its segments exactly. Standing still, the first grid counts.
    """
    a, b = ends[:, 0], ends[:, 1]
    seg_i, edge_i = edge_tree.query(lines)  # boxes that meet
    ea, eb = edges[0][edge_i], edges[1][edge_i]
    pa, pb = a[seg_i], b[seg_i]
    o1, o2 = _cross(pb - pa, ea - pa), _cross(pb - pa, eb - pa)
    o3, o4 = _cross(eb - ea, pa - ea), _cross(eb - ea, pb - ea)
    # boxes that meet and ends on both sides, or on the line, of each other: they meet
    meets = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    free = np.ones(len(a), dtype=bool)
    free[seg_i[meets]] = False
    # runs: free segments one after the other, each starting where the last ended
    follows = np.r_[False, free[1:] & free[:-1] & (track[1:] == track[:-1])
                    & (a[1:] == b[:-1]).all(1)]
    starts = np.flatnonzero(free & ~follows)
    run = np.cumsum(free & ~follows) - 1
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    start_i, grid_i = tree.query(shapely.points(a[starts]), predicate="within")
    held = np.zeros(len(starts), dtype=bool)
    held[start_i] = True
    segs = np.flatnonzero(free & held[np.maximum(run, 0)])
    # every grid holding the run's start, for every segment of the run
    order = np.argsort(start_i, kind="stable")
    start_i, grid_i = start_i[order], grid_i[order]
    first = np.searchsorted(start_i, run[segs])
    count = np.searchsorted(start_i, run[segs], side="right") - first
    owner, at = _expand(first, count)
    seg_out, grid_out = segs[owner], grid_i[at]
    still = (a[seg_out] == b[seg_out]).all(1)
    keep = ~still | _first_holder(seg_out, np.ones(len(seg_out), dtype=bool))
    return seg_out[keep], grid_out[keep]


#: segments looked at together (bounds the memory of their pairs with grids)
CHUNK = 250_000


def _grid_shares(lines: GeomArray, grids: GeomArray, tree: STRtree,
                 edges: tuple[FloatArray, FloatArray, IntArray, IntArray]
                 ) -> tuple[IntArray, IntArray, FloatArray]:
    """(line, grid, share of the line's time) of every line and grid it meets."""
    seg_i, grid_i = tree.query(lines)  # by their boxes: cheap candidates
    meets = shapely.intersects(grids[grid_i], lines[seg_i])
    seg_i, grid_i = seg_i[meets], grid_i[meets]
    lines, polygons = lines[seg_i], grids[grid_i]
    full = shapely.length(lines)
    share = np.ones(len(seg_i))
    cut = np.flatnonzero(~shapely.contains_properly(polygons, lines))
    ends = shapely.get_coordinates(lines[cut]).reshape(-1, 2, 2)
    edge_a, edge_b, first, count = edges
    share[cut] = _shares(ends[:, 0], ends[:, 1], polygons[cut], first[grid_i[cut]],
                         count[grid_i[cut]], edge_a, edge_b)
    still = _first_holder(seg_i, full == 0)
    share[still] = 1.0
    return seg_i, grid_i, share


def _edges(grids: GeomArray) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
    """The edges of the grids' rings: starts, ends, and each grid's first edge and count."""
    rings, owner = shapely.get_parts(shapely.boundary(grids), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    keep = np.flatnonzero(ring[1:] == ring[:-1])
    count = np.bincount(owner[ring[keep]], minlength=len(grids))
    return xy[keep], xy[keep + 1], np.cumsum(count) - count, count


def _shares(a: FloatArray, b: FloatArray, polygons: GeomArray, first: IntArray,
            count: IntArray, edge_a: FloatArray, edge_b: FloatArray) -> FloatArray:
    """The share of each segment ``a``-``b`` in its polygon, along its edge counted half.

    The segment is cut where it meets the polygon's edges (``first`` and ``count``
    of them from ``edge_a``-``edge_b``); each piece between two cuts is inside, outside
    or along an edge (collinear with one) as a whole, told by its middle.
    """
    pair, edge = _expand(first, count)
    r, s = (b - a)[pair], (edge_b - edge_a)[edge]
    q = edge_a[edge] - a[pair]
    denom = _cross(r, s)
    # segments that cross: the fraction along the segment where they meet
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = _cross(q, s) / denom, _cross(q, r) / denom
    cross = (denom != 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    # collinear ones: the fractions of the edge's ends, clipped to the segment
    length2 = np.einsum("ij,ij->i", r, r)
    along = (denom == 0) & (_cross(q, r) == 0) & (length2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        uc = np.einsum("ij,ij->i", q, r) / length2
        ud = np.einsum("ij,ij->i", (edge_b[edge] - a[pair]), r) / length2
    lo, hi = np.clip(np.minimum(uc, ud), 0, 1), np.clip(np.maximum(uc, ud), 0, 1)
    along &= hi > lo
    n = len(a)
    cut_pair = np.concatenate([np.arange(n), np.arange(n), pair[cross], pair[along],
                               pair[along]])
    cut_u = np.concatenate([np.zeros(n), np.ones(n), u[cross], lo[along], hi[along]])
    order = np.lexsort((cut_u, cut_pair))
    cut_pair, cut_u = cut_pair[order], cut_u[order]
    piece = np.flatnonzero((cut_pair[1:] == cut_pair[:-1]) & (cut_u[1:] > cut_u[:-1]))
    owner, size = cut_pair[piece], cut_u[piece + 1] - cut_u[piece]
    mid = (cut_u[piece] + cut_u[piece + 1]) / 2
    on_edge = np.zeros(len(piece), dtype=bool)
    if along.any():  # the few pieces of segments along an edge: within one of its stretches
        stretch = pd.DataFrame({"owner": pair[along], "lo": lo[along], "hi": hi[along]})
        pieces = pd.DataFrame({"owner": owner, "mid": mid, "row": np.arange(len(piece))})
        both = pieces[np.isin(owner, stretch["owner"])].merge(stretch, on="owner")
        on_edge[both.loc[(both["lo"] < both["mid"]) & (both["mid"] < both["hi"]), "row"]] = True
    xy = a[owner] + mid[:, None] * (b - a)[owner]
    inside = ~on_edge
    inside[inside] = shapely.contains_xy(polygons[owner[inside]], xy[inside, 0], xy[inside, 1])
    weight = np.where(on_edge, 0.5, inside.astype(np.float64))
    out: FloatArray = np.asarray(np.bincount(owner, weights=size * weight, minlength=n),
                                 dtype=np.float64)
    out[np.einsum("ij,ij->i", b - a, b - a) == 0] = 0.0  # standing still: see _first_holder
    return out


def _cross(p: FloatArray, q: FloatArray) -> FloatArray:
    out: FloatArray = p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]
    return out


def _expand(first: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``first[i] .. first[i] + count[i]``: (i, value) of every value of each."""
    owner = np.repeat(np.arange(len(count)), count)
    value = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count) + first[owner]
    return owner, value


def _first_holder(seg_i: IntArray, still: BoolArray) -> BoolArray:
    """Rows of standing-still segments that count: the first grid found for each segment."""
    first = np.zeros(len(seg_i), dtype=bool)
    if len(seg_i):
        order = np.argsort(seg_i, kind="stable")
        starts = np.r_[True, seg_i[order][1:] != seg_i[order][:-1]]
        first[order[starts]] = True
    return still & first


def _summed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    out = frame.groupby(["group", "grid"], sort=True)[column].sum().reset_index()
    return out[out[column] > 0].reset_index(drop=True)


def idle_periods(t: ArrayLike, x: ArrayLike, y: ArrayLike, radius_m: float = 30.0,
                 min_seconds: float = 600.0) -> pd.DataFrame:
    """Periods of one track in which the worker stayed within ``radius_m`` of where they began.

    A period starts at a point and runs while the following points stay within
    ``radius_m`` of it; it counts when it lasts at least ``min_seconds``. The
    next period is looked for from the first point that left. Columns
    ``start``, ``end``, ``seconds``, ``x``, ``y`` (the period's first point).

    Examples
    --------
    >>> idle_periods([0, 300, 700, 800], [0, 5, 10, 500], [0, 0, 0, 0]).to_dict("records")
    [{'start': 0.0, 'end': 700.0, 'seconds': 700.0, 'x': 0.0, 'y': 0.0}]
    """
    ta, xa, ya = _arrays(t, x, y)
    rows: list[tuple[float, float, float, float, float]] = []
    i, n = 0, len(ta)
    while i < n:
        stop = _leaves(xa, ya, i, radius_m)
        if ta[stop - 1] - ta[i] >= min_seconds:
            rows.append((ta[i], ta[stop - 1], ta[stop - 1] - ta[i], xa[i], ya[i]))
            i = stop
        else:
            i += 1
    return pd.DataFrame(rows, columns=["start", "end", "seconds", "x", "y"])


def _leaves(x: FloatArray, y: FloatArray, i: int, radius_m: float) -> int:
    """The first point after ``i`` farther than ``radius_m`` from it (len(x): none)."""
    width = 32
    while True:  # windows that double: the cost follows the period's length, not the track's
        end = min(len(x), i + width)
        away = np.hypot(x[i:end] - x[i], y[i:end] - y[i]) > radius_m
        if away.any():
            return i + int(np.argmax(away))
        if end == len(x):
            return end
        width *= 2
