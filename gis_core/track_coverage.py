"""Patrol coverage: the share of each grid's road length within a distance of the tracks.

Roads are cut at grid edges and then into pieces of at most ``step`` metres
(:func:`road_pieces`, once per grid layer and day). A piece counts as covered
by a track when its midpoint lies within ``distance`` (20 m) of one of the
track's segments (:func:`gis_core.tracks.segments`; none spans a gap), so the
covered length is exact to within ``step / 2`` at each place where the band
around the track begins or ends along a road. All tracks are queried at once
against one tree of the pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from gis_core.errors import InvalidInput
from gis_core.tracks import ObjectArray, Segments
from gis_core.types import ArrayLike, FloatArray, GeomArray, IntArray

__all__ = ["RoadPieces", "road_coverage", "road_pieces"]


@dataclass(frozen=True)
class RoadPieces:
    """Roads cut into short pieces, each in one grid."""

    grid: ObjectArray
    length: FloatArray
    #: the pieces' midpoints, (n, 2)
    xy: FloatArray
    tree: STRtree

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
    return RoadPieces(names[grid_i[owner[piece_owner]]], length, mid,
                      STRtree(shapely.points(mid)))


def _pieces(lines: GeomArray, step: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Midpoints, lengths and line of the pieces: ``lines`` segmentized to ``step`` m."""
    coords, index = shapely.get_coordinates(shapely.segmentize(lines, step), return_index=True)
    same = index[1:] == index[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    return (a + b) / 2, np.hypot(*(b - a).T), index[:-1][same]


#: segments looked at together (bounds the memory of the candidate pairs)
CHUNK = 100_000


def _near(pieces: RoadPieces, segs: Segments, rows: IntArray, distance: float
          ) -> tuple[IntArray, IntArray]:
    """(segment, piece) pairs of ``rows`` whose piece midpoint is within ``distance``.

    Candidates come from the tree by the segments' boxes grown by ``distance``; the
    exact point-to-segment distance is then computed with numpy.
    """
    ends = shapely.get_coordinates(segs.lines[rows]).reshape(-1, 2, 2)
    a, b = ends[:, 0], ends[:, 1]
    lo, hi = np.minimum(a, b) - distance, np.maximum(a, b) + distance
    cand_s, cand_p = pieces.tree.query(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    p = pieces.xy[cand_p]
    a, ab = a[cand_s], (b - a)[cand_s]
    length2 = np.einsum("ij,ij->i", ab, ab)
    u = np.clip(np.divide(np.einsum("ij,ij->i", p - a, ab), length2,
                          out=np.zeros(len(p)), where=length2 > 0), 0.0, 1.0)
    gap = p - a - u[:, None] * ab
    near = np.einsum("ij,ij->i", gap, gap) <= distance * distance
    return rows[cand_s[near]], cand_p[near]


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
    found = [_near(pieces, segs, rows, distance)
             for rows in np.array_split(np.arange(len(segs.lines)), 1 + len(segs.lines) // CHUNK)]
    seg_i = np.concatenate([f[0] for f in found])
    piece_i = np.concatenate([f[1] for f in found])
    pairs = pd.DataFrame({"group": segs.group[seg_i], "piece": piece_i}).drop_duplicates()
    piece = pairs["piece"].to_numpy()
    covered = pd.DataFrame({"group": pairs["group"].to_numpy(), "grid": pieces.grid[piece],
                            "covered_m": pieces.length[piece]})
    out = covered.groupby(["group", "grid"], sort=True)["covered_m"].sum().reset_index()
    out["road_m"] = out["grid"].map(pieces.road_length()).astype(float)
    out["share"] = out["covered_m"] / out["road_m"]
    return out
