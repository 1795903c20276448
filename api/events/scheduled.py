"""The escalation of overdue events, run on a schedule while the app runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.events.lifecycle import escalate_overdue
from api.nodes.locks import ESCALATION_LOCK_KEY, try_transaction_lock
from api.settings import EventSettings

logger = logging.getLogger(__name__)


def run_escalation(sessions: sessionmaker[Session], settings: EventSettings) -> list[int]:
    """Escalate overdue events once, in its own transaction (one API process at a time)."""
    delay = timedelta(hours=settings.escalation_delay_hours)
    with sessions() as session:
        if not try_transaction_lock(session, ESCALATION_LOCK_KEY):  # another API process
            return []
        ids = escalate_overdue(session, datetime.now(UTC), delay)
        session.commit()
    if ids:
        logger.info("escalated %d overdue events", len(ids))
    return ids


async def _escalation_loop(sessions: sessionmaker[Session], settings: EventSettings) -> None:
    while True:
        await asyncio.sleep(settings.escalation_interval_seconds)
        try:
            await run_in_threadpool(run_escalation, sessions, settings)
        except Exception:  # keep the loop alive; the next tick retries
            logger.exception("automatic escalation failed")


@asynccontextmanager
async def escalation_schedule(sessions: sessionmaker[Session],
                              settings: EventSettings) -> AsyncIterator[None]:
    """Run ``escalate_overdue`` every ``GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS`` (0: off)."""
    interval = settings.escalation_interval_seconds
    task = asyncio.create_task(_escalation_loop(sessions, settings)) if interval > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
