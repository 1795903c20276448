"""Topology QA of an exclusive grid layer: full coverage, no overlap.

:func:`check` lists what keeps a layer from being a clean partition of its
jurisdiction; :func:`repair` fixes gaps and overlaps by documented rules.

Everything is measured in the layer's metric CRS (:func:`gis_core.crs.metric_crs_for`:
the CGCS2000 3-degree Gauss-Kruger zone in China, the UTM zone elsewhere),
picked by the centroid of the layer.

Kinds of findings and their severity:

========== ======== ==================================================================
kind       severity meaning
========== ======== ==================================================================
invalid    error    a geometry is invalid (``detail`` has GEOS' reason) or empty
overlap    error    two grids share area; ``codes`` is the pair
gap        error    part of the jurisdiction no grid covers (with a ``boundary``), or a
                    hole in the union of the grids (without); ``codes`` are the grids
                    around it
outside    error    part of a grid outside the ``boundary``
sliver     warning  a polygon part of a grid smaller than ``sliver_area`` or thinner
                    than ``sliver_ratio`` (Polsby-Popper compactness ``4 pi A / P**2``)
========== ======== ==================================================================

Tolerance: real data carries floating-point noise where neighbours meet (NYC's
community districts, an exact partition, leave holes of ~1e-8 m2 in their
union). A gap, overlap or outside piece is reported only when its area is at
least ``min_area`` (default 1 m2) and its mean width ``2 A / P`` at least
``min_width`` (default 1 cm); smaller pieces are counted in
``summary["ignored_pieces"]``. :attr:`TopologyReport.ok` is True when there are
no errors (slivers are warnings: islands and piers are real).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from gis_core._checks import (
    geometries_in,
    require_column,
    require_crs,
    require_frame,
    same_crs,
)
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidGeometry, InvalidInput

__all__ = ["FINDING_COLUMNS", "TopologyReport", "check", "repair"]

#: Columns of :attr:`TopologyReport.findings` (plus ``geometry``).
FINDING_COLUMNS = ["kind", "severity", "codes", "area_m2", "detail"]

_ERRORS = ("invalid", "overlap", "gap", "outside")
_POLYGONAL = (3, 6)  # shapely type ids of Polygon, MultiPolygon
_GeomArray = npt.NDArray[np.object_]
_FILL_ROUNDS = 3


@dataclass
class TopologyReport:
    """Result of :func:`check`.

    Attributes
    ----------
    findings
        GeoDataFrame with columns kind, severity, codes (list of str),
        area_m2, detail and geometry (in the CRS of the grids).
    summary
        Counts and areas per kind, the metric CRS used, the tolerances,
        ``grid_area_m2``, ``union_area_m2`` and ``overlap_ratio``
        (sum of grid areas / area of their union - 1).
    """

    findings: gpd.GeoDataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the layer has no errors (warnings allowed)."""
        return bool((self.findings["severity"] != "error").all())

    @property
    def errors(self) -> gpd.GeoDataFrame:
        """The findings of severity ``error``."""
        return self.findings[self.findings["severity"] == "error"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _check_inputs(grids: gpd.GeoDataFrame, boundary: Any, code: str) -> None:
    require_frame(grids, "grids", "polygons")
    require_column(grids, code, "code", "grids")
    require_crs(grids, "grids")
    if boundary is not None and not isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries
                                               | BaseGeometry):
        raise InvalidInput("boundary must be None, a GeoDataFrame/GeoSeries or a shapely "
                           f"geometry in the CRS of grids; got {type(boundary).__name__}",
                           parameter="boundary")


def _boundary_in(boundary: Any, grids: gpd.GeoDataFrame) -> BaseGeometry | None:
    """Union of the boundary, in the CRS of the grids (a bare geometry is taken to be in it)."""
    if boundary is None:
        return None
    if isinstance(boundary, BaseGeometry):
        geom = boundary
    else:
        crs = same_crs(grids, "grids", boundary, "boundary")
        geom = shapely.union_all(geometries_in(boundary, crs, "boundary"))
    geom = _polygonal(np.array([shapely.make_valid(geom)], dtype=object))[0]
    if geom.is_empty:
        raise InvalidGeometry("boundary must contain a polygon", parameter="boundary")
    return geom


