"""Routes of joint handling: share a case, each department's sub-task, the joint KPIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.audit.deps import AuditActor
from api.auth.access import Staff, roles
from api.auth.policy import check_event_scope
from api.auth.principal import Principal
from api.auth.schemas import Code, Text
from api.db.models import Event
from api.deps import SessionDep
from api.errors import APIError
from api.joint import service
from api.routing import Router
from api.validation import DbInt

router = Router(prefix="/api/v1", tags=["joint handling"])

DepartmentCode = Annotated[str, Path(min_length=1, max_length=32)]


class JointIn(BaseModel):
    """A lead department and the assisting ones, with optional limits and tasks."""

    model_config = ConfigDict(extra="forbid")
    lead: Code = Field(description="the lead department's code (becomes the case's department)")
    assisting: Annotated[list[Code], Field(min_length=1, max_length=20)] = Field(
        description="the assisting departments' codes")
    hours: dict[Code, Annotated[float, Field(gt=0, le=24 * 365)]] = Field(
        default_factory=dict, description="a department's own limit in hours (default: the "
        "category's handling limit), on the category's handling clock")
    tasks: dict[Code, Annotated[Text, Field(max_length=2000)]] = Field(
        default_factory=dict, description="what each department is asked to do")


class HandlingIn(BaseModel):
    """How a department handled its sub-task."""

    model_config = ConfigDict(extra="forbid")
    handling: Text = Field(min_length=1, max_length=4000)


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # the scope check found it  # noqa: S101
    return event


def _check_part(session: Session, principal: Principal, event_id: int) -> None:
    """The case's scope, or (a handler) a sub-task of the handler's department."""
    if principal.role == "handler" and service.takes_part(session, event_id,
                                                          principal.department_id):
        return
    check_event_scope(session, principal, event_id)


@router.post("/events/{event_id}/joint", status_code=201)
@roles("admin", "dispatcher")
def share_case(event_id: DbInt, body: JointIn, principal: Staff, session: SessionDep,
               actor: AuditActor) -> list[dict[str, Any]]:
    """Share a case between a lead department and assisting ones, each with its sub-task."""
    check_event_scope(session, principal, event_id)
    service.share(session, _event(session, event_id), lead=body.lead,
                  assisting=body.assisting, hours=body.hours, tasks=body.tasks,
                  now=datetime.now(UTC), by=actor)
    out = service.subtasks(session, event_id)
    session.commit()
    return out


@router.get("/events/{event_id}/subtasks")
def list_subtasks(event_id: DbInt, principal: Staff, session: SessionDep
                  ) -> list[dict[str, Any]]:
    """The sub-tasks of a joint case, lead first, with deadlines and handling."""
    _check_part(session, principal, event_id)
    return service.subtasks(session, event_id)


@router.post("/events/{event_id}/subtasks/{department}/handle")
@roles("admin", "handler")
def handle_subtask(event_id: DbInt, department: DepartmentCode, body: HandlingIn,
                   principal: Staff, session: SessionDep, actor: AuditActor
                   ) -> list[dict[str, Any]]:
    """Record your department's handling of its sub-task (the last one handles the case)."""
    _check_part(session, principal, event_id)
    if principal.role == "handler" and not service.is_department(
            session, principal.department_id, department):
        raise APIError(403, "forbidden", f"you handle for your own department, not "
                       f"{department!r}")
    service.handle(session, _event(session, event_id), department, body.handling,
                   actor=principal.name, now=datetime.now(UTC), by=actor)
    out = service.subtasks(session, event_id)
    session.commit()
    return out


@router.get("/joint/kpis")
@roles("admin", "dispatcher", "analyst")
def joint_kpis(session: SessionDep, since: Annotated[datetime, Query()],
               until: Annotated[datetime, Query()]) -> list[dict[str, Any]]:
    """Per department: lead and assisting sub-tasks given, handled, on time and overdue."""
    return service.kpis(session, since, until, datetime.now(UTC))
