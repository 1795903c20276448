"""Event counts per H3 cell and per grid polygon, with time and category filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_core._checks import require_column, require_frame, require_points, same_crs
from gis_core.errors import InvalidInput
from gis_core.hotspots.cells import cell_polygons, lonlat, points_to_cells

__all__ = ["aggregate_grids", "aggregate_h3", "select_events"]


def select_events(
    events: gpd.GeoDataFrame,
    start: Any,
    end: Any,
    categories: Sequence[str] | None,
    time_col: str,
    category_col: str,
) -> gpd.GeoDataFrame:
    """Point events with ``start <= time < end`` and a category in ``categories``.

    Rows without a geometry or with an empty one are dropped; a filter that is
    None keeps everything.
    """
    require_frame(events, "events", "points")
    mask = np.ones(len(events), dtype=bool)
    if start is not None or end is not None:
        require_column(events, time_col, "time_col", "events")
        t = pd.to_datetime(events[time_col])
        if start is not None:
            mask &= (t >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            mask &= (t < pd.Timestamp(end)).to_numpy()
    if categories is not None:
        require_column(events, category_col, "category_col", "events")
        mask &= events[category_col].isin(list(categories)).to_numpy()
    out = events.loc[mask]
    require_points(out.geometry, "events")
    present = ~(out.geometry.is_empty | out.geometry.isna())
    return out.loc[present.to_numpy()]

def aggregate_h3(
    events: gpd.GeoDataFrame,
    resolution: int,
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
    time_col: str = "reported_at",
    category_col: str = "category_code",
    weight_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Count events per H3 cell (h3 v4).

    Parameters
    ----------
    events
        Point events in any CRS (converted to EPSG:4326 for indexing).
    resolution
        H3 resolution, 0..15.
    start, end
        Keep events with ``start <= time < end`` (either may be None).
    categories
        Keep only these category codes.
    time_col, category_col
        Column names of the report time and the category code.
    weight_col
        Sum this column instead of counting rows.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per occupied cell: ``cell`` (H3 id), ``count`` and the hexagon
        in EPSG:4326, sorted by cell id.

    Examples
    --------
    >>> ev = gpd.GeoDataFrame(geometry=gpd.points_from_xy([121.5, 121.5001, 121.6],
    ...                                                   [31.2, 31.2, 31.3]), crs=4326)
    >>> sorted(aggregate_h3(ev, 8)["count"].tolist())
    [1, 2]
    """
    if not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 15:
        raise InvalidInput("resolution must be an integer 0..15", parameter="resolution")
    ev = select_events(events, start, end, categories, time_col, category_col)
    lon, lat = lonlat(ev)
    ids = points_to_cells(lon, lat, int(resolution))
    if weight_col is not None:
        require_column(ev, weight_col, "weight_col", "events")
    w = np.ones(len(ev)) if weight_col is None else ev[weight_col].to_numpy(float)
    counts = pd.Series(w, index=pd.Index(ids, name="cell")).groupby(level=0).sum().sort_index()
    if weight_col is None:
        counts = counts.astype(np.int64)
    cells = counts.index.tolist()
    return gpd.GeoDataFrame(
        {"cell": cells, "count": counts.to_numpy()}, geometry=cell_polygons(cells), crs=4326
    )


def aggregate_grids(
    events: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    code: str = "code",
    grid_col: str | None = None,
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
    time_col: str = "reported_at",
    category_col: str = "category_code",
) -> gpd.GeoDataFrame:
    """Count events per grid polygon; every grid appears, zero counts included.

    Parameters
    ----------
    events
        Point events.
    grids
        Grid polygons with a unique code column.
    code
        Name of the grid code column in ``grids``.
    grid_col
        If given, the column of ``events`` that already holds the grid code;
        otherwise events are joined spatially (``intersects``; a point on a
        shared edge goes to the first grid in ``grids`` order).
    start, end, categories, time_col, category_col
        Filters as in :func:`aggregate_h3`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``grids`` (same index and order) with a ``count`` column.

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...                      shapely.box(1, 0, 2, 1)], crs=4326)
    >>> ev = gpd.GeoDataFrame(geometry=gpd.points_from_xy([0.5, 0.6, 3], [0.5, 0.5, 3]),
    ...                       crs=4326)
    >>> aggregate_grids(ev, g)["count"].tolist()
    [2, 0]
    """
    require_frame(grids, "grids", "polygons")
    require_column(grids, code, "code", "grids")
    ev = select_events(events, start, end, categories, time_col, category_col)
    if grid_col is not None:
        require_column(ev, grid_col, "grid_col", "events")
        assigned = ev[grid_col]
    else:
        same_crs(ev, "events", grids, "grids")
        tree = shapely.STRtree(grids.geometry.values)
        pt_idx, grid_idx = tree.query(ev.geometry.values, predicate="intersects")
        first = pd.Series(grid_idx).groupby(pt_idx).min()
        assigned = pd.Series(grids[code].to_numpy()[first.to_numpy()])
    counts = assigned.value_counts()
    out = grids.copy()
    out["count"] = out[code].map(counts).fillna(0).astype(np.int64).to_numpy()
    return out


# --------------------------------------------------------------------------- weights
