"""Polling the neighbours for the status of handed-over reports, on a schedule.

``GRIDGOV_EVENTS_HANDOVER_POLL_INTERVAL_SECONDS`` (0: off); run by the app state.
A neighbour that does not answer is logged, and retried at the next round.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from api.handover.service import poll


def run_poll(sessions: sessionmaker[Session]) -> int:
    """Poll the neighbours once, in a transaction of its own; how many statuses changed."""
    with sessions() as session:
        changed = poll(session, datetime.now(UTC))
        session.commit()
    return changed
