"""Jobs that run on a schedule while the app runs, each in a worker thread.

Every scheduled job of the server (escalation, anomaly alerts, the camera
sweep, polling the neighbours, track retention) is :func:`every`: an asyncio
task that sleeps ``interval`` seconds, runs the job in the thread pool (so the
event loop keeps serving requests and live updates) and goes on sleeping; a
failure is logged and the next round retries. Jobs that must run in one
process at a time per database take an advisory lock of :mod:`api.nodes.locks`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.concurrency import run_in_threadpool

logger = logging.getLogger("gridgov.schedule")


async def _loop(name: str, interval: float, job: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(job)
        except Exception:  # keep the loop alive; the next round retries
            logger.exception("scheduled job %r failed", name)


@asynccontextmanager
async def every(name: str, interval: float, job: Callable[[], object]) -> AsyncIterator[None]:
    """Run ``job()`` every ``interval`` seconds while the context is open (0 or less: never).

    Parameters
    ----------
    name
        What the job is, for the log.
    interval
        Seconds between the end of a round and the start of the next; the first
        round starts ``interval`` seconds after the context opens.
    job
        A blocking function (it runs in the thread pool); its result is ignored.
    """
    task = (asyncio.create_task(_loop(name, interval, job), name=f"gridgov: {name}")
            if interval > 0 else None)
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
