"""The sweep of silent cameras.

Every ``GRIDGOV_CAMERA_SWEEP_INTERVAL_SECONDS`` (0: off); the app state runs it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from api.camera_feed.detections import sweep_offline

logger = logging.getLogger("gridgov.camera_feed")


def run_sweep(sessions: sessionmaker[Session], offline_after_seconds: float) -> list[str]:
    """Mark offline the cameras whose heartbeats stopped, in a transaction of its own."""
    with sessions() as session:
        codes = sweep_offline(session, datetime.now(UTC), offline_after_seconds)
        session.commit()
    if codes:
        logger.info("cameras offline (no heartbeat): %s", ", ".join(codes))
    return codes
