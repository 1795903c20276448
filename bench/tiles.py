"""Vector tile speed, side by side on the same tables (issue 7, "Speed").

(a) Uncached z14 buildings tile: our server (HTTP, cache off) against the raw
    ``ST_AsMVT`` query run directly with psycopg (goal: at most 1.2x) - our
    layer's own statement, and the plain query one would write by hand.
(b) Throughput on a fixed set of buildings tiles (z14-z16 over the town) under
    concurrent load on loopback: our server uncached and with the cache warm,
    against tipg (``pip install tipg``) pointed at the same database
    (goals: at least 2x and 5x).

The three servers (tipg, ours with the cache off, ours with a warm cache) run
side by side on the same fresh database (the ``town`` sample by default), one
uvicorn worker each, and are loaded in turn, ``--repeats`` rounds of short
runs, so that drift in the machine's speed (large on a shared 2-core VM)
touches all of them alike; the ratio is the median of the ratios within a round. The
load generator is a small keep-alive HTTP/1.1 client on asyncio, so it costs
the same for every server. Run::

    .venv/bin/python bench/tiles.py [--scale town] [--concurrency 16] [--seconds 3] [--repeats 7]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client as http_client
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from layers import get_layer  # noqa: E402
from testkit.baseline import BEFORE_TRUST, checkout  # noqa: E402
from testkit.baseline import database as before_database  # noqa: E402
from testkit.databases import analysed_sample_database as database  # noqa: E402
from testkit.databases import cached_sample, plain  # noqa: E402
from testkit.servers import uvicorn_server  # noqa: E402
from testkit.tiles import tile_of  # noqa: E402

PROPS = "code,name,address,floors,height,use,community_code,status"


def tile_set(url: str, zooms: tuple[int, ...], limit: int) -> list[tuple[int, int, int]]:
    """Tiles over the buildings' extent at ``zooms`` (at most ``limit`` per zoom)."""
    with psycopg.connect(plain(url)) as conn:
        row = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           "(SELECT ST_Extent(geom) e FROM buildings) s").fetchone()
    assert row is not None
    out = []
    for z in zooms:
        x0, y0 = tile_of(row[0], row[3], z)
        x1, y1 = tile_of(row[2], row[1], z)
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        out += tiles[:limit]
    return out


@contextmanager
def server(args: list[str], env: dict[str, str], tree: Path = REPO) -> Iterator[str]:
    """One uvicorn worker of ``args`` in the checkout ``tree``, in a folder of its own."""
    cwd = Path(tempfile.mkdtemp(prefix="gridgov-bench-srv-"))
    with uvicorn_server(args, env, tree=tree, cwd=cwd, timeout=90) as (base, _):
        yield base


# ---------------------------------------------------------------------- load generator


async def _fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                 path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        low = line.lower()
        if low.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif low.startswith(b"transfer-encoding:") and b"chunked" in low:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _load(base: str, paths: list[str], concurrency: int, seconds: float
                ) -> tuple[int, int, float]:
    host, port = base.removeprefix("http://").split(":")
    done = errors = 0
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        i = k
        while time.perf_counter() < stop:
            status = await _fetch(reader, writer, f"{host}:{port}", paths[i % len(paths)])
            i += concurrency
            done += 1
            errors += status not in (200, 204)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done, errors, time.perf_counter() - start


def throughput(base: str, paths: list[str], concurrency: int, seconds: float) -> float:
    """Requests per second over ``paths`` round-robin with ``concurrency`` connections."""
    done, errors, elapsed = asyncio.run(_load(base, paths, concurrency, seconds))
    if errors:
        raise RuntimeError(f"{errors} of {done} requests to {base} failed")
    return done / elapsed


def warm(base: str, paths: list[str]) -> None:
    """Request every path once (fills caches, prepares statements, checks they answer)."""
    for path in paths:
        with urllib.request.urlopen(base + path, timeout=120) as resp:
            if resp.status not in (200, 204):
                raise RuntimeError(f"{base + path}: {resp.status}")
            resp.read()


PLAIN_TILE = """
SELECT ST_AsMVT(q, 'buildings', 4096, 'geom', 'fid') FROM (
  SELECT t.id AS fid, t.code AS "code", t.name AS "name", t.address AS "address",
         t.floors AS "floors", t.height AS "height", t.use AS "use",
         t.community_code AS "community_code", t.status AS "status",
         ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                      4096, 64, true) AS geom
  FROM buildings AS t
  WHERE t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326)
) AS q"""


