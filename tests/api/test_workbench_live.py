"""Live updates from PostgreSQL's NOTIFY: a committed change reaches the subscribers whose
scope holds the case, and only them; several API processes each listen on their own."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, text

from api.auth.principal import Principal
from api.workbench.live import LiveHub, Subscriber
from testkit.aio import run_coroutine


async def _next_case(sub: Subscriber) -> dict[str, Any]:
    return await asyncio.wait_for(sub.queue.get(), 30)


def _two_streets(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT street_code, min(id) FROM events WHERE street_code IS NOT NULL "
            "GROUP BY 1 ORDER BY 1 LIMIT 2")).all()
    return [(str(r[0]), int(r[1])) for r in rows]


def _touch(engine: Engine, ids: list[int]) -> None:
    with engine.begin() as conn:  # changes nothing, but is an update: the trigger notifies
        conn.execute(text("UPDATE events SET attributes = attributes WHERE id = ANY(:ids)"),
                     {"ids": ids})


def test_a_change_reaches_the_subscribers_of_its_scope_only(engine: Engine) -> None:
    (street_a, case_a), (street_b, case_b) = _two_streets(engine)

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        hubs = [LiveHub.for_engine(engine), LiveHub.for_engine(engine)]  # two processes
        for hub in hubs:
            await hub.start()
        try:
            await asyncio.wait_for(asyncio.gather(*(h.listening.wait() for h in hubs)), 30)
            a = Principal(1, "a", "dispatcher", areas=(street_a,))
            b = Principal(2, "b", "dispatcher", areas=(street_b,))
            with hubs[0].subscribe(a) as sub_a, hubs[0].subscribe(b) as sub_b, \
                    hubs[1].subscribe(a) as other:
                await asyncio.to_thread(_touch, engine, [case_a, case_b])
                got_a, got_b, got_other = (await _next_case(sub_a), await _next_case(sub_b),
                                           await _next_case(other))
                rest = [sub_a.queue.get_nowait() for _ in range(sub_a.queue.qsize())]
                rest_b = [sub_b.queue.get_nowait() for _ in range(sub_b.queue.qsize())]
            return [got_a, *rest], [got_b, *rest_b], got_other
        finally:
            for hub in hubs:
                await hub.stop()

    seen_a, seen_b, seen_other = run_coroutine(run())
    assert [r["id"] for r in seen_a] == [case_a]
    assert [r["id"] for r in seen_b] == [case_b]
    assert seen_other["id"] == case_a and seen_other["street_code"] == street_a
    assert {"status", "category", "due_at", "overdue"} <= seen_a[0].keys()