def _polygonal(geoms: _GeomArray) -> _GeomArray:
    """Keep only the polygonal parts of each geometry (empty polygon when none)."""
    out = np.asarray(geoms, dtype=object).copy()
    mixed = np.flatnonzero(~np.isin(shapely.get_type_id(out), _POLYGONAL))
    for i in mixed:
        parts = shapely.get_parts(out[i])
        polys = parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)]
        out[i] = shapely.union_all(polys) if len(polys) else shapely.Polygon()
    return out


def _rows(kind: str, codes: list[list[str]], geoms: _GeomArray, area: Any, detail: list[str]
          ) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": kind,
        "severity": "error" if kind in _ERRORS else "warning",
        "codes": pd.Series(codes, dtype=object),
        "area_m2": np.asarray(area, dtype=np.float64),
        "detail": detail,
        "geometry": np.asarray(geoms, dtype=object),
    })


_LOCATION = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\]")


def _invalid_findings(codes: npt.NDArray[np.object_], geoms: _GeomArray) -> pd.DataFrame:
    empty = shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    bad = np.flatnonzero(~shapely.is_valid(geoms) | empty)
    reasons = [("empty or not a polygon" if empty[i] else str(shapely.is_valid_reason(geoms[i])))
               for i in bad]
    where = []
    for i, reason in zip(bad, reasons, strict=True):
        match = _LOCATION.search(reason)
        where.append(shapely.Point(float(match[1]), float(match[2])) if match else geoms[i])
    return _rows("invalid", [[codes[i]] for i in bad], np.array(where, dtype=object),
                 np.zeros(len(bad)), reasons)


def _explode(geoms: _GeomArray) -> tuple[_GeomArray, npt.NDArray[np.intp]]:
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


# ---------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------


@dataclass
class _Layer:
    """Grids in their stored CRS (topology is computed there) and the metric CRS to measure in."""

    codes: npt.NDArray[np.object_]
    geoms: _GeomArray  # valid, polygonal, stored CRS
    crs: CRS
    metric: CRS
    min_area: float
    min_width: float
    ignored: int = 0

    def __post_init__(self) -> None:
        self.tree = STRtree(self.geoms)

    def measure(self, geoms: _GeomArray) -> tuple[npt.NDArray[np.float64],
                                                  npt.NDArray[np.float64]]:
        """Areas (m2) and perimeters (m) in the metric CRS."""
        if not len(geoms):
            return np.empty(0), np.empty(0)
        metric = np.asarray(gpd.GeoSeries(geoms, crs=self.crs).to_crs(self.metric).array,
                            dtype=object)
        return shapely.area(metric), shapely.length(metric)

    def significant(self, pieces: _GeomArray) -> tuple[npt.NDArray[np.bool_],
                                                       npt.NDArray[np.float64]]:
        """Which pieces are above the noise tolerance, and their areas in m2."""
        area, perimeter = self.measure(pieces)
        width = 2 * area / np.maximum(perimeter, 1e-300)
        keep = (area >= self.min_area) & (width >= self.min_width)
        self.ignored += int((~keep & (area > 0)).sum())
        return keep, area

    def neighbours(self, pieces: _GeomArray) -> list[list[str]]:
        distance = 1e-7 if self.crs.is_geographic else 1e-2
        idx, grid = self.tree.query(pieces, predicate="dwithin", distance=distance)
        found: list[set[str]] = [set() for _ in range(len(pieces))]
        for i, g in zip(idx.tolist(), grid.tolist(), strict=True):
            found[i].add(self.codes[g])
        return [sorted(s) for s in found]

    def grouped(self, kind: str, pieces: _GeomArray, owner: npt.NDArray[np.intp],
                codes: list[list[str]], detail: str) -> pd.DataFrame:
        """One finding per owner from its significant pieces."""
        keep, _ = self.significant(pieces)
        pieces, owner = pieces[keep], owner[keep]
        owners = np.unique(owner)
        merged = np.array([shapely.union_all(pieces[owner == o]) for o in owners], dtype=object)
        area, _ = self.measure(merged)
        return _rows(kind, [codes[o] for o in owners], merged, area, [detail] * len(owners))


