"""A delivery worker killed with SIGKILL in the middle of a send loses nothing and, with
the receiver dropping a key it has seen, delivers each notification once.

Real ``gridgov notify run`` processes on a fresh database with the small sample;
the webhook receiver (``testkit.counterparts``) holds the first delivery open
while the test kills its sender. Then two workers start together: one takes the
database's advisory lock, the other waits; every notification is sent, the one
in flight again with the same idempotency key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.grids.lookup import IndexedGridLookup
from api.notify.worker import LOCK_KEY
from api.personal.cipher import PersonalCipher
from api.settings import Settings
from testkit.counterparts import SECRET, http_counterpart
from testkit.databases import sample_database
from testkit.servers import REPO
from tests.api.test_notify import add_user, department_category, outbox, points, report


@pytest.fixture()
def fresh(server_url: str, sample_dir: Path) -> Iterator[tuple[str, Engine]]:
    with sample_database(server_url, sample_dir, "gridgov_notify_kill") as made:
        yield made


def start_worker(url: str, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "GRIDGOV_HOME": str(home),
           "GRIDGOV_NOTIFY_WEBHOOK_SECRET": SECRET, "GRIDGOV_NOTIFY_POLL_SECONDS": "0.1",
           "GRIDGOV_NOTIFY_ALLOW_INTERNAL_URLS": "true"}
    return subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()",
                             "notify", "run"], cwd=REPO, env=env)


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def test_a_worker_killed_mid_send_loses_nothing_and_sends_each_once(
        fresh: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = fresh
    lookup = IndexedGridLookup(engine)
    cipher = PersonalCipher.from_settings(Settings())
    with http_counterpart() as http:
        category, department = department_category(engine)
        add_user(engine, "handler-kill", "handler", department=department,
                 channels=[{"channel": "webhook", "address": f"{http.base}/hook"}])
        for point in points(engine)[:3]:
            report(engine, lookup, cipher, category, point)
        keys = [r["key"] for r in outbox(engine)]
        assert len(keys) == 3
        http.hold.set()
        first = start_worker(url, tmp_path)
        try:
            assert http.holding.wait(60), "the worker never sent"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        in_flight = http.webhook_requests[0]
        rows = outbox(engine)
        assert [r["status"] for r in rows] == ["pending"] * 3  # the claim rolled back
        assert sum(r["attempt_rows"] for r in rows) == 0
        http.release.set()
        workers = [start_worker(url, tmp_path), start_worker(url, tmp_path)]
        try:
            wait_for(lambda: [r["status"] for r in outbox(engine)] == ["sent"] * 3)
            with engine.connect() as conn:
                holders = conn.execute(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND objid = CAST(:k AS oid) AND classid = 0"), {"k": LOCK_KEY}).scalar()
            assert holders == 1
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(30)
        lookup.close()
    assert set(http.webhooks) == set(keys)  # each notification reached the receiver
    assert sorted(http.webhook_requests) == sorted([*keys, in_flight])  # the one in flight
    assert all(r["attempt_rows"] == 1 for r in outbox(engine))  # twice, same key
