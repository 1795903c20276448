"""Benchmark: bulk assignment on a 2-process Dask LocalCluster against one process.

The grids and points of ``bench/assign.py`` (fixed seeds); one process runs
``GridIndex.assign`` on every point, the cluster runs the same per tile of
:mod:`gis_core.batch` (halo: the grids touching the tile) with the grids
scattered to the workers once; each tile's result comes back as the tile's codes
and an integer per point (``gridgov analytics run assign`` writes them to the
database from the workers instead). Prints points/s of both, their ratio (the
ceiling is the number of cores, 2 here), the same with the client then building
one array of every point's code (a Python string per point, as the one process
gives), and the points where they differ (0).
Named ``dask_assign.py``: a ``bench/dask.py`` would shadow the ``dask`` package
when run as a script.

Usage::

    python bench/dask_assign.py                    # 2,000,000 points, 4 x 4 tiles
    python bench/dask_assign.py --points 10000000 --tiles 6
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed import Client, LocalCluster, wait  # noqa: E402

from gis_core.batch import grids_touching, tile_boxes, tile_of  # noqa: E402
from gis_core.grid_index import GridIndex  # noqa: E402
from testkit.synthetic import make_grids, make_points  # noqa: E402


def assign_tile(grids: gpd.GeoDataFrame, box: tuple[float, float, float, float],
                x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grid of each point of one tile, from the grids touching it: (codes, index).

    Each point's code is ``codes[index]`` (-1: none): the tile's few thousand codes
    and an integer per point travel back, not a Python string per point.
    """
    found = GridIndex(grids_touching(grids, box)).assign(x, y)["grid"]
    index, codes = pd.factorize(found, use_na_sentinel=True)
    return np.asarray(codes, dtype=object), index.astype(np.int32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--grids", type=int, default=4000)
    parser.add_argument("--tiles", type=int, default=4, help="tiles per side")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    grids = make_grids(args.grids)
    x, y = make_points(grids, args.points)
    bounds = tuple(float(v) for v in grids.total_bounds)
    tile = tile_of(x, y, bounds, args.tiles, args.tiles)  # type: ignore[arg-type]
    boxes = tile_boxes(bounds, args.tiles, args.tiles)  # type: ignore[arg-type]
    parts = [np.flatnonzero(tile == t) for t in range(len(boxes))]

    start = time.perf_counter()
    single = GridIndex(grids).assign(x, y)["grid"].to_numpy()
    one = time.perf_counter() - start

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        remote = client.scatter(grids, broadcast=True)
        chunks = [(client.scatter(x[p]), client.scatter(y[p])) for p in parts]
        wait([c for pair in chunks for c in pair])
        client.run(lambda: __import__("gis_core.grid_index"))  # imports before the clock
        start = time.perf_counter()
        futures = [client.submit(assign_tile, remote, box, cx, cy, pure=False)
                   for box, (cx, cy) in zip(boxes, chunks, strict=True)]
        results = client.gather(futures)
        many = time.perf_counter() - start
        batched = np.empty(len(x), dtype=object)  # every point's code, as one process gives
        for p, (codes, index) in zip(parts, results, strict=True):
            batched[p] = np.append(codes, None)[index]  # -1: the None at the end
        rebuilt = time.perf_counter() - start
    differ = int((batched != single).sum())
    print(f"points {args.points:,}, grids {len(grids):,}, tiles {len(boxes)}, "
          f"workers {args.workers}")
    print(f"one process : {args.points / one:12,.0f} points/s ({one:.2f} s)")
    print(f"dask        : {args.points / many:12,.0f} points/s ({many:.2f} s; each tile's "
          "grids back as its codes and an integer per point)")
    print(f"dask, one array of codes on the client: {args.points / rebuilt:12,.0f} points/s "
          f"({rebuilt:.2f} s)")
    print(f"ratio dask / one process: {one / many:.2f} (ceiling {args.workers}); with the "
          f"client's array of codes {one / rebuilt:.2f}; points that differ: {differ}")
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