def _overlap_findings(layer: _Layer) -> pd.DataFrame:
    a, b = layer.tree.query(layer.geoms, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    pieces, owner = _explode(shapely.intersection(layer.geoms[a], layer.geoms[b]))
    codes = [sorted([layer.codes[i], layer.codes[j]]) for i, j in zip(a, b, strict=True)]
    return layer.grouped("overlap", pieces, owner, codes, "grids overlap")


def _gap_findings(layer: _Layer, union: BaseGeometry, boundary: BaseGeometry | None
                  ) -> pd.DataFrame:
    if boundary is not None:
        gaps = shapely.difference(boundary, union)
        detail = "part of the boundary no grid covers"
    else:
        gaps = _holes(union)
        detail = "hole in the union of the grids"
    pieces, _ = _explode(np.array([gaps], dtype=object))
    keep, area = layer.significant(pieces)
    pieces = pieces[keep]
    return _rows("gap", layer.neighbours(pieces), pieces, area[keep], [detail] * len(pieces))


def _outside_findings(layer: _Layer, boundary: BaseGeometry) -> pd.DataFrame:
    pieces, owner = _explode(shapely.difference(layer.geoms, boundary))
    codes = [[c] for c in layer.codes]
    return layer.grouped("outside", pieces, owner, codes, "part of the grid outside the boundary")


def _sliver_findings(layer: _Layer, sliver_area: float, sliver_ratio: float) -> pd.DataFrame:
    parts, owner = _explode(layer.geoms)
    area, perimeter = layer.measure(parts)
    compactness = 4 * np.pi * area / np.maximum(perimeter, 1e-300) ** 2
    tiny = area < sliver_area
    thin = compactness < sliver_ratio
    idx = np.flatnonzero(tiny | thin)
    detail = [("tiny" if tiny[i] else "thin") + f" part (compactness {compactness[i]:.4f})"
              for i in idx]
    return _rows("sliver", [[layer.codes[owner[i]]] for i in idx], parts[idx], area[idx], detail)


def check(
    grids: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    code: str = "code",
    min_area: float = 1.0,
    min_width: float = 0.01,
    sliver_area: float = 10.0,
    sliver_ratio: float = 0.01,
) -> TopologyReport:
    """Check that an exclusive grid layer covers its jurisdiction without overlap.

    Parameters
    ----------
    grids
        The grids of one exclusive layer (any CRS).
    boundary
        The jurisdiction (GeoDataFrame/GeoSeries, or a geometry in the CRS of
        ``grids``). Without it, gaps are the holes of the union of the grids
        and nothing is "outside".
    code
        Column with the grid codes.
    min_area, min_width
        Gap/overlap/outside pieces smaller than ``min_area`` m2 or with a mean
        width ``2 A / P`` under ``min_width`` m are noise and not reported.
    sliver_area, sliver_ratio
        A grid part is a sliver (warning) when its area is under
        ``sliver_area`` m2 or its compactness ``4 pi A / P**2`` under ``sliver_ratio``.

    Returns
    -------
    TopologyReport
        ``findings`` (kind, severity, codes, area_m2, detail, geometry) and ``summary``.

    Raises
    ------
    InvalidInput
        Bad parameters (no CRS, missing code column, ...).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[box(114.0, 22.5, 114.01, 22.51), box(114.009, 22.5, 114.02, 22.51)],
    ...     crs=4326)
    >>> report = check(grids)
    >>> report.ok, report.findings[["kind", "codes"]].values.tolist()
    (False, [['overlap', ['A', 'B']]])
    """
    _check_inputs(grids, boundary, code)
    for name, value in (("min_area", min_area), ("min_width", min_width),
                        ("sliver_area", sliver_area), ("sliver_ratio", sliver_ratio)):
        if not np.isfinite(value) or value < 0:
            raise InvalidInput(f"{name} must be a finite number >= 0", parameter=name)
    metric = metric_crs_for(grids) if len(grids) else CRS.from_epsg(4326)
    codes = grids[code].astype(str).to_numpy(dtype=object)
    # Topology is computed on the stored coordinates; only measuring happens in
    # the metric CRS (reprojecting first would pinch near-coincident vertices).
    raw = np.asarray(grids.geometry.array, dtype=object)
    layer = _Layer(codes, _polygonal(shapely.make_valid(raw)), grids.crs, metric,
                   min_area, min_width)
    bound = _boundary_in(boundary, grids)
    union = shapely.union_all(layer.geoms)
    frames = [_invalid_findings(codes, raw), _overlap_findings(layer),
              _gap_findings(layer, union, bound)]
    if bound is not None:
        frames.append(_outside_findings(layer, bound))
    frames.append(_sliver_findings(layer, sliver_area, sliver_ratio))
    table = pd.concat([f for f in frames if len(f)] or [frames[0]], ignore_index=True)
    findings = gpd.GeoDataFrame(table, geometry="geometry", crs=grids.crs)
    grid_area = float(layer.measure(layer.geoms)[0].sum())
    union_area = float(layer.measure(np.array([union], dtype=object))[0].sum())
    summary: dict[str, Any] = {
        "grids": len(grids),
        "metric_crs": metric.to_string(),
        "grid_area_m2": grid_area,
        "union_area_m2": union_area,
        "overlap_ratio": grid_area / union_area - 1 if union_area > 0 else 0.0,
        "ignored_pieces": layer.ignored,
        "tolerance": {"min_area": min_area, "min_width": min_width,
                      "sliver_area": sliver_area, "sliver_ratio": sliver_ratio},
    }
    for kind in (*_ERRORS, "sliver"):
        rows = table[table["kind"] == kind]
        summary[f"{kind}s"] = len(rows)
        summary[f"{kind}_area_m2"] = float(rows["area_m2"].sum())
    summary["ok"] = bool((table["severity"] != "error").all())
    return TopologyReport(findings, summary)


# ---------------------------------------------------------------------------
# repair
# ---------------------------------------------------------------------------


def _remove_overlaps(geoms: _GeomArray, codes: npt.NDArray[np.object_]) -> _GeomArray:
    """Each overlap stays with the grid of the smallest code (the assignment tie rule)."""
    rank = np.empty(len(codes), dtype=np.intp)
    rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))
    a, b = STRtree(geoms).query(geoms, predicate="intersects")
    loser = rank[a] > rank[b]  # a loses the area it shares with the smaller-code b
    a, b = a[loser], b[loser]
    out = geoms.copy()
    for grid in np.unique(a):
        out[grid] = shapely.difference(geoms[grid], shapely.union_all(geoms[b[a == grid]]))
    return _polygonal(out)


