"""Benchmark: outbox throughput to a local webhook receiver, and the cost per case change.

Run: ``.venv/bin/python bench/notify.py [--messages 2000] [--changes 300]``

Starts a throwaway PostGIS cluster with the small sample town (as
``bench/intake.py`` does) and the signed-webhook receiver of the tests
(``testkit/counterparts.py``: it checks each HMAC signature and
timestamp), then measures, in the same run:

* **Throughput**: ``--messages`` pending webhook notifications sent by one
  :class:`~api.notify.worker.DeliveryWorker` (claim, render, sign, POST, mark
  and attempt row, one transaction each), in messages per second. Anchor: the
  same number of signed POSTs to the same receiver from a bare loop (the HTTP
  floor); the ratio is the worker's cost over the floor.
* **Cost per case change**: ``--changes`` escalations, each its own committed
  transaction (``apply_action`` with its history, audit row and deadline),
  with notifications on (the people of every level have a webhook channel:
  each escalation writes its outbox rows in the transaction) and off (the
  outbox statement replaced by a no-op), in alternating rounds; printed side
  by side in milliseconds per change, with the added cost.

All data are the sample's and deterministic; times are wall-clock on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testkit.databases import throwaway_sample_database  # noqa: E402


def _users(engine: Any, hook: str) -> None:
    """A dispatcher per street and district and the centre, each on the webhook."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.auth.service import create_user
    from api.notify.models import UserChannel

    with Session(engine) as s:
        areas = s.execute(text("SELECT code FROM admin_areas WHERE level IN "
                               "('street', 'district') ORDER BY code")).scalars().all()
        for i, scope in enumerate([[], *([a] for a in areas)]):
            user, _ = create_user(s, name=f"bench-{i}", role="dispatcher", areas=scope)
            s.add(UserChannel(user_id=user.id, channel="webhook", address=hook))
        s.commit()


def throughput(engine: Any, worker: Any, hook: str, secret: str, n: int) -> tuple[float, float]:
    """Messages per second of the worker, and of a bare signed-POST loop (the anchor)."""
    from sqlalchemy import text

    from api.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO notifications (kind, event_id, user_channel_id, channel, language,
                                       urgent)
            SELECT 'escalated', (SELECT min(id) FROM events), c.id, 'webhook', 'zh', TRUE
            FROM generate_series(1, :n), (SELECT min(id) AS id FROM user_channels) c"""),
                     {"n": n})
    t = time.perf_counter()
    sent = 0
    while sent < n:
        sent += worker.run_once(limit=n)
    worker_rate = n / (time.perf_counter() - t)
    with httpx.Client() as client:
        t = time.perf_counter()
        for i in range(n):
            body = json.dumps({"key": f"anchor-{i}", "kind": "escalated", "event_id": 1,
                               "subject": "s", "body": "b"}).encode()
            stamp = int(time.time())
            client.post(hook, content=body, headers={
                "Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: sign(secret, stamp, body), "Idempotency-Key": f"anchor-{i}"})
        anchor_rate = n / (time.perf_counter() - t)
    return worker_rate, anchor_rate


def change_cost(engine: Any, n: int, rounds: int = 4) -> tuple[float, float]:
    """Milliseconds per escalation with notifications on and off (alternating rounds)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    import api.events.lifecycle as lifecycle
    from api.db.models import Event

    with engine.connect() as conn:
        ids = list(conn.execute(text(
            "SELECT id FROM events WHERE status IN ('dispatched', 'in_progress') "
            "ORDER BY id LIMIT :n"), {"n": 2 * n}).scalars())
    half = len(ids) // 2
    real = lifecycle.notify

    def run(batch: list[int], notify: Callable[..., None]) -> float:
        lifecycle.notify = notify  # type: ignore[assignment]
        t = time.perf_counter()
        for event_id in batch:
            with Session(engine) as s:
                event = s.get(Event, event_id)
                assert event is not None
                lifecycle.apply_action(s, event, "escalate", actor="bench", now=datetime.now(UTC))
                s.commit()
        lifecycle.notify = real  # type: ignore[assignment]
        return time.perf_counter() - t

    on = off = 0.0
    per = max(1, half // rounds)
    for r in range(rounds):
        on += run(ids[r * per:(r + 1) * per], real)
        off += run(ids[half + r * per:half + (r + 1) * per], lambda *_a, **_k: None)
    done = per * rounds
    return 1000 * on / done, 1000 * off / done


def main() -> None:
    """Run both measurements and print them with their anchors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server to create the database on")
    args = parser.parse_args()

    from pydantic import SecretStr

    from api.db.session import make_engine
    from api.notify.delivery import build_channels
    from api.notify.worker import DeliveryWorker
    from api.settings import NotifySettings
    from testkit.counterparts import SECRET, http_counterpart

    with throwaway_sample_database(args.database_url) as (url, _), \
            http_counterpart() as receiver:
        engine = make_engine(url, pool_size=4)
        hook = f"{receiver.base}/hook"
        _users(engine, hook)
        settings = NotifySettings(webhook_secret=SecretStr(SECRET), allow_internal_urls=True)
        worker = DeliveryWorker(engine, build_channels(settings), settings, None)
        rate, anchor = throughput(engine, worker, hook, SECRET, args.messages)
        assert not receiver.refused, "the receiver refused a signature"
        print(f"outbox throughput: {rate:8.0f} messages/s   "
              f"bare signed POST loop: {anchor:8.0f} /s   ratio {rate / anchor:.2f}")
        on, off = change_cost(engine, args.changes)
        print(f"escalation, notifications on: {on:6.2f} ms   off: {off:6.2f} ms   "
              f"added: {on - off:+.2f} ms ({(on - off) / off:+.0%})")
        engine.dispose()


if __name__ == "__main__":
    main()
