"""Benchmark: sustained event intake over HTTP on loopback, and bulk import of 1M events.

Intake (default): starts a throwaway PostGIS cluster (durable settings, as the
product runs: fsync and synchronous commit on), loads the small sample
town into a fresh database and starts ``uvicorn`` with ``--workers`` processes
(or targets ``--url``), then drives ``POST /api/v1/events`` with
``--concurrency`` keep-alive connections (a lean asyncio HTTP/1.1 client, so
the load generator steals little CPU from the server on this 2-core machine)
for ``--seconds`` after a warm-up. Reports are spread over the grids, 10
categories and unique ``Idempotency-Key`` headers. It prints sustained
reports/s, p50/p99 latency and status counts between the two floors measured in
the same round (``bench/intake_floors.py``), for ``--rounds`` rounds: the HTTP floor (``GET
/open311/v2/discovery.json``, no database, on the same server and clients) and
the database floor (the intake's statements sent straight with psycopg in
batches of the size the server's group commit reached, one connection per
worker, same cluster and durability), the ratio of intake to the lower floor
of its round and the median of the rounds' (goal >= 0.60), and the CPU per
report from ``/proc/<pid>/stat`` of the server and of PostgreSQL's processes
(backends, WAL writer, ...) in each of the three, summed over the rounds.
``--profile PATH`` also samples the server with py-spy during intake and prints
where its busy samples are. The machine is shared: absolute figures move between
runs; the ratios of one run are what count.

Trust cost (default; ``--before-trust none`` skips it): the same load on the
server as it was before the trust layer (``testkit/baseline.py``: a
checkout of that commit, its own database), the two servers loaded in turn for
``--repeats`` rounds; a quarter of the reports come on the ``hotline`` channel
with a dispatcher's bearer token, the others from residents with a phone number
(encrypted and audited today). Goal: the trust layer costs at most 10% of the
reports per second.

Bulk (``--bulk N``): writes N synthetic historical events (points over the
sample town, a year of report times, a third closed) to a CSV and times
``gridgov import events`` (``import_file``) into the fresh database; the anchor
is ``pandas.read_csv`` of the same file. Goal: 1,000,000 in under 120 s.

Usage::

    python bench/intake.py                      # 20 s of intake, 2 workers, 32 connections
    python bench/intake.py --workers 1 --concurrency 16 --seconds 10
    python bench/intake.py --url http://127.0.0.1:8000   # a running server with the sample
    python bench/intake.py --bulk 1000000
    python bench/intake.py --workers 1 --seconds 5 --repeats 5   # trust cost, shorter
    python bench/intake.py --before-trust none --profile /tmp/intake.spy  # floors, profile
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.intake_floors import (  # noqa: E402
    commits_of,
    database_floor,
    prepare_batches,
    print_profile,
)
from testkit.baseline import BEFORE_TRUST  # noqa: E402
from testkit.cpu import CpuMeter, postmaster_pid, print_cpu  # noqa: E402
from testkit.databases import throwaway_sample_database  # noqa: E402
from testkit.load import run_load  # noqa: E402
from testkit.servers import bench_server  # noqa: E402

#: the HTTP floor: a trivial public GET (no database, a small JSON body) on the same server
HTTP_FLOOR = "/open311/v2/discovery.json"
CATEGORIES = ("0101", "0102", "0103", "0104", "0105", "0106", "0401", "0402", "0403", "0404")


def grid_points(url: str) -> list[tuple[float, float]]:
    """Interior points of the basic grids (many per grid, away from edges)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if url.startswith("postgresql://") else url)
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT ST_X(p.geom), ST_Y(p.geom)
            FROM grids g JOIN grid_layers l ON l.id = g.layer_id,
            LATERAL ST_Dump(ST_GeneratePoints(ST_Buffer(g.geom, -0.0003), 400, 1)) p
            WHERE l.name = 'basic' AND g.valid_to IS NULL""")).all()
    engine.dispose()
    return [(float(x), float(y)) for x, y in rows]


def intake_maker(points: list[tuple[float, float]], token: str | None = None) -> Any:
    """Requests spread over points, categories and unique idempotency keys.

    With a staff ``token``, every fourth report is a hotline call registered by
    that dispatcher and the others carry the resident's phone number.
    """
    run = uuid.uuid4().hex[:6]

    def make(worker: int, i: int) -> tuple[str, str, bytes, dict[str, str]]:
        lon, lat = points[(worker * 9973 + i * 31) % len(points)]
        report: dict[str, Any] = {"category": CATEGORIES[(worker + i) % len(CATEGORIES)],
                                  "description": "bench", "location": {"x": lon, "y": lat}}
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"{run}-{worker}-{i}"}
        if token is not None and i % 4 == 3:
            report["channel"] = "hotline"
            headers["Authorization"] = f"Bearer {token}"
        elif token is not None:
            report["reporter"] = {"phone": f"139{worker:04d}{i % 10000:04d}"}
        return "POST", "/api/v1/events", json.dumps(report).encode(), headers

    return make


@contextmanager
def profiled(path: str | None, pid: int | None, seconds: float) -> Iterator[None]:
    """Sample the server's Python stacks with ``py-spy`` into ``path`` (raw) meanwhile."""
    if path is None or pid is None:
        yield
        return
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                            str(pid), "--subprocesses", "--nonblocking", "-r", "200", "-d",
                            str(int(seconds)), "-f", "raw", "-o", path],
                           stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.wait(timeout=seconds + 60)
        print_profile(path)