def _fill_gaps(geoms: _GeomArray, codes: npt.NDArray[np.object_], gaps: _GeomArray,
               crs: CRS, metric: CRS) -> tuple[_GeomArray, npt.NDArray[np.bool_]]:
    """Give each gap to the neighbour with the longest shared edge (ties: smallest code).

    Returns the new geometries and which gaps found a neighbour.
    """
    eps = 1e-7 if crs.is_geographic else 1e-2
    placed = np.zeros(len(gaps), dtype=bool)
    idx, grid = STRtree(geoms).query(gaps, predicate="dwithin", distance=eps)
    if not len(idx):
        return geoms, placed
    near_gap = shapely.buffer(gaps, eps)  # gaps are small: cheaper than buffering grids
    shared = shapely.intersection(shapely.boundary(geoms[grid]), near_gap[idx])
    length = np.asarray(gpd.GeoSeries(shared, crs=crs).to_crs(metric).length)
    order = np.lexsort((codes[grid].astype(str), -length, idx))
    idx, grid = idx[order], grid[order]
    first = np.r_[True, idx[1:] != idx[:-1]]
    winner_gap, winner = idx[first], grid[first]
    out = geoms.copy()
    for g in np.unique(winner):
        out[g] = shapely.union_all(np.r_[np.array([geoms[g]], dtype=object),
                                         gaps[winner_gap[winner == g]]])
    placed[winner_gap] = True
    return _polygonal(out), placed


