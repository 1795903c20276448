"""SIGKILL the server in the middle of a load: every acknowledged report is stored whole.

A real uvicorn process serves a fresh database with the small sample; client
threads post reports (each with its own Idempotency-Key); the server is killed
with SIGKILL while requests are in flight; then the database is queried
directly. Every event acknowledged with 201 must be there with its grid,
department and history; nothing half-written may exist (an event without
history, a key without its event, a dispatched event without its dispatch row).
(The test cluster runs with fsync=off: a killed *process* loses nothing that
was committed; a machine crash could.)
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from testkit.databases import sample_database
from testkit.servers import start_server
from tests.api.events_support import basic_grids

CATEGORIES = ("0101", "0102", "0103", "0104", "0105", "0106", "0401", "0402", "0403", "0404")


@pytest.fixture()
def fresh(server_url: str, sample_dir: Path) -> Iterator[tuple[str, Engine]]:
    """A new database with the small sample; dropped afterwards."""
    with sample_database(server_url, sample_dir, "gridgov_kill") as made:
        yield made


def _client(base: str, points: list[dict[str, Any]], worker: int, acked: dict[str, int],
            lock: threading.Lock, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=5) as http:
        i = 0
        while not stop.is_set():
            g = points[(worker * 7 + i) % len(points)]
            key = f"kill-{worker}-{i}"
            body = {"category": CATEGORIES[(worker + i) % len(CATEGORIES)],
                    "description": key, "reporter": {"phone": "13700000000"},
                    "location": {"x": g["lon"] + (i % 50) * 2e-5, "y": g["lat"]}}
            i += 1
            try:
                r = http.post("/api/v1/events", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                continue  # the server died under this request: not acknowledged
            if r.status_code == 201:
                with lock:
                    acked[key] = int(r.json()["id"])


def test_sigkill_mid_load_loses_no_acknowledged_event(fresh: tuple[str, Engine],
                                                      tmp_path: Path) -> None:
    url, engine = fresh
    with engine.connect() as conn:
        points = basic_grids(conn)
        first_new = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM events"))
                        .scalar_one()) + 1
    proc, base = start_server(url, tmp_path)
    acked: dict[str, int] = {}
    lock, stop = threading.Lock(), threading.Event()
    threads = [threading.Thread(target=_client, args=(base, points, w, acked, lock, stop))
               for w in range(6)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=10)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 50, (tmp_path / "server.log").read_text()[-2000:]

    with engine.connect() as conn:
        stored = {str(r[0]): r for r in conn.execute(text("""
            SELECT e.description, e.id, e.grids->>'basic', e.department_id, e.status,
                   e.due_at, count(h.id)
            FROM events e LEFT JOIN event_history h ON h.event_id = e.id
            WHERE e.id >= :first GROUP BY e.id"""), {"first": first_new})}
        keys = {str(r[0]): r[1] for r in conn.execute(text(
            "SELECT key, event_id FROM idempotency_keys"))}
        half = conn.execute(text("""
            SELECT count(*) FROM events e WHERE e.id >= :first AND (
                NOT EXISTS (SELECT 1 FROM event_history h WHERE h.event_id = e.id
                            AND h.action = 'register')
                OR (e.status = 'dispatched' AND NOT EXISTS (
                    SELECT 1 FROM event_history h WHERE h.event_id = e.id
                    AND h.action = 'dispatch'))
                OR NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.event_id = e.id))
        """), {"first": first_new}).scalar_one()
    for key, event_id in acked.items():
        row = stored.get(key)
        assert row is not None, f"acknowledged event {event_id} ({key}) is missing"
        _, sid, grid, department, status, due, history = row
        assert sid == event_id
        assert grid and department is not None and due is not None
        assert history >= 2 and status in ("dispatched", "duplicate")
        assert keys[key] == event_id
    assert half == 0
    assert all(v is not None for v in keys.values())  # no key without its event
    assert len(stored) >= len(acked)  # some may be committed but not acknowledged


def test_concurrent_retries_with_one_key_make_one_event(fresh: tuple[str, Engine],
                                                        tmp_path: Path) -> None:
    url, engine = fresh
    with engine.connect() as conn:
        g = basic_grids(conn)[0]
    proc, base = start_server(url, tmp_path)
    body = {"category": "0101", "location": {"x": g["lon"], "y": g["lat"]}}
    results: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            barrier.wait()
            results.append(http.post("/api/v1/events", json=body,
                                     headers={"Idempotency-Key": "same-key"}))

    try:
        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert [r.status_code for r in results] == [201] * 8
    assert len({r.json()["id"] for r in results}) == 1
    assert len({r.json()["public_token"] for r in results}) == 1
    with engine.connect() as conn:
        made = conn.execute(text("SELECT count(*) FROM idempotency_keys k JOIN events e "
                                 "ON e.id = k.event_id WHERE k.key = 'same-key'")).scalar_one()
        strays = conn.execute(text(
            "SELECT count(*) FROM events e WHERE e.reported_at > now() - interval '1 hour' "
            "AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.event_id = e.id)"
        )).scalar_one()
    assert (made, strays) == (1, 0)
