"""Run the batch analyses on a ``distributed`` cluster, one task per spatial partition.

:func:`run_assign` re-assigns every stored event to the grids valid at its
report time (tiles of the territory; halo: the grids touching a tile);
:func:`run_hotspots` computes Gi* with FDR on H3 cells (partitions: H3 parent
cells; halo: the occupied cells within the ``k`` rings of the weights) and
replaces the stored ``gi_star:`` hot spots; :func:`run_emerging` gives the
emerging hot spot patterns; :func:`run_coverage` computes camera coverage per
grid (partitions: the grids of a tile, by representative point; halo: the
cameras whose range reaches them and the buildings those cameras can see)
and replaces the stored blind spots. All give what one process gives
(``tests/api/test_batch.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from distributed import Client, LocalCluster, as_completed

from api.analytics.reading import pad
from api.batch import io
from api.events.bulk_import import grids_json
from gis_core import batch
from gis_core.crs import metric_crs_for
from gis_core.errors import InvalidInput, NotFound
from gis_core.hotspots.cells import cell_polygons, points_to_cells
from gis_core.hotspots.emerging import time_edges
from gis_core.hotspots.gistar import gi_star_classes, gi_star_population
from gis_core.hotspots.patterns import emerging_patterns
from gis_core.types import Bounds

#: Seconds to wait for a scheduler given by address.
CONNECT_SECONDS = 10

#: Called as ``progress(step, done, total)`` after each finished task.
Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    """No progress report."""


@contextmanager
def cluster(scheduler: str | None = None, n_workers: int = 2) -> Iterator[Client]:
    """A client on ``scheduler`` (``tcp://HOST:PORT``) or on a LocalCluster of processes."""
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"--scheduler {scheduler!r}: no Dask scheduler answers there "
                               f"({exc}); give tcp://HOST:PORT of a running scheduler",
                               parameter="scheduler") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        yield client


def _gather(client: Client, futures: list[Any], step: str, progress: Progress) -> list[Any]:
    """Results in submission order, reporting each finished task."""
    for done, _ in enumerate(as_completed(futures), start=1):
        progress(step, done, len(futures))
    return list(client.gather(futures))


# --------------------------------------------------------------------------- assign


def assign_tile(url: str, bounds: Bounds, nx: int, ny: int, tile: int,
                exclusive: dict[str, bool]) -> tuple[int, int]:
    """Assign the events of one tile and write their grids; (events, changed)."""
    box = batch.tile_boxes(bounds, nx, ny)[tile]
    points = io.read_points(url, box)
    mine = batch.tile_of(points["lon"], points["lat"], bounds, nx, ny) == tile
    points = points.loc[mine].reset_index(drop=True)
    if points.empty:
        return 0, 0
    grids = batch.grids_touching(io.read_grids(url, box), box)
    found = batch.assign_at_times(grids, exclusive, points["lon"].to_numpy(),
                                  points["lat"].to_numpy(), points["reported_at"])
    text = grids_json(found, exclusive)
    return len(points), io.write_event_grids(url, points["id"].tolist(), text.tolist())


def run_assign(client: Client, url: str, tiles: int = 4,
               progress: Progress = _quiet) -> dict[str, int]:
    """Re-assign every event to the grids of every layer at its report time.

    Parameters
    ----------
    client
        A ``distributed`` client (:func:`cluster`).
    url
        libpq URL of the database (the workers connect to it).
    tiles
        Tiles per side of the territory (``tiles**2`` tasks).
    progress
        Called after each finished task.

    Returns
    -------
    dict
        ``events`` assigned, ``changed`` (stored grids that differed), ``partitions``.
    """
    if not isinstance(tiles, int) or tiles < 1:
        raise InvalidInput("tiles must be an integer >= 1", parameter="tiles")
    bounds = territory(url)
    if bounds is None:
        return {"events": 0, "changed": 0, "partitions": 0}
    exclusive = io.grid_layers(url)
    futures = [client.submit(assign_tile, url, bounds, tiles, tiles, t, exclusive, pure=False)
               for t in range(tiles * tiles)]
    done = _gather(client, futures, "assign", progress)
    return {"events": sum(d[0] for d in done), "changed": sum(d[1] for d in done),
            "partitions": len(futures)}


def territory(url: str) -> Bounds | None:
    """The box the tiles cut: grids and events, widened by 1e-9 degrees; None when empty.

    The widening keeps a positive width and height for a single point or a line.
    """
    x0, y0, x1, y1 = io.extent(url)
    if not np.isfinite((x0, y0, x1, y1)).all():
        return None
    pad = 1e-9
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


# --------------------------------------------------------------------------- hot spots


