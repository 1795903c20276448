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
    answer), Gi* hot spots of the 10 M events, emerging hot spots over weekly
    steps and camera coverage with occlusion of every basic grid, each next to
    the same analysis in one process (the server's ``hotspot_report``,
    ``emerging_report`` and ``coverage_report``): the time ratio, and whether
    the results are the same (``--analyses`` chooses among them).

The events are written without their history rows by default (``--history`` to
keep them: about seven per event, 70 M rows).

Usage::

    python bench/province.py --out /tmp/province           # all stages
    python bench/province.py --out /tmp/province --districts 2 --stage generate
    python bench/province.py --out /tmp/province --stage analyse --analyses emerging,coverage \
        --database-url postgresql+psycopg://...   # a database the load stage filled
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
    from api.batch import runner
    from api.settings import libpq_url

    chosen = set(args.analyses.split(","))
    with runner.cluster(n_workers=2) as client:
        client.run(lambda: __import__("api.batch.runner"))  # imports before the clock
        for name in ANALYSES:
            if name in chosen:
                ANALYSES[name](args, url, libpq_url(url), client)


def _timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = call()
    return out, time.perf_counter() - started


def _one_process(url: str, call: Any) -> tuple[Any, float]:
    """``call(connection)`` on ``url``, timed, in a transaction rolled back afterwards."""
    from api.db.session import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            out, took = _timed(lambda: call(conn))
            conn.rollback()
    finally:
        engine.dispose()
    return out, took


def analyse_assign(args: argparse.Namespace, url: str, plain: str, client: Any) -> None:
    from api.batch import runner

    assigned, took = _timed(lambda: runner.run_assign(client, plain, tiles=args.tiles))
    print(f"analyse: Dask re-assignment of {assigned['events']:,} events in {took:.0f} s "
          f"({assigned['events'] / took:,.0f}/s), changed {assigned['changed']} "
          f"(0: equal to the one-statement assignment of the load)")


def analyse_hotspots(args: argparse.Namespace, url: str, plain: str, client: Any) -> None:
    import numpy as np
    import pandas as pd

    from api.analytics.hotspots import hotspot_report
    from api.batch import runner
    from api.db.session import make_engine

    spots, t_batch = _timed(lambda: runner.run_hotspots(client, plain, resolution=9, parent=6,
                                                        tiles=args.tiles))
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            stored = pd.read_sql("SELECT cell, z, hot_class FROM hotspot_cells "
                                 "WHERE method = 'gi_star:h3:9' ORDER BY cell", conn)
    finally:
        engine.dispose()
    report, t_one = _one_process(url, lambda c: hotspot_report(c, "h3:9", None, None, None,
                                                               0.05))
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).sort_values("cell").reset_index(drop=True)
    same = (stored["cell"].tolist() == cells["cell"].tolist()
            and stored["hot_class"].tolist() == cells["class"].tolist()
            and bool(np.allclose(stored["z"], cells["z"], rtol=1e-9)))
    print(f"analyse: hot spots (h3:9, {len(cells):,} cells) Dask {t_batch:.0f} s, one process "
          f"{t_one:.0f} s: ratio {t_one / t_batch:.2f}x; same cells, z and classes: {same}; "
          f"classes {spots['classes']}")


