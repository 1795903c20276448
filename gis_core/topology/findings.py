"""Topology check of a grid layer: the findings that keep it from being a partition.

See :mod:`gis_core.topology` for the kinds of findings and the tolerances.
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

from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput
from gis_core.topology.parts import POLYGONAL, boundary_in, check_inputs, explode, holes, polygonal
from gis_core.types import GeomArray

__all__ = ["FINDING_COLUMNS", "TopologyReport", "check"]

#: Columns of :attr:`TopologyReport.findings` (plus ``geometry``).
FINDING_COLUMNS = ["kind", "severity", "codes", "area_m2", "detail"]

_ERRORS = ("invalid", "overlap", "gap", "outside")


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



def _rows(kind: str, codes: list[list[str]], geoms: GeomArray, area: Any, detail: list[str]
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


def _invalid_findings(codes: npt.NDArray[np.object_], geoms: GeomArray) -> pd.DataFrame:
    empty = shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), POLYGONAL)
    bad = np.flatnonzero(~shapely.is_valid(geoms) | empty)
    reasons = [("empty or not a polygon" if empty[i] else str(shapely.is_valid_reason(geoms[i])))
               for i in bad]
    where = []
    for i, reason in zip(bad, reasons, strict=True):
        match = _LOCATION.search(reason)
        where.append(shapely.Point(float(match[1]), float(match[2])) if match else geoms[i])
    return _rows("invalid", [[codes[i]] for i in bad], np.array(where, dtype=object),
                 np.zeros(len(bad)), reasons)



@dataclass
class _Layer:
    """Grids in their stored CRS (topology is computed there) and the metric CRS to measure in."""

    codes: npt.NDArray[np.object_]
    geoms: GeomArray  # valid, polygonal, stored CRS
    crs: CRS
    metric: CRS
    min_area: float
    min_width: float
    ignored: int = 0

    def __post_init__(self) -> None:
        self.tree = STRtree(self.geoms)

    def measure(self, geoms: GeomArray) -> tuple[npt.NDArray[np.float64],
                                                  npt.NDArray[np.float64]]:
        """Areas (m2) and perimeters (m) in the metric CRS."""
        if not len(geoms):
            return np.empty(0), np.empty(0)
        metric = np.asarray(gpd.GeoSeries(geoms, crs=self.crs).to_crs(self.metric).array,
                            dtype=object)
        return shapely.area(metric), shapely.length(metric)

    def significant(self, pieces: GeomArray) -> tuple[npt.NDArray[np.bool_],
                                                       npt.NDArray[np.float64]]:
        """Which pieces are above the noise tolerance, and their areas in m2."""
        area, perimeter = self.measure(pieces)
        width = 2 * area / np.maximum(perimeter, 1e-300)
        keep = (area >= self.min_area) & (width >= self.min_width)
        self.ignored += int((~keep & (area > 0)).sum())
        return keep, area

    def neighbours(self, pieces: GeomArray) -> list[list[str]]:
        distance = 1e-7 if self.crs.is_geographic else 1e-2
        idx, grid = self.tree.query(pieces, predicate="dwithin", distance=distance)
        found: list[set[str]] = [set() for _ in range(len(pieces))]
        for i, g in zip(idx.tolist(), grid.tolist(), strict=True):
            found[i].add(self.codes[g])
        return [sorted(s) for s in found]

    def grouped(self, kind: str, pieces: GeomArray, owner: npt.NDArray[np.intp],
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
    pieces, owner = explode(shapely.intersection(layer.geoms[a], layer.geoms[b]))
    codes = [sorted([layer.codes[i], layer.codes[j]]) for i, j in zip(a, b, strict=True)]
    return layer.grouped("overlap", pieces, owner, codes, "grids overlap")


def _gap_findings(layer: _Layer, union: BaseGeometry, boundary: BaseGeometry | None
                  ) -> pd.DataFrame:
    if boundary is not None:
        gaps = shapely.difference(boundary, union)
        detail = "part of the boundary no grid covers"
    else:
        gaps = holes(union)
        detail = "hole in the union of the grids"
    pieces, _ = explode(np.array([gaps], dtype=object))
    keep, area = layer.significant(pieces)
    pieces = pieces[keep]
    return _rows("gap", layer.neighbours(pieces), pieces, area[keep], [detail] * len(pieces))


def _outside_findings(layer: _Layer, boundary: BaseGeometry) -> pd.DataFrame:
    pieces, owner = explode(shapely.difference(layer.geoms, boundary))
    codes = [[c] for c in layer.codes]
    return layer.grouped("outside", pieces, owner, codes, "part of the grid outside the boundary")


def _sliver_findings(layer: _Layer, sliver_area: float, sliver_ratio: float) -> pd.DataFrame:
    parts, owner = explode(layer.geoms)
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
    check_inputs(grids, boundary, code)
    for name, value in (("min_area", min_area), ("min_width", min_width),
                        ("sliver_area", sliver_area), ("sliver_ratio", sliver_ratio)):
        if not np.isfinite(value) or value < 0:
            raise InvalidInput(f"{name} must be a finite number >= 0", parameter=name)
    metric = metric_crs_for(grids) if len(grids) else CRS.from_epsg(4326)
    codes = grids[code].astype(str).to_numpy(dtype=object)
    # Topology is computed on the stored coordinates; only measuring happens in
    # the metric CRS (reprojecting first would pinch near-coincident vertices).
    raw = np.asarray(grids.geometry.array, dtype=object)
    layer = _Layer(codes, polygonal(shapely.make_valid(raw)), grids.crs, metric,
                   min_area, min_width)
    bound = boundary_in(boundary, grids)
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