def count_tile(url: str, bounds: Bounds, nx: int, tile: int, resolution: int,
               start: Any, end: Any) -> pd.Series:
    """Events per H3 cell of one tile."""
    box = batch.tile_boxes(bounds, nx, nx)[tile]
    points = io.read_points(url, box, start, end)
    points = points.loc[batch.tile_of(points["lon"], points["lat"], bounds, nx, nx) == tile]
    cells = points_to_cells(points["lon"].to_numpy(), points["lat"].to_numpy(), resolution)
    return pd.Series(cells, dtype=object).value_counts()


def stage_cells(url: str, table: str, method: str, frame: pd.DataFrame) -> int:
    """COPY one chunk of hot-spot cells (``cell``, ``count``, ``z``, ``p``, ``class``)."""
    hexagons = shapely.set_srid(shapely.multipolygons(
        [[g] for g in cell_polygons(frame["cell"].tolist())]), 4326)
    rows = pd.DataFrame({"method": method, "cell": frame["cell"].to_numpy(),
                         "value": frame["count"].astype(float).to_numpy(),
                         "z": frame["z"].to_numpy(), "p": frame["p"].to_numpy(),
                         "hot_class": frame["class"].astype(int).to_numpy(),
                         "geom": shapely.to_wkb(hexagons, hex=True, include_srid=True)})
    return io.copy_hotspot_rows(url, table, rows)


def gi_star_cells(client: Client, counts: pd.Series, parent: int, k: int,
                  progress: Progress = _quiet) -> pd.Series:
    """Gi* z-score of every cell of ``counts``, one task per H3 parent cell with its halo."""
    counts = counts.sort_index()
    population = gi_star_population(counts.to_numpy(dtype=float))
    keys = batch.h3_partitions(counts.index, parent).to_numpy()
    futures = []
    for key in pd.unique(keys):
        core = counts.index[keys == key].tolist()
        near = core + batch.h3_halo(core, counts.index, k)
        futures.append(client.submit(batch.gi_star_partition, counts.loc[near], core, k,
                                     population, pure=False))
    z = pd.concat(_gather(client, futures, "gi*", progress))
    return z.reindex(counts.index)


def run_hotspots(client: Client, url: str, resolution: int = 9, parent: int = 6,
                 k: int = 1, alpha: float = 0.05, start: Any = None, end: Any = None,
                 tiles: int = 4, progress: Progress = _quiet) -> dict[str, Any]:
    """Gi* with FDR on the H3 cells of the events; replaces the stored ``gi_star:`` hot spots.

    Parameters
    ----------
    client, url, tiles, progress
        As in :func:`run_assign`.
    resolution
        H3 resolution of the cells.
    parent
        H3 resolution of the partitions (coarser than ``resolution``).
    k
        Rings of the contiguity weights (1 = the single-process analysis).
    alpha
        Level of significance (FDR-corrected).
    start, end
        Keep events with ``start <= reported_at < end``.

    Returns
    -------
    dict
        ``cells``, ``events``, ``partitions`` and ``classes`` (cells per class).
    """
    if not (isinstance(parent, int) and isinstance(resolution, int)
            and 0 <= parent < resolution <= 15):
        raise InvalidInput("parent must be a coarser H3 resolution than resolution (0-15)",
                           parameter="parent")
    if not 0 < alpha < 1:
        raise InvalidInput("alpha must be between 0 and 1", parameter="alpha")
    bounds = territory(url)
    parts = [] if bounds is None else [
        client.submit(count_tile, url, bounds, tiles, t, resolution, start, end, pure=False)
        for t in range(tiles * tiles)]
    counts = pd.concat([pd.Series(dtype=np.int64), *_gather(client, parts, "count", progress)])
    if counts.empty:
        raise NotFound("no events in the chosen window", parameter="from")
    counts = counts.groupby(level=0).sum()
    z = gi_star_cells(client, counts.astype(np.int64), parent, k, progress)
    stats = gi_star_classes(z.to_numpy(), fdr=True, alpha=alpha)
    frame = pd.DataFrame({"cell": z.index, "count": counts.loc[z.index].to_numpy(),
                          "z": stats["z"], "p": stats["p"], "class": stats["class"]})
    _publish(client, url, f"gi_star:h3:{resolution}", frame, tiles * tiles, progress)
    classes = {str(c): int(n) for c, n in frame["class"].value_counts().sort_index().items()}
    return {"cells": len(frame), "events": int(frame["count"].sum()),
            "partitions": len(pd.unique(batch.h3_partitions(z.index, parent))),
            "classes": classes}


