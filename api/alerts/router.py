"""Routes of anomaly alerts: the stored alerts, acknowledging one; the schedule that finds them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from api.alerts import service
from api.audit.deps import AuditActor
from api.auth.access import roles
from api.deps import SessionDep
from api.nodes.schedule import every
from api.settings import Settings
from api.validation import DbInt

logger = logging.getLogger("gridgov.alerts")


def run_scheduled(app: FastAPI) -> list[dict[str, Any]]:
    """Compute, store and notify the new alerts once, in a transaction of its own."""
    with app.state.gridgov.sessions() as session:
        stored = service.run_alerts(session)
        session.commit()
    if stored:
        logger.info("stored %d new anomaly alerts", len(stored))
    return stored


@asynccontextmanager
async def alerts_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the alerts every ``GRIDGOV_EVENTS_ANOMALY_INTERVAL_SECONDS`` (0: off)."""
    settings: Settings = app.state.settings
    async with every("anomaly alerts", settings.events.anomaly_interval_seconds,
                     lambda: run_scheduled(app)):
        yield


router = APIRouter(prefix="/api/v1", tags=["anomaly alerts"], lifespan=alerts_lifespan)


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
