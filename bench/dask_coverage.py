"""Benchmark: camera coverage on a 2-process Dask LocalCluster against one process.

The sample of ``--scale`` (default ``town``: about 120 grids, 300 cameras,
10,000 buildings) is loaded into a fresh database on a throwaway cluster. One
process runs :func:`api.analytics.service.coverage_report` on the layer (in a
transaction rolled back afterwards); the cluster runs
:func:`api.batch.runner.run_coverage` with the same parameters, the cluster
started and its workers' imports done before the clock. Prints both times, their
ratio (the ceiling is the number of workers) and the largest difference of the
covered area of a grid between the two (m2).

Usage::

    python bench/dask_coverage.py                  # town, 3 x 3 tiles
    python bench/dask_coverage.py --scale district --tiles 6
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import cast

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.analytics.service import coverage_report  # noqa: E402
from api.batch import runner  # noqa: E402
from api.db.session import make_engine  # noqa: E402
from api.settings import libpq_url  # noqa: E402
from data_samples.generator import Scale  # noqa: E402
from testkit.databases import analysed_sample_database as database  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="town", choices=["small", "town", "district"])
    parser.add_argument("--tiles", type=int, default=3, help="tiles per side")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", default=None, help="a PostgreSQL server URL to use")
    args = parser.parse_args(argv)
    with database(args.server, cast("Scale", args.scale)) as url:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                start = time.perf_counter()
                report = coverage_report(conn, "basic", None, 100.0)
                one = time.perf_counter() - start
                conn.rollback()
        finally:
            engine.dispose()
        expected = pd.DataFrame(report["grids"]).set_index("code").sort_index()
        with runner.cluster(n_workers=args.workers) as client:
            client.run(lambda: __import__("api.batch.runner"))  # imports before the clock
            start = time.perf_counter()
            figures = runner.run_coverage(client, libpq_url(url), tiles=args.tiles)
            many = time.perf_counter() - start
    differ = float((figures["covered_m2"] - expected["covered_m2"]).abs().max())
    print(f"scale {args.scale}: grids {len(expected):,}, cameras {report['cameras']:,}, "
          f"tiles {args.tiles}x{args.tiles} ({figures.attrs['partitions']} with grids), "
          f"workers {args.workers}")
    print(f"one process : {one:8.2f} s")
    print(f"dask        : {many:8.2f} s")
    print(f"ratio one process / dask: {one / many:.2f} (ceiling {args.workers}); "
          f"largest covered-area difference of a grid: {differ:.3g} m2")
    return 0 if differ < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
