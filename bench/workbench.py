"""Benchmark: the staff queue with 20,000 open cases in scope, and 200 live-update clients.

Starts a throwaway PostGIS cluster with the small sample town
(``testkit.databases.throwaway_sample_database``), adds synthetic open cases until
``--open`` (default 20,000) are open, all in the scope of a district dispatcher (a real
scope condition, not "see everything"), and starts ``uvicorn`` with ``--workers``
processes (default 2: the
live updates must reach clients of every process).

* Queue: ``--requests`` calls of ``GET /api/v1/workbench/queue`` over the tabs, sorts,
  filters, free text and pages a dispatcher uses; p50/p95 next to the anchor measured in
  the same run, ``GET /healthz`` (the HTTP floor). Goal: p95 < 100 ms.
* Live: ``--clients`` server-sent-event streams (``GET /api/v1/workbench/live``) are
  opened and wait for their ``ready``; one report is posted; each client's delay from
  the post to the ``case`` event of that report is measured. Goal: every client within 1 s.

Usage::

    python bench/workbench.py
    python bench/workbench.py --open 5000 --clients 50 --requests 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.databases import throwaway_sample_database  # noqa: E402
from testkit.servers import bench_server  # noqa: E402

_FILL = """
WITH src AS (SELECT e.*, row_number() OVER (ORDER BY e.id) - 1 AS rn FROM events e),
     n AS (SELECT count(*) AS c FROM events)
INSERT INTO events (public_token, category_id, description, status, channel, geom, grids,
                    community_code, street_code, department_id, reported_at, registered_at,
                    dispatched_at, due_at, attributes)
SELECT substr(md5(random()::text || g::text), 1, 24), s.category_id, s.description,
       (ARRAY['registered', 'dispatched', 'in_progress', 'handled', 'verified',
              'returned'])[1 + g % 6],
       s.channel, s.geom, s.grids, s.community_code, s.street_code, s.department_id,
       now() - make_interval(mins => g), now() - make_interval(mins => g),
       CASE WHEN g % 6 > 0 THEN now() - make_interval(mins => g) + interval '7 minutes' END,
       now() + make_interval(hours => g % 240 - 60),
       CASE WHEN g % 17 = 0 THEN '{"escalation_level": 1}'::jsonb
            WHEN g % 23 = 0 THEN '{"supervised": true}'::jsonb ELSE '{}'::jsonb END
FROM generate_series(1, :missing) g JOIN src s ON s.rn = g % (SELECT c FROM n)
"""

OPEN = "status IN ('registered','dispatched','in_progress','handled','verified','returned')"


def prepare(url: str, open_cases: int) -> tuple[str, int, str]:
    """Fill the database to ``open_cases`` open cases; a district dispatcher's token."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.auth.service import create_user
    from api.db.session import make_engine

    engine = make_engine(url, pool_size=1)
    with Session(engine) as session:
        have = session.execute(text(f"SELECT count(*) FROM events WHERE {OPEN}")).scalar_one()
        session.execute(text(_FILL), {"missing": max(0, open_cases - int(have))})
        district = session.execute(text(
            "SELECT code FROM admin_areas WHERE level = 'district' ORDER BY code LIMIT 1")
        ).scalar_one()
        _, token = create_user(session, name="bench-dispatcher", role="dispatcher",
                               areas=[district])
        session.commit()
        session.execute(text("ANALYZE events"))
        session.commit()
        n_open = session.execute(text(f"SELECT count(*) FROM events WHERE {OPEN}")).scalar_one()
        category = session.execute(text(
            "SELECT code FROM event_categories ORDER BY code LIMIT 1")).scalar_one()
    engine.dispose()
    return token, int(n_open), str(category)


