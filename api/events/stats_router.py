"""Event statistics: the KPIs of the closed loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query

from api.auth.access import Staff
from api.deps import ReadSessionDep
from api.events import kpi
from api.routing import Router

router = Router(prefix="/api/v1/stats", tags=["stats"])


@router.get("/events", description=(kpi.__doc__ or "").replace("``", "`"))
def event_stats(
    session: ReadSessionDep,
    principal: Staff,
    group_by: Literal["grid", "community", "street", "department", "category"] = "grid",
    start: Annotated[datetime | None, Query(alias="from", description="reported at or after")]
    = None,
    end: Annotated[datetime | None, Query(alias="to", description="reported before")] = None,
    layer: Annotated[str | None, Query(description="grid layer (group_by=grid)")] = None,
) -> dict[str, Any]:
    """Event KPIs per grid, community, street, department or category."""
    return kpi.event_kpis(session, group_by=group_by, now=datetime.now(UTC), start=start,
                          end=end, layer=layer, scope=principal.event_sql("e"))
