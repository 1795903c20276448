"""Benchmark: read offload to a streaming replica - primary CPU per tile with and without it.

Starts a throwaway durable cluster with the small sample, a hot standby of it
(``pg_basebackup -R``, testkit/replicas.py), then the server twice in turn: reading
everything from the primary, and with ``GRIDGOV_DATABASE_READ_URL`` on the
replica. Each is driven with uncached vector tiles (``GRIDGOV_TILES_CACHE_BYTES=0``,
events and buildings at z15/z16 over the sample) for ``--seconds``; the CPU of
the primary's and the replica's PostgreSQL processes and of the server comes
from ``/proc`` (``bench/intake_floors.py``). Goal: with the replica, the
primary spends a small fraction of its CPU per tile without it (what is left is
the change-counter check). The machine is shared: the ratios of one run count.

Usage::

    python bench/replica_reads.py --seconds 10 --concurrency 8
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.cpu import CpuMeter, postmaster_pid  # noqa: E402
from testkit.databases import plain, throwaway_sample_database  # noqa: E402
from testkit.load import run_load  # noqa: E402
from testkit.replicas import streaming_replica, wait_for_replay  # noqa: E402
from testkit.servers import bench_server  # noqa: E402


def tile_paths(url: str) -> list[str]:
    """The z15/z16 tiles of events and buildings over the sample's extent."""
    import psycopg

    with psycopg.connect(plain(url)) as conn:
        box = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           "(SELECT ST_Extent(geom) AS e FROM grids) s").fetchone()
    assert box is not None
    paths = []
    for z in (15, 16):
        n = 1 << z
        x0, x1 = (int((v + 180) / 360 * n) for v in (box[0], box[2]))
        y0, y1 = (int((1 - math.asinh(math.tan(math.radians(v))) / math.pi) / 2 * n)
                  for v in (box[3], box[1]))
        paths += [f"/tiles/{layer}/{z}/{x}/{y}.mvt" for layer in ("events", "buildings")
                  for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return paths


def measure(url: str, env: dict[str, str], paths: list[str], roots: dict[str, int],
            args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, float]]:
    """Tiles/s and the CPU by role while the server (with ``env``) serves ``paths``."""
    with bench_server(url, args.workers, env) as (base, pid):
        meter = CpuMeter({**roots, "server": pid})
        meter.start()
        out = run_load(base, lambda w, i: ("GET", paths[(w * 7919 + i) % len(paths)], b"",
                                           {}), args.concurrency, 1.0, args.seconds)
        return out, meter.stop()


def _per_tile(used: dict[str, float], tree: str, tiles: int) -> float:
    return 1000 * sum(v for k, v in used.items() if k.startswith(tree + ":")) / max(tiles, 1)


def main() -> None:
    """Command line entry."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    with throwaway_sample_database(None) as (url, _), streaming_replica(url) as replica:
        import psycopg

        with psycopg.connect(plain(url)) as a, psycopg.connect(plain(replica)) as b:
            wait_for_replay(a, b)
        paths = tile_paths(url)
        roots = {"primary": postmaster_pid(url), "replica": postmaster_pid(replica)}
        base_env = {"GRIDGOV_TILES_CACHE_BYTES": "0"}
        runs = {"primary only": measure(url, base_env, paths, roots, args),
                "with replica": measure(url, {**base_env, "GRIDGOV_DATABASE_READ_URL": replica},
                                        paths, roots, args)}
    for name, (out, used) in runs.items():
        tiles = out["requests"]
        print(f"{name:>12}: {out['rate']:7.0f} tiles/s  p50 {out['p50']:6.1f} ms  statuses "
              f"{out['statuses']}; CPU ms per tile: primary {_per_tile(used, 'primary', tiles):.2f}"
              f", replica {_per_tile(used, 'replica', tiles):.2f}, server "
              f"{_per_tile(used, 'server', tiles):.2f}")
    (a_out, a_used), (b_out, b_used) = runs.values()
    ratio = (_per_tile(b_used, "primary", b_out["requests"])
             / max(_per_tile(a_used, "primary", a_out["requests"]), 1e-9))
    print(f"primary CPU per tile with the replica / without: {ratio:.3f} (the machine is "
          "shared: compare the ratios of one run)")


if __name__ == "__main__":
    main()
