"""Emerging hot spots: Gi* over a space-time cube of events, then each location's pattern.

The cube, its space-time weights and z-scores are here; the trend test and the
classification into ArcGIS Pro's 17 patterns are :mod:`gis_core.hotspots.patterns`
(re-exported here and from the package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
from scipy import sparse

from gis_core._checks import require_column
from gis_core.errors import InvalidInput
from gis_core.hotspots.aggregation import select_events
from gis_core.hotspots.cells import cell_polygons, lonlat, points_to_cells
from gis_core.hotspots.gistar import gi_star_population
from gis_core.hotspots.patterns import PATTERNS, classify_pattern, emerging_patterns, mann_kendall
from gis_core.hotspots.weights import h3_contiguity, with_self_weights
from gis_core.types import FloatArray

__all__ = [
    "PATTERNS",
    "classify_pattern",
    "emerging_hotspots",
    "emerging_hotspots_cube",
    "mann_kendall",
]


def _space_time_sum(x: FloatArray, w: sparse.csr_matrix, lag: int) -> FloatArray:
    spatial = np.asarray(w @ x)
    if lag == 0:
        return spatial
    c = np.cumsum(np.pad(spatial, ((0, 0), (1, 0))), axis=1)
    t = np.arange(x.shape[1])
    lo = np.maximum(t - lag, 0)
    return np.asarray(c[:, t + 1] - c[:, lo])


def emerging_hotspots_cube(
    cube: FloatArray,
    weights: Any,
    neighborhood_time_step: int = 1,
    alpha: float = 0.05,
    fdr: bool = True,
    trend_alpha: float = 0.05,
) -> pd.DataFrame:
    """Emerging hot spot analysis of a ready space-time cube.

    Parameters
    ----------
    cube
        ``(locations, steps)`` counts, oldest step first.
    weights
        Binary spatial weights between locations (sparse or libpysal ``W``);
        self-weights are added.
    neighborhood_time_step
        Number of *previous* steps whose bins (of the location and its
        neighbours) join a bin's neighbourhood, as ArcGIS; 0 = space only.
    alpha, fdr
        Level for significant hot/cold bins; FDR (Benjamini-Hochberg) over all
        bins of the cube.
    trend_alpha
        Level of the Mann-Kendall trend.

    Returns
    -------
    pandas.DataFrame
        Per location: ``pattern``, ``trend_z``, ``trend_p``, ``n_hot``,
        ``n_cold``, ``final_z``.

    Notes
    -----
    Gi* is computed over the whole cube as ArcGIS does: the mean and standard
    deviation are those of all bins, and a bin's neighbourhood is the bins of
    the location and its spatial neighbours at the same and the previous
    ``neighborhood_time_step`` steps (fewer at the start of the series).

    Examples
    --------
    >>> w = h3_contiguity(sorted(h3.grid_disk(h3.latlng_to_cell(31.2, 121.5, 8), 2)))
    >>> cube = np.ones((w.shape[0], 10))
    >>> cube[:7, -1] = 30
    >>> emerging_hotspots_cube(cube, w)["pattern"].iloc[0]
    'new_hot'
    """
    x = np.asarray(cube, dtype=float)
    if x.ndim != 2:
        raise InvalidInput("cube must be 2-D (locations, steps)", parameter="cube")
    if neighborhood_time_step < 0:
        raise InvalidInput(
            "neighborhood_time_step must be >= 0", parameter="neighborhood_time_step"
        )
    w = with_self_weights(weights)
    if w.shape[0] != x.shape[0]:
        raise InvalidInput("weights and cube differ in locations", parameter="weights")
    z = space_time_z(x, w, int(neighborhood_time_step), gi_star_population(x.ravel()))
    return emerging_patterns(z, alpha, fdr, trend_alpha)


def space_time_z(cube: FloatArray, weights: sparse.csr_matrix, lag: int,
                 population: tuple[float, float, int]) -> FloatArray:
    """Gi* z-score of every bin of a cube (0 where undefined).

    ``weights`` include self-weights; ``population`` is ``(mean, std, n)`` of
    all bins of the analysis, so a spatial partition of the cube with its halo
    gives exact rows for its own locations.
    """
    mean, s, n = population
    x = np.asarray(cube, dtype=float)
    lag_sum = _space_time_sum(x, weights, lag)
    ones = np.ones_like(x)
    sum_w = _space_time_sum(ones, weights, lag)
    sum_w2 = _space_time_sum(ones, weights.multiply(weights).tocsr(), lag)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag_sum - mean * sum_w) / (s * np.sqrt((n * sum_w2 - sum_w**2) / (n - 1)))
    return np.asarray(np.nan_to_num(z), dtype=float)


def time_edges(first: Any, last: Any, start: Any, end: Any, time_step: str
               ) -> pd.DatetimeIndex:
    """Edges of the time steps of a window: ``[start or first, end or just after last)``.

    The first edge is ``start`` (or the first event) floored to the day, on the
    ``time_step`` frequency; the last edge reaches the window's end.

    Examples
    --------
    >>> e = time_edges(pd.Timestamp("2024-01-03 10:00"), pd.Timestamp("2024-01-20"), None,
    ...                None, "7D")
    >>> [str(d.date()) for d in e]
    ['2024-01-03', '2024-01-10', '2024-01-17', '2024-01-24']
    """
    t0 = pd.Timestamp(start) if start is not None else pd.Timestamp(first)
    # the window is [t0, t1): a given end is exclusive, the last event is included
    t1 = pd.Timestamp(end) if end is not None else pd.Timestamp(last) + pd.Timedelta(1, "ns")
    try:
        edges = pd.date_range(t0.floor("D"), t1, freq=time_step)
        step = pd.tseries.frequencies.to_offset(time_step)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"time_step {time_step!r} is not a pandas frequency", parameter="time_step"
        ) from exc
    if len(edges) == 0 or edges[0] > t0:
        edges = edges.insert(0, edges[0] - step if len(edges) else t0)
    if edges[-1] < t1:
        edges = edges.append(pd.DatetimeIndex([edges[-1] + step]))
    return edges


def emerging_hotspots(
    events: gpd.GeoDataFrame,
    resolution: int = 9,
    time_step: str | pd.Timedelta = "W",
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
    time_col: str = "reported_at",
    category_col: str = "category_code",
    neighborhood_time_step: int = 1,
    rings: int = 1,
    alpha: float = 0.05,
    fdr: bool = True,
    trend_alpha: float = 0.05,
    cells: Sequence[str] | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spots of events on H3 cells over time steps.

    Events are binned into H3 cells of ``resolution`` and time steps of
    ``time_step`` (a pandas frequency such as ``"W"``, ``"D"``, ``"MS"`` or a
    Timedelta) between ``start`` and ``end``; the cube holds every cell that
    has at least one event (as ArcGIS's cube of locations with data) and every
    step, zero-filled. See :func:`emerging_hotspots_cube` for the statistics and
    :func:`classify_pattern` for the rules.

    Parameters
    ----------
    events
        Point events with a time column.
    resolution
        H3 resolution.
    time_step
        Step length.
    start, end
        Time window (default: the events' range).
    categories, time_col, category_col
        Filters as in :func:`aggregate_h3`.
    neighborhood_time_step, alpha, fdr, trend_alpha
        See :func:`emerging_hotspots_cube`.
    rings
        H3 rings of the spatial neighbourhood.
    cells
        The locations of the cube (H3 ids of one resolution, e.g. a full
        cover of the territory, so empty cells count as zeros); overrides
        ``resolution`` and drops events outside them.

    Returns
    -------
    geopandas.GeoDataFrame
        Per cell: ``cell``, ``pattern``, trend figures, ``events``, hexagon
        (EPSG:4326); ``attrs["time_steps"]`` lists the start of each step.

    Examples
    --------
    >>> ts = pd.date_range("2024-01-01", periods=4, freq="W")
    >>> ev = gpd.GeoDataFrame({"reported_at": ts}, crs=4326,
    ...                       geometry=gpd.points_from_xy([121.5] * 4, [31.2] * 4))
    >>> emerging_hotspots(ev, 8)["pattern"].tolist()
    ['no_pattern']
    """
    ev = select_events(events, start, end, categories, time_col, category_col)
    require_column(ev, time_col, "time_col", "events")
    if len(ev) == 0:
        raise InvalidInput("no events in the window", parameter="events")
    lon, lat = lonlat(ev)
    if cells is not None:
        if len(cells) == 0:
            raise InvalidInput("cells must not be empty", parameter="cells")
        resolution = h3.get_resolution(cells[0])
    ids = points_to_cells(lon, lat, resolution)
    t = pd.to_datetime(ev[time_col])
    edges = time_edges(t.min(), t.max(), start, end, time_step)
    bins = np.searchsorted(edges.to_numpy(), t.to_numpy(), side="right") - 1
    if cells is None:
        uniq, loc = np.unique(ids, return_inverse=True)
    else:
        uniq = np.asarray(list(cells), dtype=object)
        loc = pd.Index(uniq).get_indexer(ids)
        bins, loc = bins[loc >= 0], loc[loc >= 0]
    cube = np.zeros((len(uniq), len(edges) - 1))
    np.add.at(cube, (loc, bins), 1.0)
    res = emerging_hotspots_cube(
        cube, h3_contiguity(list(uniq), rings), neighborhood_time_step, alpha, fdr, trend_alpha
    )
    res.insert(0, "cell", uniq)
    res["events"] = cube.sum(axis=1).astype(np.int64)
    out = gpd.GeoDataFrame(res, geometry=cell_polygons(list(uniq)), crs=4326)
    out.attrs["time_steps"] = list(edges[:-1])
    return out