def _metered(roots: dict[str, int] | None, run: Any) -> tuple[dict[str, Any], dict[str, float]]:
    """``run()`` and the CPU its span cost the processes of ``roots`` (none without)."""
    if roots is None:
        return run(), {}
    meter = CpuMeter(roots)
    meter.start()
    out = run()
    return out, meter.stop()


def bench_intake(args: argparse.Namespace, base: str, url: str | None,
                 server_pid: int | None = None) -> None:
    """The HTTP floor, intake and the database floor, in turn, for ``--rounds`` rounds.

    Each round measures the three one after the other on the same server and
    cluster, and its ratio is intake over the lower floor of that round: the
    machine's speed drifts between rounds by as much as the goal's margin, so the
    ratio printed is the median of the rounds'. Without ``url`` (a remote server)
    only the HTTP floor and intake are measured.
    """
    import statistics

    points = grid_points(url) if url else [(114.25, 22.72)]
    roots = ({"server": server_pid, "pg": postmaster_pid(url)}
             if url and server_pid is not None else None)
    batches = prepare_batches(url, points, CATEGORIES) if url is not None else None
    ratios: list[float] = []
    cpu: dict[str, dict[str, float]] = {"HTTP": {}, "intake": {}, "database": {}}
    counts = {"HTTP": 0, "intake": 0, "database": 0}
    for r in range(args.rounds):
        http, used = _metered(roots, lambda: run_load(
            base, lambda w, i: ("GET", HTTP_FLOOR, b"", {}), args.concurrency, 1.0,
            args.seconds))
        _add(cpu["HTTP"], used)
        counts["HTTP"] += http["requests"]
        since = datetime.now(UTC)
        with profiled(args.profile if r == 0 else None, server_pid,
                      args.warmup + args.seconds):
            result, used = _metered(roots, lambda: run_load(
                base, intake_maker(points), args.concurrency, args.warmup, args.seconds))
        _add(cpu["intake"], used)
        counts["intake"] += result["requests"]
        print(f"round {r + 1}: HTTP floor (GET {HTTP_FLOOR}): {http['rate']:6.0f} req/s  p50 "
              f"{http['p50']:5.1f} ms  p99 {http['p99']:5.1f} ms  statuses {http['statuses']}")
        print(f"round {r + 1}: POST /api/v1/events: {result['rate']:6.0f} reports/s  p50 "
              f"{result['p50']:5.1f} ms  p99 {result['p99']:5.1f} ms  "
              f"statuses {result['statuses']}")
        floors = {"HTTP": http["rate"]}
        if url is not None and batches is not None:
            reports, commits = commits_of(url, since)
            size = max(1, round(reports / max(commits, 1)))
            db, used = _metered(roots, lambda size=size: database_floor(
                url, batches, size, args.workers, args.warmup, args.seconds))
            _add(cpu["database"], used)
            counts["database"] += db["reports"]
            print(f"round {r + 1}: database floor: {db['rate']:6.0f} reports/s  (the intake "
                  f"statements by psycopg, batches of {size} (the group commit's mean "
                  f"{reports / max(commits, 1):.1f}) on {args.workers} connection(s); per "
                  f"batch p50 {db['p50']:.1f} ms, p99 {db['p99']:.1f} ms)")
            floors["database"] = db["rate"]
        low = min(floors, key=lambda k: floors[k])
        ratios.append(result["rate"] / floors[low])
        print(f"round {r + 1}: ratio intake / floor: " + ", ".join(
            f"{result['rate'] / v:.3f} of the {k} floor" for k, v in floors.items())
            + f"; to the lower ({low}): {ratios[-1]:.3f}")
    ratio = statistics.median(ratios)
    print(f"ratio to the lower floor, median of {len(ratios)} rounds: {ratio:.3f} "
          f"[{', '.join(f'{x:.3f}' for x in ratios)}]; goal >= 0.60: "
          f"{'met' if ratio >= 0.6 else 'NOT met'}  (the machine is shared: absolute figures "
          "move between runs, the ratios of one round are what count)")
    if roots is not None:
        print_cpu("HTTP floor (per request)", cpu["HTTP"], counts["HTTP"])
        print_cpu("intake", cpu["intake"], counts["intake"])
        print_cpu("database floor", cpu["database"], counts["database"])


def _add(total: dict[str, float], used: dict[str, float]) -> None:
    for k, v in used.items():
        total[k] = total.get(k, 0.0) + v