def _move_crumbs(geoms: _GeomArray, codes: npt.NDArray[np.object_], crs: CRS, metric: CRS,
                 sliver_area: float) -> _GeomArray:
    """Hand parts under ``sliver_area`` m2 (except a grid's largest) to a neighbour."""
    parts, owner = _explode(geoms)
    if not len(parts):
        return geoms
    area = shapely.area(np.asarray(gpd.GeoSeries(parts, crs=crs).to_crs(metric).array))
    order = np.lexsort((-area, owner))
    largest = np.zeros(len(parts), dtype=bool)
    largest[order[np.r_[True, owner[order][1:] != owner[order][:-1]]]] = True
    crumb = (area < sliver_area) & ~largest
    if not crumb.any():
        return geoms
    out = geoms.copy()
    for grid in np.unique(owner[crumb]):
        out[grid] = shapely.union_all(parts[(owner == grid) & ~crumb])
    out, placed = _fill_gaps(out, codes, parts[crumb], crs, metric)
    for part, grid in zip(parts[crumb][~placed], owner[crumb][~placed], strict=True):
        out[grid] = shapely.union(out[grid], part)  # an island: stays with its grid
    return out


def _gaps(geoms: _GeomArray, bound: BaseGeometry | None) -> _GeomArray:
    """Polygon pieces of the boundary (or of the holes of the union) no grid covers."""
    union = shapely.union_all(geoms)
    if bound is not None:
        gap_geom = shapely.difference(bound, union)
    else:
        gap_geom = _holes(union)
    gaps, _ = _explode(np.array([gap_geom], dtype=object))
    return gaps[shapely.area(gaps) > 0]


def _holes(union: BaseGeometry) -> BaseGeometry:
    rings = [r for p in shapely.get_parts(union) if p.geom_type == "Polygon" for r in p.interiors]
    if not rings:
        return shapely.Polygon()
    return shapely.union_all(shapely.polygons(np.array(rings, dtype=object)))


def repair(
    grids: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | BaseGeometry | None = None,
    code: str = "code",
    sliver_area: float = 10.0,
) -> gpd.GeoDataFrame:
    """Repair an exclusive grid layer into a partition of its jurisdiction.

    Steps, in order: invalid geometries are made valid (polygonal parts kept);
    with a ``boundary``, grids are clipped to it; every overlap stays with the
    grid of the smallest code (the same rule that breaks ties in
    :class:`gis_core.grid_index.GridIndex`) and is cut from the others; parts
    under ``sliver_area`` m2 that are not a grid's largest part (crumbs left
    by the cuts) go to the neighbour with the longest shared edge (islands
    stay); every gap (part of the boundary, or hole of the union, that no grid
    covers) is merged into the neighbouring grid with the longest shared edge
    (ties: the smallest code). Gaps touching no grid stay gaps.

    Parameters
    ----------
    grids
        The grids of one exclusive layer (any CRS).
    boundary
        The jurisdiction, as for :func:`check`.
    code
        Column with the grid codes.
    sliver_area
        Parts smaller than this (m2, in the metric CRS) are handed to a neighbour.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``grids`` with repaired geometries, same CRS and columns.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[box(114.0, 22.5, 114.01, 22.51), box(114.009, 22.5, 114.02, 22.51)],
    ...     crs=4326)
    >>> fixed = repair(grids)
    >>> check(fixed).ok, round(fixed.geometry.iloc[1].bounds[0], 3)
    (True, 114.01)
    """
    _check_inputs(grids, boundary, code)
    out = grids.copy()
    if not len(grids):
        return out
    codes = grids[code].astype(str).to_numpy(dtype=object)
    geoms = _polygonal(shapely.make_valid(np.asarray(grids.geometry.array, dtype=object)))
    bound = _boundary_in(boundary, grids)
    if bound is not None:
        geoms = _polygonal(shapely.intersection(geoms, bound))
    geoms = _remove_overlaps(geoms, codes)
    metric = metric_crs_for(grids)
    geoms = _move_crumbs(geoms, codes, grids.crs, metric, sliver_area)
    for _ in range(_FILL_ROUNDS):  # a second round takes what noise left of thin gaps
        gaps = _gaps(geoms, bound)
        if not len(gaps):
            break
        geoms, _ = _fill_gaps(geoms, codes, gaps, grids.crs, metric)
    out[grids.geometry.name] = gpd.GeoSeries(geoms, index=grids.index, crs=grids.crs)
    return out
