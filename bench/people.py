"""Benchmark: the people archive at district scale.

1. Import of ``--n`` synthetic persons (default 1,000,000) from a CSV with the
   offices' headers (each with a valid ID number, a phone and a room of the small
   sample town) through ``gridgov import people``'s function; anchor: a plain COPY
   of the same rows into a scratch table. Goal: under 3 minutes for 1,000,000.
2. Lookup by ID number over HTTP (``POST /api/v1/people/lookup``, one uvicorn
   worker, sequential requests on one keep-alive connection of the benches' lean
   client, ``testkit.load``): p50 / p99; anchors: ``GET /healthz`` and the HTTP floor
   (``GET /open311/v2/discovery.json``) by the same client. Goal: p99 < 5 ms. The same
   lookups from httpx are printed beside them (httpx costs about a millisecond itself).
3. Per-grid population counts uncached (``GET /api/v1/people/stats``, every basic
   grid). Goal: < 50 ms.
4. The ``population`` tile layer uncached: every z14 tile over the town, drawn
   straight from the database (``Layer.tile``, no cache); anchor: the same tiles of
   the basic grid layer (the same polygons without the counts). Goal: < 50 ms median.

Only synthetic people. Run:  .venv/bin/python bench/people.py [--n 1000000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.audit.service import Actor  # noqa: E402
from api.auth.service import create_user  # noqa: E402
from api.db.session import make_engine  # noqa: E402
from api.imports.admin_codes import DivisionTable  # noqa: E402
from api.people.importer import HEADERS, import_people, settle  # noqa: E402
from api.personal.cipher import PersonalCipher  # noqa: E402
from api.settings import Settings  # noqa: E402
from coding.resident_id import make_resident_id  # noqa: E402
from testkit.databases import throwaway_sample_database  # noqa: E402
from testkit.servers import bench_server  # noqa: E402
from testkit.tiles import tile_of  # noqa: E402


def synthetic_csv(path: Path, n: int, rooms: list[str]) -> list[str]:
    """``n`` synthetic persons; returns their ID numbers."""
    ids: list[str] = []
    born = date(1940, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([HEADERS[f][0] for f in ("name", "id_number", "phone", "room_code",
                                              "residence_kind")])
        for i in range(n):
            number = make_resident_id("440305", born + timedelta(days=i // 1000 % 25000),
                                      i % 1000)
            ids.append(number)
            out.writerow([f"测试{i}", number, f"139{i:08d}", rooms[i % len(rooms)], "居住"])
    return ids


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def bench_import(url: str, n: int, tmp: Path) -> list[str]:
    engine = make_engine(url, pool_size=2)
    with engine.connect() as conn:
        rooms = [str(c) for c in conn.execute(text("SELECT code FROM rooms ORDER BY code"))
                 .scalars()]
    path = tmp / "people.csv"
    ids = synthetic_csv(path, n, rooms)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE anchor (a text, b text, c text, d text, e text)"))
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, path.open("rb") as fh, cur.copy(
                "COPY anchor FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(fh.read())
    anchor = time.perf_counter() - t0
    cipher = PersonalCipher.from_settings(Settings())
    t0 = time.perf_counter()
    with engine.begin() as conn:
        counts = import_people(conn, path, cipher, DivisionTable.load(), Actor("bench"))
    settle(engine)  # as ``gridgov import people`` does after its commit
    took = time.perf_counter() - t0
    print(f"import {counts['persons']:,} persons: {took:.1f} s ({n / took:,.0f}/s); plain COPY "
          f"of the file {anchor:.2f} s; ratio {took / anchor:.0f}x; goal < 180 s for 1,000,000")
    engine.dispose()
    return ids


def _timed_lean(base: str, token: str, ids: list[str], lookups: int
                ) -> dict[str, list[float]]:
    """Sequential requests on one keep-alive connection of the lean client (testkit.load)."""
    import asyncio
    import json

    from testkit.load import Connection

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    host, port = base.split("//")[1].split(":")

    async def run() -> dict[str, list[float]]:
        conn = Connection(host, int(port))
        calls = {
            "floor": lambda i: conn.request("GET", "/open311/v2/discovery.json"),
            "healthz": lambda i: conn.request("GET", "/healthz"),
            "lookup": lambda i: conn.request("POST", "/api/v1/people/lookup", json.dumps(
                {"id_number": ids[i * 7919 % len(ids)]}).encode(), headers),
        }
        out: dict[str, list[float]] = {}
        for name, call in calls.items():
            out[name] = []
            for i in range(lookups):
                t0 = time.perf_counter()
                status, _ = await call(i)
                out[name].append(time.perf_counter() - t0)
                assert status == 200, (name, status)  # noqa: S101 - a bench's sanity check
        return out

    return asyncio.run(run())


def bench_http(url: str, ids: list[str], lookups: int) -> None:
    import httpx

    engine = make_engine(url, pool_size=2)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        _, token = create_user(session, name="bench-admin", role="admin")
        session.commit()
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    with bench_server(url) as (base, _), \
            httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        def timed(call: object) -> list[float]:
            out = []
            for i in range(lookups):
                t0 = time.perf_counter()
                call(i)  # type: ignore[operator]
                out.append(time.perf_counter() - t0)
            return out

        for i in range(200):  # warm: the statements prepared, the credential cached
            client.post("/api/v1/people/lookup", json={"id_number": ids[i]})
        lean = _timed_lean(base, token, ids, lookups)
        found, health, floor = lean["lookup"], lean["healthz"], lean["floor"]
        print(f"lookup by ID number over HTTP (lean keep-alive client): p50 "
              f"{_p(found, .5):.2f} ms, p99 {_p(found, .99):.2f} ms; /healthz p99 "
              f"{_p(health, .99):.2f} ms, HTTP floor (Open311 discovery) p99 "
              f"{_p(floor, .99):.2f} ms; ratio to /healthz "
              f"{_p(found, .99) / _p(health, .99):.1f}x; goal p99 < 5 ms")
        health = timed(lambda i: client.get("/healthz"))
        found = timed(lambda i: client.post("/api/v1/people/lookup",
                                            json={"id_number": ids[i * 7919 % len(ids)]}))
        print(f"the same with httpx (its own cost included): p50 {_p(found, .5):.2f} ms, p99 "
              f"{_p(found, .99):.2f} ms; /healthz p99 {_p(health, .99):.2f} ms; ratio "
              f"{_p(found, .99) / _p(health, .99):.1f}x")
        stats = [0.0] * 5
        for k in range(5):
            t0 = time.perf_counter()
            client.get("/api/v1/people/stats", params={"by": "grid"})
            stats[k] = time.perf_counter() - t0
        print(f"per-grid population counts: median {statistics.median(stats) * 1000:.0f} ms "
              "(uncached); goal < 50 ms")


def bench_population_tiles(url: str) -> None:
    from api.settings import TileSettings
    from api.tiles.service import TileService

    engine = make_engine(url, pool_size=1)
    service = TileService.from_settings(engine, TileSettings(cache_bytes=0, connections=1))
    service.sync()  # reads the registry's grid layers too
    with engine.connect() as conn:
        minx, miny, maxx, maxy = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grids) s")).one()
        x0, y0 = tile_of(minx, maxy, 14)
        x1, y1 = tile_of(maxx, miny, 14)
        tiles = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        times: dict[str, list[float]] = {"population": [], "grids-basic": []}
    for name, took in times.items():
        layer = service.registry.get(name)
        service.layer_tile(layer, 14, *tiles[0])  # the statement prepared once
        for x, y in tiles:
            t0 = time.perf_counter()
            service.layer_tile(layer, 14, x, y)
            took.append(time.perf_counter() - t0)
    service.close()
    engine.dispose()
    ours, anchor = (statistics.median(times[k]) * 1000 for k in ("population", "grids-basic"))
    print(f"population tiles, {len(tiles)} z14 tiles uncached: median {ours:.1f} ms, "
          f"max {max(times['population']) * 1000:.1f} ms; the grid layer's same tiles "
          f"{anchor:.1f} ms; ratio {ours / anchor:.1f}x; goal median < 50 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--server-url", default=None, help="a PostgreSQL server to use")
    args = parser.parse_args()
    with throwaway_sample_database(args.server_url) as (url, _), \
            tempfile.TemporaryDirectory() as tmp:
        ids = bench_import(url, args.n, Path(tmp))
        bench_http(url, ids, args.lookups)
        bench_population_tiles(url)


if __name__ == "__main__":
    main()