def queries(requests: int) -> list[dict[str, Any]]:
    """What a dispatcher asks for, in turn: tabs, sorts, filters, words, pages."""
    menu: list[dict[str, Any]] = [
        {"tab": "new"}, {"tab": "returned"}, {"tab": "verify", "sort": "due_at"},
        {"tab": "overdue", "sort": "overdue"}, {"tab": "escalated"}, {"tab": "supervised"},
        {"tab": "all", "offset": 500}, {"tab": "all", "channel": "hotline"},
        {"tab": "all", "q": "垃圾"}, {"tab": "all", "sort": "-dispatch"},
        {"tab": "new", "category": "01"}, {"tab": "all", "offset": 5000, "sort": "reported_at"},
    ]
    return [menu[i % len(menu)] for i in range(requests)]


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_queue(base: str, token: str, requests: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    times, floor = [], []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for params in queries(12):  # warm-up
            client.get("/api/v1/workbench/queue", params=params).raise_for_status()
        for params in queries(requests):
            t = time.perf_counter()
            client.get("/api/v1/workbench/queue", params=params).raise_for_status()
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            client.get("/healthz").raise_for_status()
            floor.append(time.perf_counter() - t)
    p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
    f95 = percentile(floor, 0.95) * 1000
    shapes: dict[str, list[float]] = {}
    for params, took in zip(queries(requests), times, strict=True):
        shapes.setdefault(json.dumps(params, ensure_ascii=False), []).append(took * 1000)
    for shape, took in sorted(shapes.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {statistics.median(took):7.1f} ms median  {shape}")
    print(f"queue: {requests} requests  p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
          f"(anchor /healthz p95 {f95:.1f} ms, ratio {p95 / f95:.1f}x)  "
          f"goal p95 < 100 ms: {'OK' if p95 < 100 else 'MISSED'}")


async def _client(http: httpx.AsyncClient, ready: asyncio.Event, counter: list[int],
                  n: int, wanted: asyncio.Future[int], seen: list[float]) -> None:
    async with http.stream("GET", "/api/v1/workbench/live") as resp:
        resp.raise_for_status()
        event = ""
        async for line in resp.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "ready":
                counter[0] += 1
                if counter[0] == n:
                    ready.set()
            elif line.startswith("data: ") and event == "case" and wanted.done():
                if json.loads(line[6:])["id"] == wanted.result():
                    seen.append(time.perf_counter())
                    return


async def bench_live(base: str, token: str, clients: int, category: str,
                     point: tuple[float, float]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=httpx.Timeout(60, read=None)) as http:
        ready, counter = asyncio.Event(), [0]
        seen: list[float] = []
        wanted: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        tasks = [asyncio.create_task(_client(http, ready, counter, clients, wanted, seen))
                 for _ in range(clients)]
        await asyncio.wait_for(ready.wait(), 120)
        t0 = time.perf_counter()
        resp = await http.post("/api/v1/events", json={
            "category": category, "channel": "hotline", "description": "bench live",
            "location": {"x": point[0], "y": point[1]}})
        resp.raise_for_status()
        committed = time.perf_counter()  # the 201: the case is on disk
        wanted.set_result(int(resp.json()["id"]))
        done, late = await asyncio.wait(tasks, timeout=10)
        for task in late:
            task.cancel()
    delays = sorted(t - committed for t in seen)
    worst = delays[-1] if delays else float("inf")
    print(f"live: {clients} clients, {len(delays)} received the new case; after its 201 "
          f"(the POST itself took {(committed - t0) * 1000:.0f} ms): median "
          f"{statistics.median(delays) * 1000 if delays else float('nan'):.0f} ms, "
          f"max {worst * 1000:.0f} ms; goal all within 1 s: "
          f"{'OK' if len(delays) == clients and worst < 1 else 'MISSED'}")


def main() -> None:
    """Run both benchmarks on a fresh database."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--open", type=int, default=20_000, help="open cases in scope")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--database-url", help="a PostgreSQL server to use (default: a private one)")
    args = p.parse_args()
    from sqlalchemy import text

    from api.db.session import make_engine

    with throwaway_sample_database(args.database_url) as (url, _):
        token, n_open, category = prepare(url, args.open)
        eng = make_engine(url, pool_size=1)
        with eng.connect() as conn:
            x, y = conn.execute(text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids "
                "ORDER BY code LIMIT 1) s")).one()
        eng.dispose()
        print(f"{n_open:,} open cases, all in the dispatcher's district scope; "
              f"{args.workers} API processes")
        with bench_server(url, args.workers) as (base, _):
            bench_queue(base, token, args.requests)
            asyncio.run(bench_live(base, token, args.clients, category, (x, y)))


if __name__ == "__main__":
    main()
