"""Unmasking and looking up personal data: separate, audited reads for staff who may."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.audit.deps import AuditActor
from api.auth.access import Staff
from api.auth.policy import check_event_scope
from api.deps import PersonalDep, SessionDep
from api.personal.service import check_personal, find_events, read_reporter
from api.routing import Router
from api.validation import DbInt, Text

router = Router(prefix="/api/v1", tags=["personal data"])




class LookupIn(BaseModel):
    """A reporter's contact to find events by (sent in the body, never in the URL)."""

    model_config = ConfigDict(extra="forbid")
    phone: Text | None = Field(None, max_length=50)
    email: Text | None = Field(None, max_length=200)


@router.get("/events/{event_id}/reporter")
def unmask_reporter(event_id: DbInt, session: SessionDep, principal: Staff, actor: AuditActor,
                    personal: PersonalDep) -> dict[str, Any]:
    """Read the reporter's contact in the clear (staff who may; written to the audit log)."""
    check_event_scope(session, principal, event_id)
    check_personal(principal)
    reporter = read_reporter(session, personal, event_id, actor, clear=True)
    session.commit()
    return {"event_id": event_id, "reporter": reporter}


@router.post("/personal/lookup")
def lookup_reporter(body: LookupIn, session: SessionDep, principal: Staff,
                    actor: AuditActor, personal: PersonalDep) -> dict[str, Any]:
    """Find the events of your scope reported from a phone or e-mail (by keyed hash; audited)."""
    check_personal(principal)
    ids = find_events(session, personal, actor, phone=body.phone, email=body.email,
                      scope=principal.event_sql("events"))
    session.commit()
    return {"events": ids, "count": len(ids)}
