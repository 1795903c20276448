"""Benchmark: track ingestion over HTTP, and one day of patrol coverage for 5,000 workers.

Ingestion (default): a throwaway PostGIS cluster with the small sample, ``uvicorn`` with
``--workers`` processes; ``--concurrency`` keep-alive connections, each a grid worker's
shift, post batches of ``--batch`` points (a walk at 1.4 m/s, one fix per 5 s) to
``POST /api/v1/field/shifts/{id}/points`` for ``--seconds``. Prints stored points/s and
the anchor of the same run: ``GET /healthz`` requests/s. Goal: >= 5,000 points/s.

Coverage (``--coverage``): the ``--scale`` sample (default ``district``, about 4,000
grids) is generated to files (or read from ``--sample DIR``); ``--workers-day`` (5,000)
synthetic tracks of one day (8 hours, a fix every 30 s, a walk that turns at random
and stays in the worker's grid) are scored with ``gis_core``: road pieces, segments,
road coverage within 20 m and time in grids, per worker and grid (the last two at once,
``coverage_and_time``, on the machine's cores). The anchor is the projection of the
same points to the metric CRS, one thread. Goal: under 30 s. ``--one-by-one`` also
times each step alone on one thread.

Usage::

    python bench/field.py                    # ingestion, 20 s, 2 workers, 16 connections
    python bench/field.py --coverage         # coverage of the district sample
    python bench/field.py --coverage --scale town --workers-day 500
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.databases import throwaway_sample_database  # noqa: E402
from testkit.load import run_load  # noqa: E402
from testkit.servers import bench_server  # noqa: E402


# -- ingestion --------------------------------------------------------------------------------
def _workers(url: str, n: int) -> list[tuple[str, float, float]]:
    """``n`` grid workers with a token, each with a point inside their grid."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.auth.service import create_user
    from api.db.session import make_engine

    engine = make_engine(url, pool_size=1)
    out = []
    with Session(engine) as session:
        rows = session.execute(text(
            "SELECT g.code, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
            "FROM grids g JOIN grid_layers l ON l.id = g.layer_id WHERE l.name = 'basic' "
            "ORDER BY g.code LIMIT :n"), {"n": n}).all()
        for i in range(n):
            code, lon, lat = rows[i % len(rows)]
            _, token = create_user(session, name=f"bench-worker-{i}", role="grid_worker",
                                   grids=[code])
            out.append((token, float(lon), float(lat)))
        session.commit()
    engine.dispose()
    return out


def points_maker(base: str, base_workers: list[tuple[str, float, float]], batch: int) -> Any:
    """Each connection walks its own shift; every request is the next ``batch`` fixes."""
    import httpx

    shifts = []
    start = datetime.now(UTC) - timedelta(hours=6)
    for token, _, _ in base_workers:
        shift = str(uuid.uuid4())
        shifts.append(shift)
        httpx.post(f"{base}/api/v1/field/shifts", headers={"Authorization": f"Bearer {token}"},
                   json={"id": shift, "started_at": start.isoformat()}).raise_for_status()
    step = 1.4 * 5 / 111_000  # degrees per fix, walking

    def make(worker: int, i: int) -> tuple[str, str, bytes, dict[str, str]]:
        token, lon, lat = base_workers[worker]
        k = np.arange(i * batch, (i + 1) * batch)
        wiggle = np.sin(k / 40.0) * 0.0008  # back and forth within ~100 m of the grid's point
        pts = [{"t": (start + timedelta(seconds=5 * int(j))).isoformat(),
                "lon": lon + float(w), "lat": lat + step * float(j % 20) / 20,
                "accuracy": 6.0} for j, w in zip(k, wiggle, strict=True)]
        body = json.dumps({"points": pts}).encode()
        return ("POST", f"/api/v1/field/shifts/{shifts[worker]}/points", body,
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})

    return make


def bench_ingestion(args: argparse.Namespace) -> None:
    with throwaway_sample_database(None) as (url, _), \
            bench_server(url, args.workers) as (base, _):
        workers = _workers(url, args.concurrency)
        floor = run_load(base, lambda w, i: ("GET", "/healthz", b"", {}), args.concurrency,
                         1.0, min(5.0, args.seconds))
        got = run_load(base, points_maker(base, workers, args.batch), args.concurrency, 2.0,
                       args.seconds)
        rate = got["rate"] * args.batch
        print(f"track ingestion: {rate:,.0f} points/s ({got['rate']:.1f} batches/s of "
              f"{args.batch}, p50 {got['p50']:.0f} ms, p99 {got['p99']:.0f} ms, "
              f"statuses {got['statuses']})")
        print(f"anchor GET /healthz: {floor['rate']:,.0f} requests/s; "
              f"points/s per healthz/s: {rate / floor['rate']:.2f}")
        print(f"goal >= 5,000 points/s: {'met' if rate >= 5000 else 'NOT met'}")


