"""Benchmark: grid assignment over HTTP (``POST /api/v1/assign``) against the same index in process.

Builds the ~4,000 wiggly Voronoi grids of ``bench/assign.py``, imports them as an
exclusive layer into a throwaway PostGIS (or ``--database-url``, an empty
migrated database is then expected), starts ``uvicorn`` on loopback and sends
single-point requests one after another over a kept-alive connection: p50 and
p99 latency (goal: p50 under 2 ms), next to the in-process ``GridIndex.assign``
of one point measured in the same run (the anchor), then batches of 100,000
points (throughput against the in-process call on the same points).

    python bench/assign_http.py [--grids 4000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.baseline import staff_token  # noqa: E402
from testkit.clusters import server_or_throwaway  # noqa: E402
from testkit.servers import bench_server  # noqa: E402
from testkit.synthetic import PG_SETTINGS, make_grids, make_points  # noqa: E402


def _percentiles(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples) * 1e3, [50, 99])
    return float(p50), float(p99)


def run(url: str, args: argparse.Namespace) -> None:
    import httpx

    from api.db.migrate import upgrade
    from api.db.session import make_engine
    from api.io.importer import ImportOptions, import_file
    from gis_core.grid_index import GridIndex

    grids = make_grids(args.grids)
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grids.gpkg"
        grids.to_file(path)
        import_file(engine, "grids", path, ImportOptions(layer="basic", code_field="code"))
    engine.dispose()
    x, y = make_points(grids, max(args.requests, args.batch))
    index = GridIndex(grids)
    local = []
    for i in range(args.requests):
        t = time.perf_counter()
        index.assign(x[i:i + 1], y[i:i + 1])
        local.append(time.perf_counter() - t)
    t = time.perf_counter()
    expected = index.assign(x[:args.batch], y[:args.batch])["grid"].tolist()
    local_batch = time.perf_counter() - t

    token = staff_token(REPO, url, "bench-assign", role="analyst")  # assignment is staff-only
    with bench_server(url) as (base, _), httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(200):  # warm up (the index is built at start-up)
            client.post("/api/v1/assign", json={"points": [[x[i], y[i]]]})
        remote, wrong = [], 0
        for i in range(args.requests):
            body = json.dumps({"points": [[x[i], y[i]]]})
            t = time.perf_counter()
            resp = client.post("/api/v1/assign", content=body,
                               headers={"content-type": "application/json"})
            remote.append(time.perf_counter() - t)
            wrong += resp.json()["results"][0]["basic"] != expected[i]
        body = json.dumps({"points": np.column_stack([x[:args.batch], y[:args.batch]]).tolist()})
        t = time.perf_counter()
        resp = client.post("/api/v1/assign", content=body,
                           headers={"content-type": "application/json"})
        http_batch = time.perf_counter() - t
        wrong += sum(r["basic"] != e for r, e in zip(resp.json()["results"], expected,
                                                     strict=True))
    lp50, lp99 = _percentiles(local)
    rp50, rp99 = _percentiles(remote)
    print(f"grids: {len(grids)}, single-point requests: {args.requests}")
    print(f"{'one point':<34}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'GridIndex.assign in process':<34}{lp50:>10.3f}{lp99:>10.3f}")
    print(f"{'POST /api/v1/assign (HTTP)':<34}{rp50:>10.3f}{rp99:>10.3f}")
    print(f"HTTP p50 / in-process p50: {rp50 / lp50:.1f}x; HTTP p50 goal < 2 ms: "
          f"{'met' if rp50 < 2 else 'NOT met'}")
    print(f"batch of {args.batch:,} points: in process {local_batch:.3f} s, over HTTP "
          f"{http_batch:.3f} s ({args.batch / http_batch:,.0f} points/s, "
          f"{http_batch / local_batch:.1f}x the in-process time)")
    print(f"answers differing from the in-process index: {wrong}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", type=int, default=4000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--database-url", default=None,
                        help="an empty database to use (default: a throwaway cluster)")
    args = parser.parse_args()
    with server_or_throwaway(args.database_url, settings=PG_SETTINGS) as url:
        run(url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