def _publish(client: Client, url: str, method: str, frame: pd.DataFrame, chunks: int,
             progress: Progress) -> None:
    """COPY the cells in parallel into a staging table, then swap them in at once."""
    table = f"batch_hotspots_{uuid.uuid4().hex[:12]}"
    io.create_staging(url, table)
    try:
        rows = np.array_split(np.arange(len(frame)), max(1, min(chunks, len(frame))))
        futures = [client.submit(stage_cells, url, table, method, frame.iloc[part], pure=False)
                   for part in rows]
        _gather(client, futures, "write", progress)
    except BaseException:
        io.drop_staging(url, table)
        raise
    io.publish_hotspots(url, table, "gi_star:")


# --------------------------------------------------------------------------- emerging


def bin_tile(url: str, bounds: Bounds, nx: int, tile: int, resolution: int,
             edges: pd.DatetimeIndex, start: Any, end: Any) -> pd.Series:
    """Events per (H3 cell, time step) of one tile."""
    box = batch.tile_boxes(bounds, nx, nx)[tile]
    points = io.read_points(url, box, start, end)
    points = points.loc[batch.tile_of(points["lon"], points["lat"], bounds, nx, nx) == tile]
    cells = points_to_cells(points["lon"].to_numpy(), points["lat"].to_numpy(), resolution)
    steps = np.searchsorted(edges.to_numpy(), points["reported_at"].to_numpy(), side="right") - 1
    keys = pd.MultiIndex.from_arrays([cells, steps], names=["cell", "step"])
    return pd.Series(1, index=keys, dtype=np.int64).groupby(level=[0, 1]).sum()


def run_emerging(client: Client, url: str, resolution: int = 9, step: str = "7D",
                 parent: int = 6, start: Any = None, end: Any = None, tiles: int = 4,
                 progress: Progress = _quiet) -> pd.DataFrame:
    """Emerging hot spot pattern of every occupied H3 cell over time steps.

    The space-time cube is counted by tile; its Gi* z-scores are computed per
    H3 parent cell with a one-ring halo (the neighbourhood of the single-process
    analysis: one ring, one previous step) and the global mean and deviation;
    the FDR cut-off, trends and patterns then use every bin at once.

    Returns
    -------
    pandas.DataFrame
        Per cell (sorted): ``pattern``, ``trend_z``, ``trend_p``, ``n_hot``,
        ``n_cold``, ``final_z`` and ``events``; ``attrs["time_steps"]``.
    """
    if not (isinstance(parent, int) and isinstance(resolution, int)
            and 0 <= parent < resolution <= 15):
        raise InvalidInput("parent must be a coarser H3 resolution than resolution (0-15)",
                           parameter="parent")
    window = io.time_range(url, start, end)
    bounds = territory(url)
    if window is None or bounds is None:
        raise NotFound("no events in the chosen window", parameter="from")
    edges = time_edges(window[0], window[1], start, end, step)
    parts = [client.submit(bin_tile, url, bounds, tiles, t, resolution, edges, start, end,
                           pure=False) for t in range(tiles * tiles)]
    counts = pd.concat(_gather(client, parts, "count", progress)).groupby(level=[0, 1]).sum()
    cube = counts.unstack("step", fill_value=0).reindex(
        columns=range(len(edges) - 1), fill_value=0).sort_index().astype(float)
    population = gi_star_population(cube.to_numpy().ravel())
    keys = batch.h3_partitions(cube.index, parent).to_numpy()
    futures = []
    for key in pd.unique(keys):
        core = cube.index[keys == key].tolist()
        near = core + batch.h3_halo(core, cube.index, 1)
        futures.append(client.submit(batch.emerging_partition, cube.loc[near], core, 1, 1,
                                     population, pure=False))
    z = pd.concat(_gather(client, futures, "gi*", progress)).reindex(cube.index)
    out = emerging_patterns(z.to_numpy()).set_axis(cube.index)
    out["events"] = cube.sum(axis=1).astype(np.int64)
    out.attrs["time_steps"] = list(edges[:-1])
    return out


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class CoveragePlan:
    """What every coverage task shares: the boxes and CRSs of the whole territory.

    ``territory`` is the layer's extent widened by 10 m and ``reach`` by the
    longest range of the cameras reaching it, as
    :func:`api.analytics.service.coverage_report` reads them; the metric CRSs
    are those one process would choose for all the cameras and all the grids.
    """

    layer: str
    bounds: Bounds
    tiles: int
    territory: Bounds
    reach: Bounds
    camera_crs: Any
    grid_crs: Any
    with_buildings: bool
    with_roads: bool
    min_area_m2: float


