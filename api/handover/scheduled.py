"""Polling the neighbours for the status of handed-over reports and transfers, on a schedule.

``GRIDGOV_EVENTS_HANDOVER_POLL_INTERVAL_SECONDS`` (0: off); run by the app state.
A neighbour that does not answer is logged, and retried at the next round.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from api.handover.transfer import poll_all
from api.personal.cipher import PersonalCipher


def run_poll(sessions: sessionmaker[Session], cipher: PersonalCipher) -> int:
    """Poll the neighbours once, in a transaction of its own; how many statuses changed."""
    with sessions() as session:
        changed = poll_all(session, cipher, datetime.now(UTC))
        session.commit()
    return changed
