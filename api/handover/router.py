"""Routes of the hand-over: neighbours (admins), forwarded reports and their polling."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.audit.deps import AuditActor
from api.auth.access import Staff, roles
from api.auth.policy import check_event_scope
from api.db.models import Event
from api.deps import GridLookupDep, PersonalDep, SessionDep, SettingsDep
from api.handover import incoming, scheduled, service, transfer
from api.handover.models import INCOMING_STATUSES, IncomingTransfer, Neighbour
from api.media.store import PhotoRef, remove_photos
from api.routing import Router
from api.validation import DbInt, Text

router = Router(prefix="/api/v1", tags=["hand-over"])


class NeighbourIn(BaseModel):
    """A neighbour's name, territory (GeoJSON Polygon/MultiPolygon) and Open311 endpoint."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    territory: dict[str, Any]
    endpoint: str = Field(pattern=r"^https?://", max_length=500)
    api_key: str = Field(min_length=1, max_length=200)
    gridgov: bool = Field(False, description="the neighbour is a gridgov: a case transferred "
                          "by hand waits for its dispatcher's answer")


@router.put("/neighbours/{code}")
@roles("admin")
def set_neighbour(code: Annotated[str, Path(min_length=1, max_length=32)], body: NeighbourIn,
                  session: SessionDep, cipher: PersonalDep, actor: AuditActor
                  ) -> dict[str, Any]:
    """Configure a neighbouring jurisdiction (audited; its key is stored encrypted)."""
    out = service.set_neighbour(session, cipher, code, body.name, body.territory, body.endpoint,
                                body.api_key, actor, gridgov=body.gridgov)
    session.commit()
    return out


@router.get("/neighbours")
@roles("admin")
def list_neighbours(session: SessionDep) -> list[dict[str, Any]]:
    """The neighbouring jurisdictions (without their keys), with their last poll and its error."""
    rows = session.execute(select(Neighbour).order_by(Neighbour.code)).scalars()
    return [{"code": r.code, "name": r.name, "endpoint": r.endpoint, "gridgov": r.gridgov,
             "last_polled_at": r.last_polled_at.isoformat() if r.last_polled_at else None,
             "last_error": r.last_error} for r in rows]


@router.get("/handovers")
@roles("admin", "dispatcher")
def list_handovers(session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
                   ) -> list[dict[str, Any]]:
    """Reports forwarded to neighbours, newest first, with their id there and status."""
    return service.list_handovers(session, limit)


@router.post("/handovers/poll")
@roles("admin", "dispatcher")
def poll_handovers(session: SessionDep, cipher: PersonalDep, settings: SettingsDep
                   ) -> dict[str, int]:
    """Ask the neighbours for the status of forwarded reports and answers to transfers."""
    changed = scheduled.poll_all(session, cipher, datetime.now(UTC),
                                 settings.events.handover_poll_timeout_seconds)
    session.commit()
    return {"changed": changed}


class TransferIn(BaseModel):
    """Where a case goes and why."""

    model_config = ConfigDict(extra="forbid")
    neighbour: str = Field(min_length=1, max_length=32, description="the neighbour's code")
    reason: Text = Field(min_length=1, max_length=2000)


@router.post("/events/{event_id}/transfer")
@roles("admin", "dispatcher")
def transfer_event(event_id: DbInt, body: TransferIn, session: SessionDep, principal: Staff,
                   cipher: PersonalDep, actor: AuditActor) -> dict[str, Any]:
    """Transfer a case to a neighbour by hand (a gridgov neighbour accepts or refuses it)."""
    check_event_scope(session, principal, event_id)
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # noqa: S101 - checked above, for the type checker
    out = transfer.transfer(session, cipher, event, body.neighbour, body.reason, actor,
                            datetime.now(UTC))
    session.commit()
    return out


@router.get("/transfers/incoming")
@roles("admin", "dispatcher")
def list_incoming(session: SessionDep, principal: Staff,
                  status: Annotated[str, Query(pattern=f"^({'|'.join(INCOMING_STATUSES)})$",
                                               description=f"one of "
                                               f"{', '.join(INCOMING_STATUSES)}")] = "pending",
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Cases neighbouring gridgovs transferred to us in your scope, pending ones by default."""
    return incoming.list_incoming(session, principal, status, limit)


@router.post("/transfers/incoming/{transfer_id}/accept")
@roles("admin", "dispatcher")
def accept_incoming(transfer_id: DbInt, session: SessionDep, lookup: GridLookupDep,
                    settings: SettingsDep, cipher: PersonalDep, principal: Staff,
                    actor: AuditActor) -> dict[str, Any]:
    """Accept a transferred case of your scope: it becomes one of our cases (audited)."""
    out = incoming.accept(session, lookup, settings, cipher, principal, transfer_id, actor,
                          datetime.now(UTC))
    session.commit()
    return out


class RefusalIn(BaseModel):
    """Why a transferred case is refused (the neighbour is told)."""

    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=2000)


@router.post("/transfers/incoming/{transfer_id}/refuse")
@roles("admin", "dispatcher")
def refuse_incoming(transfer_id: DbInt, body: RefusalIn, session: SessionDep,
                    principal: Staff, actor: AuditActor) -> dict[str, Any]:
    """Refuse a transferred case of your scope with a reason: it goes back (audited)."""
    out = incoming.refuse(session, principal, transfer_id, body.reason, actor,
                          datetime.now(UTC))
    photos = session.get(IncomingTransfer, transfer_id)
    session.commit()
    remove_photos([PhotoRef(**p) for p in (photos.photos if photos else [])])
    return out
