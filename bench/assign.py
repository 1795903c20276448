"""Benchmark: GridIndex.assign against geopandas.sjoin and a PostGIS join.

Generates a realistic exclusive grid layer (Voronoi cells of a ~20 x 20 km
district, clipped to the district, edges densified and wiggled like streets)
and uniformly spread points over the district's bounding box, all from a fixed
seed; then, in one run:

* gridgov ``GridIndex.assign`` (single thread),
* ``geopandas.sjoin(points, grids, predicate="within")`` (the anchor),
* PostGIS ``ST_Covers`` with the tie rule (smallest code) as the reference,

and prints points/s of each, the ratio to sjoin and the number of points
where gridgov and PostGIS disagree.

Usage::

    python bench/assign.py                       # 1,000,000 points, throwaway cluster
    python bench/assign.py --points 100000
    python bench/assign.py --database-url postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gis_core.grid_index import GridIndex  # noqa: E402
from testkit.clusters import server_or_throwaway  # noqa: E402
from testkit.databases import plain  # noqa: E402
from testkit.synthetic import (  # noqa: E402
    PG_SETTINGS,
    make_grids,
    make_points,
)

# ---------------------------------------------------------------------------
# PostGIS
# ---------------------------------------------------------------------------


# Every (point, grid) pair with ST_Covers, then the tie rule: the smallest code
# in byte order (= Python's str order). Points in no grid have no row (None).
# Grids drive the loop (LATERAL ... OFFSET 0 keeps the planner from flattening
# it) so PostGIS reuses each grid's prepared geometry across its points: about
# 3x faster than the planner's default points-first plan.
JOIN_SQL = (
    'CREATE TEMP TABLE bench_result AS SELECT p.id, min(g.code COLLATE "C") AS code '
    "FROM bench_grids g CROSS JOIN LATERAL (SELECT q.id FROM bench_points q "
    "WHERE ST_Covers(g.geom, q.geom) OFFSET 0) p GROUP BY p.id"
)


def postgis_assign(url: str, grids: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray
                   ) -> tuple[np.ndarray, float, float]:
    """Return (codes by ST_Covers + smallest code, seconds of the join, seconds of loading)."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("SET max_parallel_workers_per_gather = 0")  # one core, like gridgov
        conn.execute("SET jit = off")
        conn.execute("CREATE TEMP TABLE bench_grids (code text, geom geometry)")
        wkb = shapely.to_wkb(shapely.set_srid(np.asarray(grids.geometry.array), 4326),
                             hex=True, include_srid=True)
        with conn.cursor().copy("COPY bench_grids (code, geom) FROM STDIN") as copy:
            for code, geom in zip(grids["code"], wkb, strict=True):
                copy.write_row((code, geom))
        conn.execute("CREATE INDEX ON bench_grids USING gist (geom)")
        conn.execute("CREATE TEMP TABLE bench_points (id int, x float8, y float8)")
        xs, ys = x.tolist(), y.tolist()  # repr of a Python float round-trips exactly
        with conn.cursor().copy("COPY bench_points (id, x, y) FROM STDIN") as copy:
            for start in range(0, len(xs), 100_000):
                stop = min(start + 100_000, len(xs))
                copy.write("".join(f"{i}\t{xs[i]!r}\t{ys[i]!r}\n" for i in range(start, stop)))
        conn.execute("ALTER TABLE bench_points ADD COLUMN geom geometry")
        conn.execute("UPDATE bench_points SET geom = ST_SetSRID(ST_MakePoint(x, y), 4326)")
        conn.execute("CREATE INDEX ON bench_points USING gist (geom)")
        conn.execute("ANALYZE bench_grids")
        conn.execute("ANALYZE bench_points")
        load = time.perf_counter() - t0
        t1 = time.perf_counter()
        conn.execute(JOIN_SQL)
        join = time.perf_counter() - t1
        rows = conn.execute("SELECT id, code FROM bench_result").fetchall()
    codes = np.full(len(x), None, dtype=object)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    codes[ids] = [r[1] for r in rows]
    return codes, join, load


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _best_of(repeats: int, func, *args):
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = func(*args)
        best = min(best, time.perf_counter() - t)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for in-process timings")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="PostGIS to compare with (default: $DATABASE_URL, else a "
                             "throwaway cluster)")
    parser.add_argument("--no-postgis", action="store_true", help="skip the PostGIS reference")
    args = parser.parse_args(argv)

    grids = make_grids(args.grids)
    n_vertices = int(shapely.get_num_coordinates(np.asarray(grids.geometry.array)).sum())
    print(f"grids: {len(grids)} ({n_vertices} vertices), points: {args.points:,}")

    rss0 = _rss_mb()
    t = time.perf_counter()
    index = GridIndex(grids)
    build = time.perf_counter() - t
    print(f"gridgov build: {build:.2f} s, peak memory added ~{_peak_rss_mb() - rss0:.0f} MB")

    x, y = make_points(grids, args.points)
    ours_s, ours = _best_of(args.repeats, index.assign, x, y)
    ours_codes = ours["grid"].to_numpy()

    t = time.perf_counter()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=4326)
    make_pts = time.perf_counter() - t
    def sjoin() -> gpd.GeoDataFrame:
        return gpd.sjoin(points, grids, how="inner", predicate="within")

    sjoin_s, _ = _best_of(args.repeats, sjoin)

    rows = [("gridgov GridIndex.assign", ours_s),
            ("geopandas.sjoin (within)", sjoin_s),
            ("sjoin incl. points_from_xy", sjoin_s + make_pts)]
    mismatches = None
    if not args.no_postgis:
        with server_or_throwaway(args.database_url, settings=PG_SETTINGS) as url:
            pg_codes, pg_s, load = postgis_assign(url, grids, x, y)
        rows.append(("PostGIS ST_Covers join", pg_s))
        mismatches = int(np.sum(ours_codes != pg_codes))
        print(f"(PostGIS loading, not timed in the join: {load:.1f} s)")
    print(f"{'method':<28}{'seconds':>10}{'points/s':>14}{'x sjoin':>10}")
    for name, seconds in rows:
        print(f"{name:<28}{seconds:>10.3f}{args.points / seconds:>14,.0f}"
              f"{sjoin_s / seconds:>10.1f}")
    latencies = []
    for i in range(2000):
        t = time.perf_counter()
        index.assign(x[i:i + 1], y[i:i + 1])
        latencies.append(time.perf_counter() - t)
    p50, p99 = np.percentile(latencies, [50, 99]) * 1e3
    print(f"one point in process (no HTTP): p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    outside = int(pd.isna(ours_codes).sum())
    print(f"points outside every grid: {outside:,}")
    if mismatches is not None:
        print(f"mismatches gridgov vs PostGIS ST_Covers + smallest code: {mismatches}")
    print(f"speed-up over sjoin: {sjoin_s / ours_s:.1f}x (goal >= 10x)")
    return 0 if (mismatches in (None, 0)) else 1


if __name__ == "__main__":
    sys.exit(main())
