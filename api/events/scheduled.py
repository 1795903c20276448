"""The escalation of overdue events, run on a schedule while the app runs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

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