def z14_ms(url: str, base: str, tiles: list[tuple[int, int, int]], rounds: int
           ) -> dict[str, float]:
    """Median ms per z14 tile: raw queries run directly, and our server.

    The raw queries: our layer's tile statement (planned each time, prepared) and
    the plain query one would write by hand (:data:`PLAIN_TILE`: transform and
    ``ST_AsMVTGeom`` per row). Each round times one pass over the tiles per
    contender, in turn, so drift of the machine's speed touches all alike, and no
    contender runs a tile right after another one has just built it (warm CPU
    caches). The raw queries run on one psycopg connection; the server is asked
    over one keep-alive HTTP connection.
    """
    sql = get_layer("buildings").tile_sql.text
    for name in ("z", "x", "y"):
        sql = sql.replace(f":{name}", f"%({name})s")
    host, port = base.removeprefix("http://").split(":")
    http = http_client.HTTPConnection(host, int(port), timeout=120)
    times: dict[str, list[float]] = {"planned": [], "prepared": [], "plain": [], "ours": []}
    with psycopg.connect(plain(url), autocommit=True) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        try:
            for _ in range(rounds):
                for kind in ("planned", "prepared", "plain"):
                    for z, x, y in tiles:
                        t = time.perf_counter()
                        conn.execute(PLAIN_TILE if kind == "plain" else sql,
                                     {"z": z, "x": x, "y": y},
                                     prepare=kind == "prepared").fetchone()
                        times[kind].append(time.perf_counter() - t)
                for z, x, y in tiles:
                    t = time.perf_counter()
                    http.request("GET", f"/tiles/buildings/{z}/{x}/{y}.mvt")
                    resp = http.getresponse()
                    resp.read()
                    times["ours"].append(time.perf_counter() - t)
                    if resp.status not in (200, 204):
                        raise RuntimeError(f"{base}: tile {z}/{x}/{y}: {resp.status}")
        finally:
            http.close()
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="town", choices=("small", "town", "district"))
    parser.add_argument("--server-url", default=None,
                        help="an existing PostgreSQL server (default: a throwaway cluster)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=7,
                        help="rounds of load runs, one per server in turn (medians reported)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--before-trust", default=BEFORE_TRUST,
                        help="also run the server as it was before the trust layer (a "
                             "checkout of this commit) with a warm cache; 'none' skips it")
    args = parser.parse_args(argv)

    with database(args.server_url, args.scale) as url, ExitStack() as stack:
        z14 = tile_set(url, (14,), 16)
        fixed = tile_set(url, (14, 15, 16), 24)
        paths = {
            "ours": [f"/tiles/buildings/{z}/{x}/{y}.mvt" for z, x, y in fixed],
            "tipg": [f"/collections/public.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}"
                     f"?properties={PROPS}" for z, x, y in fixed]}
        print(f"database: {args.scale} sample; {len(z14)} z14 tiles; fixed set of "
              f"{len(fixed)} tiles (z14-z16); concurrency {args.concurrency}, "
              f"{args.repeats} x {args.seconds:.0f} s per server, taken in turn")

        # all three servers run side by side; only one is loaded at a time
        app = ["api.main:app_from_env", "--factory"]
        ours_env = {"DATABASE_URL": url, "GRIDGOV_TILES_CACHE_BYTES": "0"}
        tipg_env = {"DATABASE_URL": plain(url), "TIPG_DB_TABLES": '["public.buildings"]',
                    "TIPG_MAX_FEATURES_PER_TILE": "100000"}
        warm_env = {**ours_env, "GRIDGOV_TILES_CACHE_BYTES": str(512 * 2**20)}
        bases = {
            "tipg": stack.enter_context(server(["tipg.main:app"], tipg_env)),
            "uncached": stack.enter_context(server(app, ours_env)),
            "warm": stack.enter_context(server(app, warm_env)),
        }
        if args.before_trust != "none":  # the same sample, in that commit's schema
            tree = stack.enter_context(checkout(args.before_trust))
            before_url = stack.enter_context(
                before_database(url, tree, cached_sample(args.scale), analyze=True))
            bases["before"] = stack.enter_context(
                server(app, {**warm_env, "DATABASE_URL": before_url}, tree))
        paths_of = {name: paths["tipg" if name == "tipg" else "ours"] for name in bases}
        for name, base in bases.items():
            warm(base, paths_of[name])
            # one short load run, not counted: pools grow to their size under load
            throughput(base, paths_of[name], args.concurrency, 1.0)
        seq = z14_ms(url, bases["uncached"], z14, args.rounds)
        runs: dict[str, list[float]] = {name: [] for name in bases}
        for _ in range(args.repeats):
            for name, base in bases.items():
                runs[name].append(throughput(base, paths_of[name], args.concurrency,
                                             args.seconds))
        rps = {name: statistics.median(r) for name, r in runs.items()}

    print("\n(a) uncached z14 buildings tile, median ms (passes over the tiles in turn)")
    print(f"  our tile statement via psycopg (planned each time)  {seq['planned']:8.2f}")
    print(f"  our tile statement via psycopg (prepared)           {seq['prepared']:8.2f}")
    print(f"  plain ST_AsMVT query by hand via psycopg            {seq['plain']:8.2f}")
    print(f"  gridgov over HTTP, cache off                        {seq['ours']:8.2f}")
    print(f"  ratio gridgov / raw statement: {seq['ours'] / seq['planned']:.2f}x (goal <= 1.2x); "
          f"vs prepared: {seq['ours'] / seq['prepared']:.2f}x; vs the plain query: "
          f"{seq['ours'] / seq['plain']:.2f}x")
    print("\n(b) throughput on the fixed tile set, requests/s (median of the runs); ratio to")
    print("    tipg: median over the rounds of the ratio within a round (runs seconds apart)")
    for name, label, goal in (("tipg", "tipg                ", ""),
                              ("uncached", "gridgov, cache off  ", "(goal >= 2x)"),
                              ("warm", "gridgov, cache warm ", "(goal >= 5x)")):
        each = ", ".join(f"{r:.0f}" for r in runs[name])
        ratio = statistics.median(r / t for r, t in zip(runs[name], runs["tipg"], strict=True))
        print(f"  {label} {rps[name]:9.1f}   [{each}]"
              + (f"\n{'':24}ratio {ratio:.2f}x {goal}" if goal else ""))
    if "before" in runs:
        each = ", ".join(f"{r:.0f}" for r in runs["before"])
        ratio = statistics.median(w / b for w, b in zip(runs["warm"], runs["before"],
                                                        strict=True))
        print(f"  before the trust layer, warm {rps['before']:9.1f}   [{each}]\n"
              f"{'':24}ratio today / before {ratio:.3f}: the trust layer costs "
              f"{100 * (1 - ratio):.1f}% of cached tile throughput (goal <= 10%: "
              f"{'met' if ratio >= 0.9 else 'NOT met'})")


if __name__ == "__main__":
    main()
