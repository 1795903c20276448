"""Live updates of the queue: PostgreSQL LISTEN/NOTIFY fanned out as server-sent events.

Every insert and update of ``events`` sends ``NOTIFY gridgov_cases, '<ids>'`` at commit
(a trigger of migration ``0020``), whichever process made it: the intake
writer, a lifecycle action, the escalation job or a batch import. Each API process
keeps one listening connection (:class:`LiveHub`, ``AppState.live``, started with the app);
for a notification it reads the changed cases once per distinct scope among its
subscribers, in SQL with that scope (:func:`api.workbench.queue.rows_by_id`), and hands
each subscriber the rows of its scope. So several API processes serve live updates,
and a case outside a subscriber's scope never reaches them.

A subscriber whose queue is full (a client that stopped reading) misses rows and is
told to reload (``resync``); so is everyone after the listening connection was lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.workbench.queue import rows_by_id

logger = logging.getLogger("gridgov.workbench.live")

CHANNEL = "gridgov_cases"
#: rows waiting for one subscriber before it is told to reload
QUEUE_SIZE = 256
RESYNC: dict[str, Any] = {"resync": True}

ScopeKey = tuple[str, int | None, tuple[str, ...], tuple[str, ...]]


def scope_key(principal: Principal) -> ScopeKey:
    """What :meth:`Principal.event_sql` depends on: subscribers with equal keys see alike."""
    return (principal.role, principal.department_id, principal.areas, principal.grid_docs)


def parse_ids(payload: str) -> list[int]:
    """The event ids of one notification (comma-separated); junk is ignored.

    Examples
    --------
    >>> parse_ids("3,5,x,8")
    [3, 5, 8]
    """
    return [int(p) for p in payload.split(",") if p.strip().isdigit()]


@dataclass(eq=False)  # each client is its own member of a set
class Subscriber:
    """One connected client: its principal and the rows waiting for it."""

    principal: Principal
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, item: dict[str, Any]) -> None:
        """Queue ``item``; when full, replace what waits by one ``resync``."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class LiveHub:
    """One LISTEN connection per process and the clients it serves."""

    def __init__(self, engine: Engine, conninfo: str, retry_seconds: float = 1.0) -> None:
        self.engine, self.conninfo, self.retry_seconds = engine, conninfo, retry_seconds
        self._groups: dict[ScopeKey, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @classmethod
    def for_engine(cls, engine: Engine) -> LiveHub:
        """A hub listening on the database of ``engine``."""
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(engine, url)

    async def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    @contextmanager
    def subscribe(self, principal: Principal) -> Iterator[Subscriber]:
        """Register a client for the duration of the ``with`` block."""
        sub = Subscriber(principal)
        self._groups.setdefault(scope_key(principal), set()).add(sub)
        try:
            yield sub
        finally:
            group = self._groups.get(scope_key(principal), set())
            group.discard(sub)
            if not group:
                self._groups.pop(scope_key(principal), None)

    @property
    def subscribers(self) -> int:
        """How many clients are connected to this process."""
        return sum(len(g) for g in self._groups.values())

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                logger.warning("live updates: listening connection lost (%s); retrying", exc)
            self.listening.clear()
            self._broadcast(RESYNC)
            await asyncio.sleep(self.retry_seconds)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            async for note in conn.notifies():
                ids = parse_ids(note.payload)
                if ids and self._groups:
                    await self.deliver(ids)

    def _broadcast(self, item: dict[str, Any]) -> None:
        for group in self._groups.values():
            for sub in group:
                sub.offer(item)

    async def deliver(self, ids: list[int]) -> None:
        """Hand the cases ``ids`` to every subscriber whose scope holds them."""
        for key, group in list(self._groups.items()):
            if not group:
                continue
            principal = next(iter(group)).principal
            try:
                rows = await run_in_threadpool(self._rows, principal, ids)
            except Exception:  # a failed read must not stop the listener
                logger.exception("live updates: could not read cases %s", ids[:10])
                rows = [RESYNC]
            for sub in list(self._groups.get(key, ())):
                for row in rows:
                    sub.offer(row)

    def _rows(self, principal: Principal, ids: list[int]) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            return rows_by_id(session, principal, ids, datetime.now(UTC))
