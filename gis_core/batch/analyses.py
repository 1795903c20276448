"""The per-partition steps of bulk assignment, Gi* hot spots and camera coverage.

Each step takes one partition with its halo (:mod:`gis_core.batch.partition`)
and returns exactly what the single-process analysis gives for the
partition's own points or cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_core import coverage
from gis_core.grid_index import GridIndex
from gis_core.hotspots import gi_star_z, spatial_weights
from gis_core.hotspots.emerging import space_time_z
from gis_core.hotspots.weights import with_self_weights
from gis_core.types import FloatArray

__all__ = ["assign_at_times", "coverage_partition", "emerging_partition", "gi_star_partition"]


def assign_at_times(grids: gpd.GeoDataFrame, exclusive: Mapping[str, bool], lon: FloatArray,
                    lat: FloatArray, reported: pd.Series) -> pd.DataFrame:
    """Grid per layer of each point at its own report time.

    One :meth:`GridIndex.assign` pass per period between the grids' validity
    bounds (``valid_from``/``valid_to``), the versions valid in a period being
    the same for all its points.

    Parameters
    ----------
    grids
        Grid versions with ``code``, ``layer``, ``valid_from``, ``valid_to``
        (e.g. the halo of one tile, :func:`~gis_core.batch.grids_touching`).
    exclusive
        Layer name -> exclusive; every layer gets a column.
    lon, lat
        Points in EPSG:4326.
    reported
        Report time of each point (tz-aware).

    Returns
    -------
    pandas.DataFrame
        One object column per layer, rows aligned with the points (0..n-1).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"code": ["A"], "layer": ["basic"], "valid_from": [None],
    ...                       "valid_to": [None]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    >>> when = pd.Series(pd.to_datetime(["2024-01-01", "2024-06-01"], utc=True))
    >>> assign_at_times(g, {"basic": True}, np.array([0.5, 2.0]), np.array([0.5, 0.5]),
    ...                 when)["basic"].tolist()
    ['A', None]
    """
    out = pd.DataFrame({name: pd.Series([None] * len(lon), dtype=object) for name in exclusive})
    if grids.empty or len(lon) == 0:
        return out
    index = GridIndex(grids, code="code", layer="layer", exclusive=dict(exclusive))
    bounds = pd.concat([grids["valid_from"], grids["valid_to"]]).dropna()
    breaks = np.unique(pd.to_datetime(bounds, utc=True).to_numpy(dtype="datetime64[ns]"))
    when = reported.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    period = np.searchsorted(breaks, when, side="right")
    for p in np.unique(period):
        rows = np.flatnonzero(period == p)
        found = index.assign(lon[rows], lat[rows], at=pd.Timestamp(when[rows].min(), tz="UTC"))
        for name in found.columns:
            if name in out:
                out.iloc[rows, out.columns.get_loc(name)] = found[name].to_numpy()
    return out


def gi_star_partition(counts: pd.Series, core: Sequence[str], k: int,
                      population: tuple[float, float, int]) -> pd.Series:
    """Gi* z-scores of the ``core`` cells of one partition.

    Parameters
    ----------
    counts
        Value per H3 cell id for the partition's own cells and its halo
        (:func:`~gis_core.batch.h3_halo` with the same ``k``).
    core
        The partition's own cells (a subset of ``counts.index``).
    k
        Rings of the contiguity weights.
    population
        ``(mean, std, n)`` of every cell of the run
        (:func:`gis_core.hotspots.gistar.gi_star_population`).

    Returns
    -------
    pandas.Series
        z-score per core cell, indexed by cell id.

    Examples
    --------
    >>> import h3
    >>> c = h3.latlng_to_cell(31.2, 121.5, 9)
    >>> ring = sorted(h3.grid_ring(c, 1))
    >>> counts = pd.Series([9.0] + [1.0] * 6, index=[c, *ring])
    >>> full = gi_star_partition(counts, list(counts.index), 1, (17 / 7, 2.7, 7))
    >>> bool(gi_star_partition(counts, [c], 1, (17 / 7, 2.7, 7))[c] == full[c])
    True
    """
    cells = list(counts.index)
    weights = with_self_weights(spatial_weights(cells, "contiguity", k=k))
    z = pd.Series(gi_star_z(counts.to_numpy(dtype=float), weights, population), index=cells)
    return z.loc[list(core)]


def emerging_partition(cube: pd.DataFrame, core: Sequence[str], k: int, lag: int,
                       population: tuple[float, float, int]) -> pd.DataFrame:
    """Space-time Gi* z-scores of the ``core`` cells of one partition.

    Parameters
    ----------
    cube
        Counts per H3 cell (rows, the core and its ``k``-ring halo) and time step.
    core
        The partition's own cells.
    k, lag
        Rings of the spatial weights and previous steps in a bin's neighbourhood.
    population
        ``(mean, std, n)`` of every bin of the whole cube.

    Returns
    -------
    pandas.DataFrame
        z-score per core cell (rows) and step (columns).
    """
    cells = list(cube.index)
    weights = with_self_weights(spatial_weights(cells, "contiguity", k=k))
    z = space_time_z(cube.to_numpy(dtype=float), weights, lag, population)
    return pd.DataFrame(z, index=cells, columns=cube.columns).loc[list(core)]


def coverage_partition(grids: gpd.GeoDataFrame, cameras: gpd.GeoDataFrame,
                       occluders: gpd.GeoDataFrame | None,
                       buildings: gpd.GeoDataFrame | None, roads: gpd.GeoDataFrame | None,
                       camera_crs: Any, grid_crs: Any, min_area_m2: float = 100.0
                       ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Coverage figures and blind spots of the grids of one partition.

    What :func:`gis_core.coverage.coverage_by_grid` and
    :func:`~gis_core.coverage.blind_spots` give for these grids when every
    camera of the territory is computed at once, provided the halo is
    complete: ``cameras`` holds every camera whose range reaches a grid or a
    building counted in it, ``occluders`` every building that meets the view
    sector of one of those cameras. The metric CRSs are those of the whole
    territory, so that a camera's visible ground does not depend on the
    partition it is computed in.

    Parameters
    ----------
    grids
        The partition's own grids (``code``), e.g. :func:`~gis_core.batch.grids_owned`.
    cameras
        Camera points with the camera columns (see
        :func:`gis_core.coverage.view_polygons`); may be empty.
    occluders
        Building footprints with ``height`` that hide ground from the cameras, or None.
    buildings
        Footprints counted per grid (``buildings``, ``buildings_seen``), or None
        for no building columns.
    roads
        Road lines (``road_m``, ``covered_road_m``, ``road_share``), or None.
    camera_crs, grid_crs
        Metric CRS of the visible ground and of the grid figures.
    min_area_m2
        Smallest blind spot kept.

    Returns
    -------
    (pandas.DataFrame, geopandas.GeoDataFrame)
        Figures indexed by grid code, and blind spots (``code``, ``area_m2``) in
        the grids' CRS.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 100, 100)], crs=4547)
    >>> cams = gpd.GeoDataFrame({"kind": ["dome"], "range_m": [50.0]},
    ...                         geometry=gpd.points_from_xy([0.0], [0.0]), crs=4547)
    >>> figures, holes = coverage_partition(g, cams, None, None, None, 4547, 4547)
    >>> round(float(figures.loc["A", "covered_share"]), 2), holes["code"].tolist()
    (0.2, ['A'])
    """
    if cameras.empty:
        visible = gpd.GeoSeries([], crs=grids.crs)
    else:
        visible = coverage.visible_polygons(
            cameras, occluders if occluders is not None and len(occluders) else None,
            crs=camera_crs)
    figures = coverage.coverage_by_grid(grids, visible, roads=roads, buildings=buildings,
                                        crs=grid_crs)
    holes = coverage.blind_spots(grids, visible, min_area_m2=min_area_m2, crs=grid_crs)
    return figures, holes
