"""Where new cameras help most: a Maximal Covering Location Problem over visibility.

Model
-----
* **Options.** Every candidate site is either a dome seeing all around
  (``headings=None``, the default) or, with ``headings=[...]``, one fixed
  camera per heading with ``hfov`` (each heading is a separate option; two
  headings at one site may both be chosen, i.e. two cameras on one pole).
  Every option has ``range_m`` and ``mount_height``.
* **Coverage matrix.** Option ``i`` covers demand point ``j`` when ``j`` lies
  in the option's visible ground: within range and angle, and not hidden by
  buildings under the 2.5D model of :mod:`gis_core.coverage`.
* **Demand.** Given points with a ``weight`` column (e.g. events weighted by
  category), or, when ``demand`` is None, a regular lattice of points every
  ``sample_spacing_m`` metres inside ``area``, each weighing its cell's area in
  m^2 (so gains read as square metres of newly covered ground). Demand already
  inside ``existing_visible`` (ground seen by existing cameras) is dropped: it
  counts zero.
* **Solver.** The MCLP of ``spopt.locate.MCLP`` (maximise the covered weight
  with exactly ``k`` options), built from the sparse coverage matrix and solved
  with PuLP's bundled CBC binary (no network).
* **Gains.** MCLP returns a set, not an order. The chosen options are ordered
  greedily: first the one covering the most weight, then the one adding the
  most weight not yet covered, and so on; ``gain`` is that marginal weight, so
  the gains add up to the optimum and are non-increasing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pulp
import shapely
from pyproj import CRS
from scipy import sparse

from gis_core._checks import (
    geometries_in,
    require_frame,
    require_points,
    same_crs,
)
from gis_core.coverage import visible_pairs, visible_polygons
from gis_core.crs import metric_crs_of
from gis_core.errors import InvalidInput
from gis_core.types import FloatArray

__all__ = ["coverage_matrix", "recommend_cameras", "sample_area"]


def _options(
    candidates: gpd.GeoDataFrame,
    headings: Sequence[float] | None,
    hfov: float,
    range_m: float,
    mount_height: float,
) -> gpd.GeoDataFrame:
    n = len(candidates)
    if headings is None:
        site = np.arange(n)
        head = np.full(n, np.nan)
        kind, fov = "dome", 360.0
    else:
        hs = np.asarray(list(headings), dtype=float)
        if hs.size == 0 or not np.isfinite(hs).all():
            raise InvalidInput("headings must be a non-empty list of degrees", parameter="headings")
        site = np.repeat(np.arange(n), hs.size)
        head = np.tile(hs, n)
        kind, fov = "fixed", hfov
    return gpd.GeoDataFrame(
        {
            "site": site,
            "heading": np.nan_to_num(head),
            "option_heading": head,
            "hfov": fov,
            "range_m": range_m,
            "mount_height": mount_height,
            "kind": kind,
        },
        geometry=candidates.geometry.values[site],
        crs=candidates.crs,
    )


def sample_area(
    area: gpd.GeoSeries | gpd.GeoDataFrame, spacing_m: float, crs: Any = None
) -> gpd.GeoDataFrame:
    """Lattice points every ``spacing_m`` metres inside ``area``, weighing ``spacing_m ** 2``.

    Parameters
    ----------
    area
        Polygons to sample.
    spacing_m
        Lattice spacing (m).
    crs
        Metric CRS (default: the area's own if projected, else its Gauss-Kruger zone).

    Returns
    -------
    geopandas.GeoDataFrame
        Points (in the area's CRS) with a ``weight`` column in m^2.

    Examples
    --------
    >>> sq = gpd.GeoSeries([shapely.box(0, 0, 100, 100)], crs=4547)
    >>> pts = sample_area(sq, 10)
    >>> len(pts), float(pts["weight"].sum())
    (100, 10000.0)
    """
    if not spacing_m > 0:
        raise InvalidInput("sample_spacing_m must be > 0", parameter="sample_spacing_m")
    metric = metric_crs_of(area, "area", crs)
    geoms = geometries_in(area, metric, "area")
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    xs = np.arange(minx + spacing_m / 2, maxx, spacing_m)
    ys = np.arange(miny + spacing_m / 2, maxy, spacing_m)
    if xs.size * ys.size > 2_000_000:
        raise InvalidInput(
            "sample_spacing_m gives over 2 million points", parameter="sample_spacing_m"
        )
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    hit, _ = shapely.STRtree(geoms).query(pts, predicate="intersects")
    pts = pts[np.unique(hit)]
    out = gpd.GeoDataFrame(
        {"weight": np.full(len(pts), float(spacing_m) ** 2)}, geometry=pts, crs=metric
    )
    return out if CRS(area.crs).equals(metric) else out.to_crs(area.crs)


def coverage_matrix(
    visible: gpd.GeoSeries, demand: gpd.GeoSeries | gpd.GeoDataFrame
) -> sparse.csr_matrix:
    """Boolean ``(demand, options)`` matrix: demand point ``j`` inside visible polygon ``i``.

    Parameters
    ----------
    visible
        Visible ground per option.
    demand
        Demand points, same CRS.

    Returns
    -------
    scipy.sparse.csr_matrix

    Examples
    --------
    >>> v = gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs=4547)
    >>> d = gpd.GeoSeries(shapely.points([(0.5, 0.5), (2, 2)]), crs=4547)
    >>> coverage_matrix(v, d).toarray().astype(int).tolist()
    [[1], [0]]
    """
    same_crs(visible, "visible", demand, "demand")
    geoms = np.asarray(visible.values, dtype=object)
    pts = np.asarray(demand.geometry.values, dtype=object)
    tree = shapely.STRtree(pts)
    opt, dem = tree.query(geoms, predicate="intersects")
    data = np.ones(opt.size, dtype=bool)
    return sparse.csr_matrix((data, (dem, opt)), shape=(len(pts), len(geoms)))


def _greedy_order(
    cover: sparse.csc_matrix, weights: FloatArray, chosen: list[int]
) -> tuple[list[int], list[float]]:
    covered = np.zeros(cover.shape[0], dtype=bool)
    order, gains = [], []
    left = list(chosen)
    while left:
        g = [float(weights[cover[:, i].indices[~covered[cover[:, i].indices]]].sum()) for i in left]
        best = int(np.argmax(g))
        i = left.pop(best)
        order.append(i)
        gains.append(g[best])
        covered[cover[:, i].indices] = True
    return order, gains


def _solve_mclp(cover: sparse.csr_matrix, weights: FloatArray, k: int) -> list[int]:
    """The ``k`` options (columns) covering the most weight of the demand (rows).

    The model of ReVelle and Church (1974), as ``spopt.locate.MCLP`` states it,
    built from the sparse matrix: one term per covering pair, so its size grows
    with the pairs, not with demand points x options. ``y_i`` (demand ``i``
    covered) may be continuous: with binary ``x`` an optimum has it 0 or 1.
    Ties go to the options listed first: each option costs a penalty growing
    with its index, all penalties together less than 1/1000 of the smallest
    weight, so only weights closer than that can be taken as equal.
    """
    useful = np.asarray(cover.sum(axis=1)).ravel() > 0
    useful &= weights > 0
    sub = sparse.csr_matrix(cover[useful])
    if sub.shape[0] == 0:
        return list(range(k))
    model = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [model.add_variable(f"x{j}", cat=pulp.LpBinary) for j in range(sub.shape[1])]
    y = [model.add_variable(f"y{i}", 0, 1) for i in range(sub.shape[0])]
    w = weights[useful]
    n = sub.shape[1]
    penalty = 1e-3 * float(w.min()) / (k * n)  # options listed first win ties
    model += pulp.LpAffineExpression(
        [*zip(y, w.tolist(), strict=True), *((v, -penalty * (j + 1) / n) for j, v in enumerate(x))])
    model += pulp.LpAffineExpression((v, 1) for v in x) == k
    for i in range(sub.shape[0]):
        cols = sub.indices[sub.indptr[i]:sub.indptr[i + 1]]
        model += pulp.LpAffineExpression([(x[j], 1) for j in cols] + [(y[i], -1)]) >= 0
    with warnings.catch_warnings():
        # PuLP 3.x announces API changes for 4.0; the bundled CBC still works offline
        warnings.simplefilter("ignore", DeprecationWarning)
        model.solve(pulp.PULP_CBC_CMD(msg=False))
    return [j for j, v in enumerate(x) if v.value() is not None and v.value() > 0.5]


def _demand_points(
    demand: gpd.GeoDataFrame | None, area: Any, weight: str, spacing: float, crs: Any
) -> gpd.GeoDataFrame:
    if demand is None:
        if area is None:
            raise InvalidInput("give demand points or an area to sample", parameter="demand")
        return sample_area(area, spacing, crs)
    require_frame(demand, "demand", "points")
    require_points(demand.geometry, "demand")
    w = demand[weight].to_numpy(float) if weight in demand else np.ones(len(demand))
    if not (np.isfinite(w) & (w >= 0)).all():
        raise InvalidInput(f"demand column {weight!r} must be finite and >= 0", parameter="weight")
    return gpd.GeoDataFrame({"weight": w}, geometry=demand.geometry.values, crs=demand.crs)


def recommend_cameras(
    candidates: gpd.GeoDataFrame,
    k: int,
    demand: gpd.GeoDataFrame | None = None,
    existing_visible: gpd.GeoSeries | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    weight: str = "weight",
    area: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    sample_spacing_m: float = 10.0,
    headings: Sequence[float] | None = None,
    hfov: float = 90.0,
    range_m: float = 50.0,
    mount_height: float = 6.0,
    height: str = "height",
    default_height: float = 10.0,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Recommend ``k`` new camera sites that cover the most uncovered demand.

    Parameters
    ----------
    candidates
        Candidate sites (points): road intersections, building corners, poles.
    k
        Number of new cameras (1 <= k <= number of options).
    demand
        Demand points with a ``weight`` column (default weight 1), or None to
        sample ``area``.
    existing_visible
        Ground already seen by existing cameras; demand there counts zero.
    buildings
        Footprints (with ``height``) that occlude the candidates' views.
    weight
        Name of the demand weight column.
    area
        Polygons whose uncovered ground is the demand when ``demand`` is None.
    sample_spacing_m
        Lattice spacing for ``area`` sampling (m).
    headings
        None: each candidate is a 360-degree dome; else one option per heading.
    hfov, range_m, mount_height
        Field of view (for headings), range and mount height of a new camera.
    height, default_height
        Building height column and the height of buildings without one.
    crs
        Metric CRS (default: see :mod:`gis_core.coverage`). Every layer must be in
        the CRS of ``candidates``.

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen options in greedy order: ``rank`` (1..k), ``candidate``
        (index label in ``candidates``), ``heading`` (NaN for a dome), ``gain``
        (newly covered weight), ``cumulative_gain``, ``cumulative_share`` (of
        the uncovered demand weight), the point, and ``visible`` (its visible
        ground). ``attrs`` holds ``demand_weight`` and ``existing_weight``.

    Examples
    --------
    >>> cand = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.0, 500.0], [0.0, 0.0]),
    ...                         crs=4547, index=["west", "east"])
    >>> dem = gpd.GeoDataFrame({"weight": [1.0, 1.0, 5.0]}, crs=4547,
    ...                        geometry=gpd.points_from_xy([10.0, -10.0, 510.0], [0, 0, 0]))
    >>> recommend_cameras(cand, 1, dem)["candidate"].tolist()
    ['east']
    """
    if not isinstance(candidates, gpd.GeoDataFrame) or len(candidates) == 0:
        raise InvalidInput(
            "candidates must be a non-empty GeoDataFrame of points", parameter="candidates"
        )
    if not bool((candidates.geom_type == "Point").all()):
        raise InvalidInput("candidates must have Point geometries", parameter="candidates")
    opts = _options(candidates, headings, hfov, range_m, mount_height)
    if not isinstance(k, int | np.integer) or not 1 <= int(k) <= len(opts):
        raise InvalidInput(f"k must be an integer in 1..{len(opts)}", parameter="k")
    metric = metric_crs_of(candidates, "candidates", crs)
    for layer, name in ((demand, "demand"), (area, "area"), (existing_visible, "existing_visible"),
                        (buildings, "buildings")):
        if layer is not None:
            same_crs(candidates, "candidates", layer, name)
    if buildings is not None and len(buildings):
        buildings = buildings.to_crs(metric)
    pts = _demand_points(demand, area, weight, sample_spacing_m, metric)
    pts = pts.to_crs(metric) if not CRS(pts.crs).equals(metric) else pts
    w = pts["weight"].to_numpy(float)
    existing_weight = 0.0
    if existing_visible is not None and len(existing_visible):
        seen = np.zeros(len(pts), dtype=bool)
        hit, _ = shapely.STRtree(geometries_in(existing_visible, metric, "existing_visible")).query(
            pts.geometry.values, predicate="intersects"
        )
        seen[hit] = True
        existing_weight = float(w[seen].sum())
        w = np.where(seen, 0.0, w)
    seer, seen_pt = visible_pairs(opts.to_crs(metric), buildings, pts.geometry, height,
                                  default_height, crs=metric)
    cover = sparse.csr_matrix((np.ones(seer.size, dtype=bool), (seen_pt, seer)),
                              shape=(len(pts), len(opts)))
    chosen = _solve_mclp(cover, w, int(k))
    order, gains = _greedy_order(cover.tocsc(), w, chosen)
    total = float(w.sum())
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "candidate": candidates.index.to_numpy()[opts["site"].to_numpy()[order]],
            "heading": opts["option_heading"].to_numpy()[order],
            "gain": gains,
        },
        geometry=opts.geometry.values[order],
        crs=candidates.crs,
    )
    out["cumulative_gain"] = np.cumsum(gains)
    out["cumulative_share"] = out["cumulative_gain"] / total if total > 0 else 0.0
    # the ground each chosen option sees (polygons only for these few)
    vis = visible_polygons(opts.iloc[order].to_crs(metric), buildings, height, default_height,
                           crs=metric)
    out["visible"] = gpd.GeoSeries(vis.values, crs=metric).to_crs(candidates.crs).values
    out.attrs.update(demand_weight=total, existing_weight=existing_weight)
    return out.set_geometry("geometry")
