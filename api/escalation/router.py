"""Routes of escalation: a level's queue, and the climb of one case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from api.auth.access import Staff, roles
from api.auth.policy import check_event_scope
from api.deps import SessionDep
from api.escalation import service
from api.routing import Router
from api.validation import DbInt

router = Router(prefix="/api/v1", tags=["escalation"])


@router.get("/escalation/queue")
@roles("admin", "dispatcher")
def escalation_queue(principal: Staff, session: SessionDep,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 200
                     ) -> list[dict[str, Any]]:
    """The open escalated cases of your level and area, highest level first."""
    return service.queue(session, principal.id, limit)


@router.get("/events/{event_id}/escalation")
def escalation_trail(event_id: DbInt, principal: Staff, session: SessionDep) -> dict[str, Any]:
    """An event's escalation level now and every step of its climb, with who was told."""
    check_event_scope(session, principal, event_id)
    return service.trail(session, event_id)
