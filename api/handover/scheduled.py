"""Polling the neighbours for the status of handed-over reports and transfers, on a schedule.

``GRIDGOV_EVENTS_HANDOVER_POLL_INTERVAL_SECONDS`` (0: off); run by the app state,
and by hand (``POST /api/v1/handovers/poll``). One round asks every neighbour
that has reports open or transfers pending there, each on its own (a
savepoint): one that cannot be reached, times out
(``GRIDGOV_EVENTS_HANDOVER_POLL_TIMEOUT_SECONDS`` for the connection and for each
answer; its first such failure ends its turn), answers an HTTP error or no JSON is
logged, its error and the time recorded on its row
(``last_error``, ``last_polled_at``: the neighbours' admin list), and the others
are still asked; it is asked again at the next round. A transfer it answers
wrongly (a 4xx: unknown to it; an answer without a status) stays pending and
is named in ``last_error``, and its other transfers are still asked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.handover.models import Handover, Neighbour
from api.handover.service import NeighbourFailed, poll_statuses
from api.handover.transfer import poll_transfers
from api.personal.cipher import PersonalCipher

logger = logging.getLogger("gridgov.handover")


def _waiting(session: Session) -> dict[str, list[Handover]]:
    """The hand-overs open or pending at each neighbour, by its code."""
    rows = session.execute(select(Handover).where(Handover.their_status.in_(
        ("open", "pending"))).order_by(Handover.id)).scalars()
    by_code: dict[str, list[Handover]] = defaultdict(list)
    for row in rows:
        by_code[row.neighbour_code].append(row)
    return by_code


def poll_all(session: Session, cipher: PersonalCipher, now: datetime, timeout: float) -> int:
    """One round: statuses and transfers' answers of every neighbour; how many changed.

    The caller commits; a neighbour that fails changes nothing but its own
    ``last_error`` and ``last_polled_at``.
    """
    waiting = _waiting(session)
    changed = 0
    for neighbour in session.execute(select(Neighbour).where(Neighbour.code.in_(waiting))
                                     .order_by(Neighbour.code)).scalars().all():
        rows = waiting[neighbour.code]
        failures: list[str] = []
        try:
            with session.begin_nested():
                found = (poll_statuses(neighbour, rows, now, timeout)
                         + poll_transfers(session, cipher, neighbour, rows, now, timeout,
                                          failures))
        except NeighbourFailed as exc:
            logger.warning("neighbour %s not polled: %s", neighbour.code, exc)
            neighbour.last_error = str(exc)
        else:
            changed += found
            for failure in failures:
                logger.warning("neighbour %s: %s", neighbour.code, failure)
            neighbour.last_error = "; ".join(failures)[:1000] or None
        neighbour.last_polled_at = now
    return changed


def run_poll(sessions: sessionmaker[Session], cipher: PersonalCipher, timeout: float) -> int:
    """Poll the neighbours once, in a transaction of its own; how many statuses changed."""
    with sessions() as session:
        changed = poll_all(session, cipher, datetime.now(UTC), timeout)
        session.commit()
    return changed
