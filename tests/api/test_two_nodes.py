"""Two API processes (uvicorn on ports 8771 and 8772) against one database.

Each process keeps its own grid index, tile cache and intake writer; what one
commits the other sees, a retried report makes one event whichever process
gets it, and the delivery worker runs in exactly one process (advisory lock),
taken over by the other when that one stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import psycopg
import pytest

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.io.samples import load_directory
from api.notify.worker import LOCK_KEY
from testkit.databases import create_database, drop_database, plain
from testkit.tiles import tile_of

REPO = Path(__file__).resolve().parents[2]
PORTS = (8771, 8772)


@pytest.fixture(scope="module")
def database(server_url: str, sample_dir: Path) -> Iterator[str]:
    """A database of its own with the small sample, committed."""
    name = f"gridgov_nodes_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    load_directory(engine, sample_dir)
    engine.dispose()
    yield url
    drop_database(server_url, name)


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO),
           "GRIDGOV_NOTIFY_POLL_SECONDS": "0.2",
           "GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS": "0.5"}
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, our app
        [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=env)
    deadline = time.monotonic() + 300  # a loaded 2-core machine starts slowly
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"the API process on port {port} did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture()
def pg(database: str) -> Iterator[psycopg.Connection]:
    """Autocommit connection to the database."""
    with psycopg.connect(plain(database), autocommit=True) as conn:
        yield conn


def _delivery_holders(pg: psycopg.Connection) -> list[int]:
    """Backends holding the delivery worker's advisory lock on this database."""
    return [int(r[0]) for r in pg.execute(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s "
        "AND d.datname = current_database()", (LOCK_KEY,)).fetchall()]


def _wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def nodes(database: str) -> Iterator[dict[int, subprocess.Popen[bytes]]]:
    """Node 1, then (once node 1 holds the delivery lock) node 2."""
    procs: dict[int, subprocess.Popen[bytes]] = {}
    try:
        procs[PORTS[0]] = _start(database, PORTS[0])
        with psycopg.connect(plain(database), autocommit=True) as conn:
            _wait_for(lambda: _delivery_holders(conn))
        procs[PORTS[1]] = _start(database, PORTS[1])
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                _stop(proc)


def _base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _report(port: int, lon: float, lat: float, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(f"{_base(port)}/api/v1/events", headers=headers, timeout=30, json={
        "category": "0101", "description": "two nodes", "location": {"x": lon, "y": lat}})


def _inside(pg: psycopg.Connection) -> tuple[int, str, float, float]:
    row = pg.execute("SELECT g.id, g.code, ST_X(p), ST_Y(p) FROM (SELECT id, code, layer_id, "
                     "ST_PointOnSurface(geom) p FROM grids) g JOIN grid_layers l ON "
                     "l.id = g.layer_id WHERE l.name = 'basic' ORDER BY g.id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), float(row[2]), float(row[3])


def test_a_retried_report_is_one_event_whichever_node_gets_it(
        nodes: dict[int, Any], pg: psycopg.Connection) -> None:
    _, _, lon, lat = _inside(pg)
    key = uuid.uuid4().hex
    first = _report(PORTS[0], lon, lat, key)
    again = _report(PORTS[1], lon, lat, key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert pg.execute("SELECT count(*) FROM idempotency_keys k JOIN events e ON "
                      "e.id = k.event_id WHERE k.key = %s", (key,)).fetchone() == (1,)


def test_both_nodes_assign_by_the_grids_as_committed(
        nodes: dict[int, Any], pg: psycopg.Connection) -> None:
    gid, code, lon, lat = _inside(pg)
    for port in PORTS:
        assert _report(port, lon, lat).json()["grids"]["basic"] == code
    pg.execute("UPDATE grids SET code = %s WHERE id = %s", (code + "R", gid))
    try:
        for port in PORTS:  # each rebuilds its grid index from the change counters
            assert _report(port, lon, lat).json()["grids"]["basic"] == code + "R"
    finally:
        pg.execute("UPDATE grids SET code = %s WHERE id = %s", (code, gid))


def _status_in_tile(port: int, path: str, eid: int) -> Any:
    resp = httpx.get(_base(port) + path, timeout=30)
    assert resp.status_code == 200, resp.text
    features = {int(f["id"]): f for layer in mapbox_vector_tile.decode(resp.content).values()
                for f in layer["features"]}
    return features[eid]["properties"]["status"]


def test_a_change_evicts_the_tile_in_both_caches(
        nodes: dict[int, Any], pg: psycopg.Connection) -> None:
    row = pg.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM events WHERE status IN "
                     "('registered', 'dispatched') ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    eid, lon, lat = int(row[0]), float(row[1]), float(row[2])
    x, y = tile_of(lon, lat, 15)
    path = f"/tiles/events/15/{x}/{y}.mvt"
    for port in PORTS:  # built and cached by each node
        for _ in range(2):
            assert _status_in_tile(port, path, eid) != "closed"
    pg.execute("UPDATE events SET status = 'closed', closed_at = now() WHERE id = %s", (eid,))
    for port in PORTS:
        assert _status_in_tile(port, path, eid) == "closed"


def test_an_overdue_event_is_escalated_once(nodes: dict[int, Any],
                                            pg: psycopg.Connection) -> None:
    _, _, lon, lat = _inside(pg)
    eid = _report(PORTS[0], lon, lat).json()["id"]
    pg.execute("UPDATE events SET due_at = now() - interval '400 days' WHERE id = %s", (eid,))
    count = ("SELECT count(*) FROM event_history WHERE event_id = %s AND action = 'escalate'")
    _wait_for(lambda: pg.execute(count, (eid,)).fetchone() != (0,))
    time.sleep(2)  # both nodes pass several times more
    assert pg.execute(count, (eid,)).fetchone() == (1,)  # straight to the top level, once


def test_one_delivery_worker_and_the_other_node_takes_over(
        nodes: dict[int, subprocess.Popen[bytes]], pg: psycopg.Connection) -> None:
    holders = _delivery_holders(pg)
    assert len(holders) == 1  # node 1 holds it; node 2 waits
    _stop(nodes[PORTS[0]])
    taken = _wait_for(lambda: [p for p in _delivery_holders(pg) if p not in holders])
    assert len(_delivery_holders(pg)) == 1 and len(taken) == 1
    # node 2 serves on alone
    _, _, lon, lat = _inside(pg)
    assert _report(PORTS[1], lon, lat).status_code == 201
