"""Benchmark: the province sample, made district by district, loaded, and analysed on Dask.

Three stages, each printing its figures:

``generate``
    ``gridgov sample --scale province`` (12 districts of 4,200 grids, 170,000
    buildings and 834,000 events: 50,400 grids, 2.04 M buildings, 10 M events) in
    a child process, and a province of one district of the same size in another:
    the ratio of their peak memory (RSS) shows whether the province is held in
    memory at once (about 1.0: one district at a time).
``load``
    ``gridgov load`` of the province into a fresh database (the embedded cluster,
    or ``--server-url``), then ``VACUUM ANALYZE``; rows per second of events.
``analyse``
    on a 2-process LocalCluster: the bulk re-assignment of every event (it must
    change none: the loader's single-statement assignment is the one-process
    answer) and Gi* hot spots of the 10 M events, next to the same hot spots in
    one process (``hotspot_report``): the time ratio, and whether the classes and
    z-scores are the same.

The events are written without their history rows by default (``--history`` to
keep them: about seven per event, 70 M rows).

Usage::

    python bench/province.py --out /tmp/province           # all stages
    python bench/province.py --out /tmp/province --districts 2 --stage generate
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHILD = """
import json, resource, sys, time
from data_samples.province import generate_province
started = time.perf_counter()
m = generate_province(sys.argv[1], seed=42, districts=int(sys.argv[2]), part=sys.argv[3],
                      end="2026-11-01", history=sys.argv[4] == "1")
print(json.dumps({"seconds": time.perf_counter() - started, "counts": m.counts,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _generate(out: Path, districts: int, part: str, history: bool) -> dict[str, Any]:
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), str(districts), part,
                           "1" if history else "0"], cwd=root, check=True,
                          capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def stage_generate(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as one:
        anchor = _generate(Path(one), 1, args.part, args.history)
    whole = _generate(args.out, args.districts, args.part, args.history)
    c = whole["counts"]
    print(f"generate: {args.districts} districts in {whole['seconds']:.0f} s "
          f"({c['grids.basic']:,} basic grids, {c['buildings']:,} buildings, "
          f"{c['cameras']:,} cameras, {c['events']:,} events, {c['event_history']:,} "
          f"history rows); one district {anchor['seconds']:.0f} s")
    print(f"generate: peak memory {whole['peak_rss_mb']:,.0f} MB against "
          f"{anchor['peak_rss_mb']:,.0f} MB for one district: "
          f"ratio {whole['peak_rss_mb'] / anchor['peak_rss_mb']:.2f} "
          f"(1.0: one district in memory at a time)")


def stage_load(args: argparse.Namespace, url: str) -> None:
    from api.db.session import make_engine
    from api.io.samples import analyse, load_directory

    engine = make_engine(url, pool_size=2)
    try:
        started = time.perf_counter()
        counts = load_directory(engine, args.out)
        loaded = time.perf_counter() - started
        analyse(engine)
        settled = time.perf_counter() - started - loaded
    finally:
        engine.dispose()
    print(f"load: {loaded:.0f} s ({counts['events'] / loaded:,.0f} events/s with everything "
          f"else), VACUUM ANALYZE {settled:.0f} s; {json.dumps(counts)}")


def stage_analyse(args: argparse.Namespace, url: str) -> None:
    import numpy as np
    import pandas as pd

    from api.analytics.hotspots import hotspot_report
    from api.batch import runner
    from api.db.session import make_engine
    from api.settings import libpq_url

    plain = libpq_url(url)
    with runner.cluster(n_workers=2) as client:
        started = time.perf_counter()
        assigned = runner.run_assign(client, plain, tiles=args.tiles)
        t_assign = time.perf_counter() - started
        started = time.perf_counter()
        spots = runner.run_hotspots(client, plain, resolution=9, parent=6, tiles=args.tiles)
        t_batch = time.perf_counter() - started
    print(f"analyse: Dask re-assignment of {assigned['events']:,} events in {t_assign:.0f} s "
          f"({assigned['events'] / t_assign:,.0f}/s), changed {assigned['changed']} "
          f"(0: equal to the one-statement assignment of the load)")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            stored = pd.read_sql("SELECT cell, z, hot_class FROM hotspot_cells "
                                 "WHERE method = 'gi_star:h3:9' ORDER BY cell", conn)
            started = time.perf_counter()
            report = hotspot_report(conn, "h3:9", None, None, None, 0.05)
            t_one = time.perf_counter() - started
    finally:
        engine.dispose()
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).sort_values("cell").reset_index(drop=True)
    same = (stored["cell"].tolist() == cells["cell"].tolist()
            and stored["hot_class"].tolist() == cells["class"].tolist()
            and bool(np.allclose(stored["z"], cells["z"], rtol=1e-9)))
    print(f"analyse: hot spots (h3:9, {len(cells):,} cells) Dask {t_batch:.0f} s, one process "
          f"{t_one:.0f} s: ratio {t_one / t_batch:.2f}x; same cells, z and classes: {same}; "
          f"classes {spots['classes']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the province directory")
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--part", default="district", help="district or small")
    parser.add_argument("--history", action="store_true")
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--stage", choices=("generate", "load", "analyse", "all"),
                        default="all")
    parser.add_argument("--server-url", default=None,
                        help="a PostgreSQL server (default: a throwaway embedded cluster)")
    args = parser.parse_args(argv)
    if args.stage in ("generate", "all"):
        stage_generate(args)
    if args.stage in ("load", "analyse", "all"):
        from testkit.clusters import server_or_throwaway
        from testkit.databases import migrated_database

        with server_or_throwaway(args.server_url) as server, \
                migrated_database(server, "gridgov_province") as url:
            stage_load(args, url)
            if args.stage != "load":
                stage_analyse(args, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