def coverage_tile(url: str, plan: CoveragePlan, tile: int, table: str) -> pd.DataFrame:
    """Coverage figures of the grids of one tile; their blind spots COPYed into ``table``.

    The tile's grids are those whose representative point lies in it. Halo:
    the cameras whose range reaches the box of those grids and of the
    buildings that meet it (10 m wider, as one process reads cameras), and
    the buildings within twice the longest of those ranges of the cameras
    (every building that can meet one of their view sectors).
    """
    n = plan.tiles
    box = batch.tile_boxes(plan.bounds, n, n)[tile]
    grids = batch.grids_owned(io.read_layer_grids(url, plan.layer, box), plan.bounds, n, n, tile)
    if grids.empty:
        return pd.DataFrame()
    core = _box(grids.total_bounds)
    counted = io.read_buildings(url, core) if plan.with_buildings else None
    seen = core if counted is None or counted.empty else _box(
        [*np.minimum(core[:2], counted.total_bounds[:2]),
         *np.maximum(core[2:], counted.total_bounds[2:])])
    cameras = io.read_cameras(url, pad(seen, 10), plan.territory)
    occluders = None
    if plan.with_buildings and len(cameras):
        longest = float(cameras["range_m"].max())
        occluders = io.read_buildings(url, pad(_box(cameras.total_bounds), 2 * longest + 10),
                                      within=plan.reach)
    roads = io.read_roads(url, core) if plan.with_roads else None
    figures, holes = batch.coverage_partition(grids, cameras, occluders, counted, roads,
                                              plan.camera_crs, plan.grid_crs, plan.min_area_m2)
    holes = holes.to_crs(4326)
    parts = shapely.set_srid(shapely.multipolygons(
        [[g] for g in np.asarray(holes.geometry.array, dtype=object)]), 4326)
    io.copy_blind_spots(url, table, pd.DataFrame({
        "grid_code": holes["code"].to_numpy(), "area_m2": holes["area_m2"].to_numpy(float),
        "geom": shapely.to_wkb(parts, hex=True, include_srid=True)}))
    return figures


def _box(values: Any) -> Bounds:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)


def run_coverage(client: Client, url: str, layer: str = "basic", min_area_m2: float = 100.0,
                 tiles: int = 4, progress: Progress = _quiet) -> pd.DataFrame:
    """Camera coverage of every current grid of ``layer``; replaces their stored blind spots.

    The figures and blind spots of :func:`api.analytics.service.coverage_report`
    for the whole layer (cameras online, occlusion by buildings), computed one
    task per tile of the layer's extent; each task COPYs its blind spots into a
    staging table and the run swaps them into ``blind_spots`` at once.

    Parameters
    ----------
    client, url, tiles, progress
        As in :func:`run_assign`.
    layer
        Grid layer.
    min_area_m2
        Smallest blind spot kept.

    Returns
    -------
    pandas.DataFrame
        Figures per grid code (sorted), the columns of
        :func:`gis_core.coverage.coverage_by_grid`; ``attrs`` holds ``cameras``,
        ``blind_spots`` and ``partitions``.
    """
    if not isinstance(tiles, int) or tiles < 1:
        raise InvalidInput("tiles must be an integer >= 1", parameter="tiles")
    if not (isinstance(min_area_m2, int | float) and min_area_m2 >= 0):
        raise InvalidInput("min_area_m2 must be >= 0", parameter="min_area_m2")
    extent, _ = io.layer_extent(url, layer)
    if extent is None:
        raise NotFound(f"--layer: layer {layer!r} has no current grids", parameter="layer")
    territory_box = pad(extent, 10)
    cameras, longest, camera_box = io.camera_reach(url, territory_box)
    reach = pad(extent, longest if cameras else 10)
    grid_crs = metric_crs_for(extent)
    plan = CoveragePlan(
        layer=layer, bounds=(extent[0] - 1e-9, extent[1] - 1e-9, extent[2] + 1e-9,
                             extent[3] + 1e-9),
        tiles=tiles, territory=territory_box, reach=reach,
        camera_crs=grid_crs if camera_box is None else metric_crs_for(camera_box),
        grid_crs=grid_crs, with_buildings=io.any_in(url, "buildings", reach),
        with_roads=io.any_in(url, "roads", extent), min_area_m2=float(min_area_m2))
    table = f"batch_blind_{uuid.uuid4().hex[:12]}"
    io.create_blind_staging(url, table)
    try:
        futures = [client.submit(coverage_tile, url, plan, t, table, pure=False)
                   for t in range(tiles * tiles)]
        parts = [f for f in _gather(client, futures, "coverage", progress) if not f.empty]
    except BaseException:
        io.drop_staging(url, table)
        raise
    holes = io.publish_blind_spots(url, table, layer)
    figures = pd.concat(parts).sort_index()
    figures.attrs.update(cameras=cameras, blind_spots=holes, partitions=len(parts))
    return figures
