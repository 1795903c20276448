"""The floors that bound intake, and where its CPU goes: helpers of ``bench/intake.py``.

* The HTTP floor is ``GET /healthz`` driven by ``bench/intake.py`` itself (same
  server, same workers, same clients).
* The database floor (:func:`database_floor`): the intake's own statements
  (``api.events.intake``' intake statement, the audit rows, the notification
  outbox) sent straight with psycopg, one pipeline and one commit per batch of
  the size the server's group commit reached, on as many connections as the
  server has workers (each worker has one intake writer), on the same cluster
  (same durability). Nothing of HTTP, asyncio, the grid lookup or SQLAlchemy.
* CPU per report (:class:`testkit.cpu.CpuMeter`): user + system time from
  ``/proc/<pid>/stat`` of the server's processes and of PostgreSQL's (the backends
  and each background process by name), so the time per report splits into the
  Python server, the backends and the WAL writer.

The machine is shared: absolute figures move between runs; the ratios printed
(intake / floor, CPU shares) are measured in one run and are what count.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row


# -- the server's profile ---------------------------------------------------------------
def _package(frame: str) -> str:
    """``name (path/to/module.py:line)`` -> the top package of the path (or the module)."""
    where = frame.rpartition("(")[2].split(":")[0]
    parts = [p for p in where.split("/") if p]
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1:]
    elif parts and parts[0] in ("work", "usr"):  # our tree or the standard library
        tail = [p for p in parts if p in ("api", "gis_core", "layers", "coding")]
        parts = [tail[0]] if tail else ["stdlib:" + parts[-1]]
    return parts[0].removesuffix(".py") if parts else where


def print_profile(path: str, top: int = 12) -> None:
    """Where the server's busy samples of a py-spy raw profile are: by package and function.

    A sample counts for the package of its innermost frame (self time).
    """
    by_package: dict[str, int] = {}
    by_function: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.split(";")[-1]
        n = int(count)
        total += n
        by_package[_package(leaf)] = by_package.get(_package(leaf), 0) + n
        name = leaf.rpartition(":")[0] + ")" if ":" in leaf else leaf  # without the line
        by_function[name] = by_function.get(name, 0) + n
    for title, table in (("package", by_package), ("function", by_function)):
        rows = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        print(f"  server samples by {title} (self, {total} busy samples): " + "; ".join(
            f"{k[:70]} {100 * v / max(total, 1):.1f}%" for k, v in rows))


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# -- what the server's group commit did ------------------------------------------------------
def commits_of(url: str, since: datetime) -> tuple[int, int]:
    """(reports, transactions) of the bench's events reported from ``since`` on."""
    with psycopg.connect(_plain(url)) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT CAST(xmin AS text)) FROM events "
            "WHERE description = 'bench' AND reported_at >= %s", (since,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# -- the database floor --------------------------------------------------------------------
@dataclass(frozen=True)
class Batches:
    """Ready statement parameters of reports like the bench's, renewed per batch."""

    template: list[dict[str, Any]]
    reports: list[Any]
    actor: str = "public"

    def batch(self, start: int, size: int) -> tuple[list[dict[str, Any]], str, list[str]]:
        """``size`` reports from ``start`` with new tracking tokens and idempotency keys."""
        from api.events.intake import _audit_rows

        n = len(self.template)
        params, rows, tokens = [], [], []
        for j in range(start, start + size):
            token, key = secrets.token_urlsafe(12), uuid.uuid4().hex
            params.append({**self.template[j % n], "token": token, "key": key})
            rows.append((replace(self.reports[j % n], idempotency_key=key), self.actor, token))
            tokens.append(token)
        return params, _audit_rows(rows), tokens


def prepare_batches(url: str, points: list[tuple[float, float]], categories: tuple[str, ...],
                    n: int = 4000) -> Batches:
    """Parameters of ``n`` reports as the server makes them (grid lookup done here, untimed)."""
    from api.db.session import make_engine
    from api.events.intake import Place, Report, _statement_params
    from api.events.places import grid_dicts
    from api.grids.lookup import IndexedGridLookup
    from api.settings import EventSettings

    engine = make_engine(url, pool_size=1)
    lookup = IndexedGridLookup(engine)
    pts = [points[(i * 31) % len(points)] for i in range(n)]
    reports = [Report(category_code=categories[i % len(categories)], lon=x, lat=y,
                      description="bench", authenticated=True) for i, (x, y) in enumerate(pts)]
    now = datetime.now(UTC)
    grids = grid_dicts(lookup.assign(np.array([p[0] for p in pts]),
                                      np.array([p[1] for p in pts]), at=now))
    template = []
    for r, g in zip(reports, grids, strict=True):
        p = _statement_params(r, Place(r.lon or 0.0, r.lat or 0.0), g, now, EventSettings(),
                              "", "public", None)
        template.append(p)
    lookup.close()
    engine.dispose()
    return Batches(template, reports)


def _write_batch(conn: psycopg.Connection, params: list[dict[str, Any]], audit: str,
                 tokens: list[str]) -> None:
    """The intake writer's statements for one batch: one pipeline, then one commit."""
    from api.events.intake_sql import AUDIT_CREATED, INTAKE_RAW, intake_args
    from api.notify.outbox import NOTIFY_CREATED_PG, created_params

    now = datetime.now(UTC)
    with conn.pipeline():
        cursors = []
        for p in params:
            cur = psycopg.RawCursor(conn, row_factory=dict_row)
            cur.execute(INTAKE_RAW, intake_args({**p, "now": now}), prepare=True)
            cursors.append(cur)
        with conn.cursor() as audit_cur, conn.cursor() as notify_cur:
            audit_cur.execute(AUDIT_CREATED, {"rows": audit}, prepare=True)
            notify_cur.execute(NOTIFY_CREATED_PG, created_params(tokens), prepare=True)
    for cur in cursors:
        row = cur.fetchone()
        assert row is not None and (row["id"] is not None or row["category_id"] is not None)
        cur.close()
    conn.commit()


def database_floor(url: str, batches: Batches, batch_size: int, connections: int,
                   warmup: float, seconds: float) -> dict[str, Any]:
    """Reports/s of the intake statements in batches of ``batch_size`` on ``connections``.

    Returns ``{"rate", "p50", "p99"}`` (reports/s after ``warmup``; latency of a
    batch, ms) and ``reports``, written in the whole run (warm-up included).
    """
    start = time.perf_counter()
    measure_from, end = start + warmup, start + warmup + seconds
    counted: list[int] = []
    latencies: list[float] = []
    total: list[int] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        done = mine = 0
        with psycopg.connect(_plain(url)) as conn:
            i = w * 1_000_003
            while (t0 := time.perf_counter()) < end:
                params, audit, tokens = batches.batch(i, batch_size)
                i += batch_size
                t1 = time.perf_counter()
                _write_batch(conn, params, audit, tokens)
                mine += batch_size
                if t0 >= measure_from:
                    with lock:
                        latencies.append(time.perf_counter() - t1)
                    done += batch_size
        with lock:
            counted.append(done)
            total.append(mine)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arr = np.array(latencies) * 1000
    return {"rate": sum(counted) / seconds, "reports": sum(total),
            "p50": float(np.percentile(arr, 50)) if len(arr) else 0.0,
            "p99": float(np.percentile(arr, 99)) if len(arr) else 0.0}