def bench_trust_cost(args: argparse.Namespace, url: str, sample: Path) -> None:
    """Today's server against the one before the trust layer, loaded in turn."""
    import statistics

    from testkit.baseline import checkout, database, staff_token

    points = grid_points(url)
    with checkout(args.before_trust) as tree, database(url, tree, sample) as before_url:
        tokens = {"today": staff_token(REPO, url, "bench-hotline"),
                  "before": staff_token(tree, before_url, "bench-hotline")}
        with bench_server(url, args.workers) as (today, _), \
                bench_server(before_url, args.workers, tree=tree) as (before, _):
            bases = {"today": today, "before": before}
            rates: dict[str, list[float]] = {"today": [], "before": []}
            statuses: dict[str, dict[int, int]] = {"today": {}, "before": {}}
            for name, base in bases.items():  # warm-up, not counted
                run_load(base, intake_maker(points, tokens[name]), args.concurrency, 1.0, 1.0)
            for _ in range(args.repeats):
                for name, base in bases.items():
                    out = run_load(base, intake_maker(points, tokens[name]),
                                   args.concurrency, 0.5, args.seconds)
                    rates[name].append(out["rate"])
                    for k, v in out["statuses"].items():
                        statuses[name][k] = statuses[name].get(k, 0) + v
    ratio = statistics.median(t / b for t, b in zip(rates["today"], rates["before"],
                                                    strict=True))
    for name in ("before", "today"):
        each = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"{name:>6}: {statistics.median(rates[name]):8.0f} reports/s  [{each}]  "
              f"statuses {statuses[name]}")
    print(f"ratio today / before trust: {ratio:.3f} (median of the rounds); the trust layer "
          f"costs {100 * (1 - ratio):.1f}% of intake; goal <= 10%: "
          f"{'met' if ratio >= 0.9 else 'NOT met'}")


# -- bulk ---------------------------------------------------------------------------------
def synthetic_events(url: str, n: int, path: Path) -> None:
    """N historical events over the sample town as a CSV like a hotline export."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) AS e FROM grids) s")).one()
    engine.dispose()
    rng = np.random.default_rng(1)
    reported = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.uniform(0, 365 * 24 * 3600, n), "s")
    closed = reported + pd.to_timedelta(rng.exponential(30, n), "h")
    closed = closed.where(rng.uniform(size=n) < 0.33)
    pd.DataFrame({
        "case_no": np.arange(n), "type": rng.choice(np.array(CATEGORIES), n),
        "lon": rng.uniform(box[0], box[2], n).round(7),
        "lat": rng.uniform(box[1], box[3], n).round(7),
        "created": reported.strftime("%Y-%m-%d %H:%M:%S%z"),
        "closed": closed.strftime("%Y-%m-%d %H:%M:%S%z"),
        "description": "bench",
    }).to_csv(path, index=False)


def bench_bulk(url: str, n: int) -> None:
    """Time the import of ``n`` events against reading the CSV with pandas."""
    from api.db.session import make_engine
    from api.io.importer import ImportOptions, import_file

    path = Path(tempfile.mkdtemp()) / "events.csv"
    synthetic_events(url, n, path)
    t0 = time.perf_counter()
    pd.read_csv(path, dtype=str)
    anchor = time.perf_counter() - t0
    engine = make_engine(url, pool_size=2)
    t0 = time.perf_counter()
    counts = import_file(engine, "events", path, ImportOptions(fields={
        "category": "type", "reported_at": "created", "closed_at": "closed",
        "external_id": "case_no"}))
    took = time.perf_counter() - t0
    engine.dispose()
    print(f"anchor pandas.read_csv : {anchor:7.1f} s")
    print(f"import events          : {took:7.1f} s for {counts['events']:,} events "
          f"({counts['events'] / took:,.0f}/s), ratio to anchor {took / anchor:.1f}; "
          f"goal 1M < 120 s: {'met' if took * 1_000_000 / n < 120 else 'NOT met'}")


def main() -> None:
    """Command line entry."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="target a running server (with the sample loaded)")
    p.add_argument("--database-url", help="PostgreSQL server for the fresh database "
                                          "(default: a throwaway cluster)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--profile", metavar="PATH",
                   help="sample the server's stacks with py-spy during intake (raw format)")
    p.add_argument("--bulk", type=int, default=0, help="time the import of N events")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the floors and intake, measured in turn")
    p.add_argument("--repeats", type=int, default=5, help="rounds of the trust comparison")
    p.add_argument("--before-trust", default=BEFORE_TRUST,
                   help="commit before the trust layer to compare with, or 'none'")
    args = p.parse_args()
    if args.url:
        bench_intake(args, args.url, None)
        return
    with throwaway_sample_database(args.database_url) as (url, sample):
        if args.bulk:
            bench_bulk(url, args.bulk)
            return
        with bench_server(url, args.workers) as (base, pid):
            bench_intake(args, base, url, pid)
        if args.before_trust != "none":
            print("\n-- trust cost: today's server and the one before the trust layer, in turn")
            bench_trust_cost(args, url, sample)


if __name__ == "__main__":
    main()
