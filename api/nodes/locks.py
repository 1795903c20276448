"""Advisory locks that make a task run in one API process at a time per database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

#: the escalation pass (``api.events.router.run_escalation``): one process at a time
ESCALATION_LOCK_KEY = 0x65736361  # "esca"


def try_transaction_lock(session: Session, key: int) -> bool:
    """Take advisory lock ``key`` until ``session``'s transaction ends.

    False when another process holds it: the caller skips its work, which that
    process is doing.
    """
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                {"k": key}).scalar())
