"""Anomaly alerts on a schedule.

Every ``GRIDGOV_EVENTS_ANOMALY_INTERVAL_SECONDS`` (0: off); the app state runs it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.alerts.service import run_alerts

logger = logging.getLogger("gridgov.alerts")


def run_alerts_once(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Compute, store and notify the new alerts once, in a transaction of its own."""
    with sessions() as session:
        stored = run_alerts(session)
        session.commit()
    if stored:
        logger.info("stored %d new anomaly alerts", len(stored))
    return stored