def analyse_emerging(args: argparse.Namespace, url: str, plain: str, client: Any) -> None:
    import numpy as np
    import pandas as pd

    from api.analytics.hotspots import emerging_report
    from api.batch import runner

    batched, t_batch = _timed(lambda: runner.run_emerging(
        client, plain, resolution=9, step=args.step, parent=6, tiles=args.tiles))
    report, t_one = _one_process(url, lambda c: emerging_report(c, 9, args.step, None, None,
                                                                None))
    cells = pd.DataFrame([f["properties"] for f in report["cells"]["features"]]
                         ).set_index("cell").sort_index()
    same = {
        "time steps": batched.attrs["time_steps"] == list(pd.to_datetime(report["time_steps"])),
        "cells": batched.index.tolist() == cells.index.tolist(),
        "patterns": batched["pattern"].tolist() == cells["pattern"].tolist(),
        "events": batched["events"].tolist() == cells["events"].tolist(),
        "hot and cold steps": batched[["n_hot", "n_cold"]].to_numpy().tolist()
        == cells[["n_hot", "n_cold"]].to_numpy().tolist(),
        "final z": bool(np.allclose(batched["final_z"], cells["final_z"], rtol=1e-9,
                                    atol=1e-12)),
    }
    patterns = batched["pattern"].value_counts().to_dict()
    differ = [k for k, v in same.items() if not v]
    print(f"analyse: emerging hot spots (h3:9, step {args.step}, {len(batched):,} cells x "
          f"{len(batched.attrs['time_steps'])} steps, {int(batched['events'].sum()):,} events) "
          f"Dask {t_batch:.0f} s, one process {t_one:.0f} s: ratio {t_one / t_batch:.2f}x; "
          f"same {', '.join(k for k, v in same.items() if v) or 'nothing'}"
          f"{'; DIFFERENT ' + ', '.join(differ) if differ else ''}"
          f"; patterns {patterns}")


def analyse_coverage(args: argparse.Namespace, url: str, plain: str, client: Any) -> None:
    import pandas as pd

    from api.analytics.service import coverage_report
    from api.batch import runner

    figures, t_batch = _timed(lambda: runner.run_coverage(client, plain, layer="basic",
                                                          min_area_m2=100.0, tiles=args.tiles))
    report, t_one = _one_process(url, lambda c: coverage_report(c, "basic", None, 100.0))
    expected = pd.DataFrame(report["grids"]).set_index("code").sort_index()
    columns = [c for c in figures.columns if c in expected.columns]
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(expected[c])]
    same_grids = figures.index.tolist() == expected.index.tolist()
    worst = {c: float((figures[c] - expected.loc[figures.index, c]).abs().max())
             for c in numeric} if same_grids else {}
    print(f"analyse: camera coverage with occlusion ({len(figures):,} basic grids, "
          f"{figures.attrs.get('cameras', 0):,} cameras, {figures.attrs.get('blind_spots', 0):,} "
          f"blind spots) Dask {t_batch:.0f} s, one process {t_one:.0f} s: ratio "
          f"{t_one / t_batch:.2f}x; same grids: {same_grids}; largest difference per column "
          f"{ {k: round(v, 6) for k, v in worst.items()} }")


ANALYSES = {"assign": analyse_assign, "hotspots": analyse_hotspots,
            "emerging": analyse_emerging, "coverage": analyse_coverage}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the province directory")
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--part", default="district", help="district or small")
    parser.add_argument("--history", action="store_true")
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--stage", choices=("generate", "load", "analyse", "all"),
                        default="all")
    parser.add_argument("--analyses", default=",".join(ANALYSES),
                        help=f"which analyses, comma-separated ({','.join(ANALYSES)})")
    parser.add_argument("--step", default="7D", help="time step of the emerging hot spots")
    parser.add_argument("--server-url", default=None,
                        help="a PostgreSQL server (default: a throwaway embedded cluster)")
    parser.add_argument("--database-url", default=None,
                        help="a migrated database to load into and analyse, kept afterwards "
                             "(``--stage analyse`` analyses what an earlier load put there)")
    args = parser.parse_args(argv)
    unknown = set(args.analyses.split(",")) - set(ANALYSES)
    if unknown:
        parser.error(f"--analyses: unknown {', '.join(sorted(unknown))}")
    if args.stage in ("generate", "all"):
        stage_generate(args)
    if args.database_url is not None:
        if args.stage in ("load", "all"):
            stage_load(args, args.database_url)
        if args.stage in ("analyse", "all"):
            stage_analyse(args, args.database_url)
    elif args.stage in ("load", "analyse", "all"):
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