# -- coverage ---------------------------------------------------------------------------------
def _sample(args: argparse.Namespace) -> Path:
    if args.sample:
        return Path(args.sample)
    from data_samples.generator import generate

    out = Path(tempfile.mkdtemp(prefix="gridgov-bench-field-"))
    t0 = time.perf_counter()
    generate(out, seed=7, scale=args.scale)
    print(f"generated the {args.scale} sample in {time.perf_counter() - t0:.0f} s ({out})")
    return out


def synthetic_day(grids: Any, n: int, rng: np.random.Generator, fixes: int = 960
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` tracks (metric CRS) of ``fixes`` points, each kept inside its worker's grid box."""
    bounds = np.asarray([g.bounds for g in grids])[np.arange(n) % len(grids)]
    heading = np.cumsum(rng.normal(0, 0.6, (n, fixes)), axis=1)
    dx, dy = np.cos(heading) * 40, np.sin(heading) * 40  # 40 m per 30 s
    x0 = (bounds[:, 0] + bounds[:, 2]) / 2
    y0 = (bounds[:, 1] + bounds[:, 3]) / 2
    half_w = (bounds[:, 2] - bounds[:, 0])[:, None] / 2
    half_h = (bounds[:, 3] - bounds[:, 1])[:, None] / 2
    # a walk folded back into the box: a triangle wave of the free walk
    x = x0[:, None] + half_w - np.abs((np.cumsum(dx, 1) % (4 * half_w)) - 2 * half_w)
    y = y0[:, None] + half_h - np.abs((np.cumsum(dy, 1) % (4 * half_h)) - 2 * half_h)
    t = np.broadcast_to(np.arange(fixes) * 30.0, (n, fixes))
    group = np.repeat(np.arange(n), fixes).astype(object)
    return group, t.ravel(), x.ravel(), y.ravel()


def bench_coverage(args: argparse.Namespace) -> None:
    import geopandas as gpd

    from gis_core.crs import from_wgs84, to_wgs84
    from gis_core.metric_zone import metric_crs_for
    from gis_core.track_coverage import coverage_and_time, road_coverage, road_pieces
    from gis_core.tracks import cores, segments, time_in_grids

    folder = _sample(args)
    grids = gpd.read_file(folder / "sample.gpkg", layer="grids")
    grids = grids[(grids["layer"] == "basic") & grids["valid_to"].isna()]
    roads = gpd.read_file(folder / "sample.gpkg", layer="roads")
    crs = metric_crs_for(grids)
    g = np.asarray(grids.to_crs(crs).geometry.values, dtype=object)
    r = np.asarray(roads.to_crs(crs).geometry.values, dtype=object)
    codes = grids["code"].to_numpy()
    group, t, x, y = synthetic_day(g, args.workers_day, np.random.default_rng(7))
    print(f"{len(g)} grids, {len(r)} roads, {args.workers_day} workers, {len(t):,} fixes")

    to_wgs84(x[:1], y[:1], crs)  # the transformers made once, outside the timing
    from_wgs84([114.2], [22.7], crs)
    t0 = time.perf_counter()
    lon, lat = to_wgs84(x, y, crs)
    from_wgs84(lon, lat, crs)
    anchor = time.perf_counter() - t0

    t0 = time.perf_counter()
    pieces = road_pieces(r, g, codes)
    t1 = time.perf_counter()
    segs = segments(group, t, x, y, max_gap_s=300)
    t2 = time.perf_counter()
    covered, spent = coverage_and_time(pieces, segs, g, codes)
    t3 = time.perf_counter()
    total = t3 - t0
    print(f"road pieces {t1 - t0:.1f} s, segments {t2 - t1:.1f} s, coverage and time in grids "
          f"(at once, {min(cores(), 2)} threads) {t3 - t2:.1f} s: {total:.1f} s in all "
          f"({len(covered):,} worker-grid rows, {spent['seconds'].sum() / 3600:,.0f} hours)")
    if args.one_by_one:
        t0 = time.perf_counter()
        segments(group, t, x, y, max_gap_s=300, threads=1)
        t1 = time.perf_counter()
        road_coverage(pieces, segs)
        t2 = time.perf_counter()
        time_in_grids(segs, g, codes)
        t3 = time.perf_counter()
        print(f"one thread: segments {t1 - t0:.1f} s, coverage {t2 - t1:.1f} s, "
              f"time in grids {t3 - t2:.1f} s")
    print(f"anchor (project the fixes there and back): {anchor:.2f} s; ratio {total / anchor:.1f}")
    print(f"goal < 30 s: {'met' if total < 30 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=500, help="points per upload")
    parser.add_argument("--coverage", action="store_true", help="the coverage benchmark")
    parser.add_argument("--scale", default="district", choices=["small", "town", "district"])
    parser.add_argument("--sample", help="a generated sample folder (skips generation)")
    parser.add_argument("--workers-day", type=int, default=5000)
    parser.add_argument("--one-by-one", action="store_true",
                        help="also time each step on one thread, one after the other")
    args = parser.parse_args()
    if args.coverage:
        bench_coverage(args)
    else:
        bench_ingestion(args)


if __name__ == "__main__":
    main()
