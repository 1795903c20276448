"""The retention job of track points: run in the server, once per database at a time.

Every ``GRIDGOV_TRACK_RETENTION_INTERVAL_SECONDS`` (0: off) the job deletes the
track points older than ``GRIDGOV_TRACK_RETENTION_DAYS`` in one transaction that
holds a transaction-level advisory lock: with several servers on one database,
one deletes and the others skip that round. ``gridgov field purge-tracks``
runs the same job from the command line (or cron).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from api.field.tracks import purge_old_points
from api.nodes.locks import try_transaction_lock

logger = logging.getLogger("gridgov.field")

#: the advisory lock of the retention job ("trak")
LOCK_KEY = 0x7472616B


def run_retention(make_session: sessionmaker[Session], days: int) -> int | None:
    """Delete old track points once; None when another server holds the job's lock."""
    with make_session() as session:
        if not try_transaction_lock(session, LOCK_KEY):
            return None
        deleted = purge_old_points(session, days)
        session.commit()
    if deleted:
        logger.info("deleted %d track points older than %d days", deleted, days)
    return deleted
