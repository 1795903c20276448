"""Uncached event density tile time (issue 20: median under 100 ms on the town sample).

Every tile over the events' extent at z12-z14 and the 12 tiles with most events
at z15-z17 are rendered through the raster tile service with a cache of zero
bytes (every request is a miss), after one warm-up request that reads the
events' positions into memory (printed apart: it is paid once per change of
the events table). The anchor, run on the same tiles in the same run, is the
engine's exact kernel density (:func:`gis_core.hotspots.kernel_density`, what
the tiles computed before) on the same points. Prints per zoom and overall the
median of both, their ratio, and the largest difference relative to the peak.
Run::

    .venv/bin/python bench/density_tiles.py [--scale town] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.db.session import make_engine  # noqa: E402
from api.settings import TileSettings  # noqa: E402
from api.tiles.rasters import RasterService  # noqa: E402
from api.tiles.service import TileService  # noqa: E402
from gis_core.hotspots import kernel_density  # noqa: E402
from layers.raster import (  # noqa: E402
    TILE_PX,
    _scale,
    _within,
    event_points,
    get_raster,
    mercator_bounds,
)
from testkit.databases import analysed_sample_database as database  # noqa: E402
from testkit.tiles import tiles_at  # noqa: E402

NAME = "event-density"


def exact(xy: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """The anchor: the engine's exact quartic sum on the tile's points."""
    surface, bounds, k = get_raster(NAME), mercator_bounds(z, x, y), _scale(z, y)
    pts = _within(xy, bounds, surface.bandwidth_m * k)
    if len(pts) == 0:
        return np.zeros((TILE_PX, TILE_PX))
    series = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=3857)
    arr, _, _ = kernel_density(series, bounds, (bounds[2] - bounds[0]) / TILE_PX,
                               surface.bandwidth_m * k, 3857)
    return np.asarray(arr[:TILE_PX, :TILE_PX]) * k * k


def run(url: str) -> None:
    """Measure and print."""
    engine = make_engine(url, pool_size=1)
    tiles = TileService.from_settings(engine, TileSettings(cache_bytes=0, connections=1))
    rasters = RasterService(tiles)
    with engine.connect() as conn:
        tiles_xyz = [(z, x, y) for z in range(12, 18) for x, y in tiles_at(conn, z, 12)]
        n = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        t0 = time.perf_counter()
        xy = event_points(conn)
        print(f"{n} events; reading their positions into memory: "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms (once per change of events)")
        rasters.tile(NAME, *tiles_xyz[0])  # warm-up: the service reads the positions
        rows: dict[int, list[tuple[float, float, float]]] = {}
        surface = get_raster(NAME)
        for z, x, y in tiles_xyz:
            t0 = time.perf_counter()
            rasters.tile(NAME, z, x, y)
            ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            anchor = exact(xy, z, x, y)
            old = time.perf_counter() - t0
            new = surface.values(conn, z, x, y, {}, xy)
            diff = float(np.abs(new - anchor).max() / anchor.max()) if anchor.max() > 0 else 0.0
            rows.setdefault(z, []).append((ours, old, diff))
    print(f"{'zoom':>4} {'tiles':>6} {'ours ms':>8} {'exact ms':>9} {'ratio':>6} {'max diff':>9}")
    every = [r for zoom in rows.values() for r in zoom]
    for label, part in [*((str(z), r) for z, r in rows.items()), ("all", every)]:
        ours = statistics.median(r[0] for r in part) * 1000
        old = statistics.median(r[1] for r in part) * 1000
        print(f"{label:>4} {len(part):>6} {ours:>8.1f} {old:>9.1f} {ours / old:>6.2f} "
              f"{max(r[2] for r in part):>8.2%}")
    tiles.close()
    engine.dispose()


def main() -> None:
    """Parse the arguments and run on a given or a fresh database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="town", choices=("small", "town", "district"))
    parser.add_argument("--database-url", help="an existing database holding a sample")
    parser.add_argument("--server-url", help="a PostgreSQL server for a fresh database")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url)
    else:
        with database(args.server_url, args.scale) as url:
            run(url)


if __name__ == "__main__":
    main()
