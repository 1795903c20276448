"""Routes of anomaly alerts: the stored alerts, acknowledging one; the schedule that finds them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query

from api.alerts import service
from api.audit.deps import AuditActor
from api.auth.access import roles
from api.deps import SessionDep
from api.routing import Router
from api.validation import DbInt

logger = logging.getLogger("gridgov.alerts")


router = Router(prefix="/api/v1", tags=["anomaly alerts"])


@router.get("/alerts")
@roles("admin", "dispatcher", "analyst")
def list_alerts(session: SessionDep, acknowledged: bool | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Stored anomaly alerts, newest first (``acknowledged=false``: the open ones)."""
    return service.list_alerts(session, acknowledged, limit)


@router.post("/alerts/{alert_id}/acknowledge", status_code=204)
@roles("admin", "dispatcher")
def acknowledge_alert(alert_id: DbInt, session: SessionDep, actor: AuditActor) -> None:
    """Acknowledge an anomaly alert (once)."""
    service.acknowledge(session, alert_id, actor, datetime.now(UTC))
    session.commit()
