"""People, houses and organisations: the archive's routes (staff, within scope, audited)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import Query, Response

from api.audit.deps import AuditActor
from api.auth.principal import Principal
from api.deps import SessionDep
from api.people import places, service
from api.people.deps import Divisions, Reader, Unmasker, Writer
from api.people.router_declarations import router as declarations_router
from api.people.router_visits import router as visits_router
from api.people.schemas import (
    LookupIn,
    MoveIn,
    OrganisationIn,
    PersonIn,
    PersonPatch,
    RoomPatch,
    UnmaskIn,
)
from api.people.scope import check_unmask
from api.people.tags import person_tags
from api.people.visits import person_visits
from api.personal.router import PersonalDep
from api.routing import Router
from api.validation import DbInt

router = Router(prefix="/api/v1/people", tags=["people"])
router.include_router(visits_router)
router.include_router(declarations_router)


def _detail(session: SessionDep, personal: PersonalDep, principal: Principal, actor: AuditActor,
            person_id: int, reason: str | None = None) -> dict[str, Any]:
    out = service.read_person(session, personal, principal, actor, person_id, reason=reason)
    out["tags"] = person_tags(session, person_id)
    out["visits"] = person_visits(session, person_id)
    session.commit()
    return out


@router.get("/persons")
def list_persons(session: SessionDep, personal: PersonalDep, principal: Reader,
                 actor: AuditActor, grid: Annotated[str | None, Query(max_length=32)] = None,
                 building: Annotated[str | None, Query(max_length=32)] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict[str, Any]:
    """List the residents of your scope (masked), of one grid or one building."""
    page = service.list_persons(session, personal, principal, actor, grid=grid,
                                building=building, limit=limit, offset=offset)
    session.commit()
    return page


@router.get("/export.csv")
def export_persons(session: SessionDep, personal: PersonalDep, principal: Reader,
                   actor: AuditActor) -> Response:
    """Download the residents of your scope as CSV (masked; the download is audited)."""
    rows = service.export_rows(session, personal, principal, actor)
    session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(service.EXPORT_HEADERS)
    writer.writerows(rows)
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="people.csv"'})


@router.post("/persons", status_code=201)
def create_person(body: PersonIn, session: SessionDep, personal: PersonalDep,
                  divisions: Divisions, principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Add a resident to the archive (ID number check character validated)."""
    new_id = service.create_person(session, personal, divisions, principal, actor,
                                   body.model_dump())
    return _detail(session, personal, principal, actor, new_id)


@router.get("/persons/{person_id}")
def read_person(person_id: DbInt, session: SessionDep, personal: PersonalDep,
                principal: Reader, actor: AuditActor) -> dict[str, Any]:
    """A resident's record, masked: residences, grids, tags and visits."""
    return _detail(session, personal, principal, actor, person_id)


@router.patch("/persons/{person_id}")
def update_person(person_id: DbInt, body: PersonPatch, session: SessionDep,
                  personal: PersonalDep, principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Change a resident's phone, ethnicity, relation or free attributes."""
    service.update_person(session, personal, principal, actor, person_id,
                          body.model_dump(exclude_unset=True))
    return _detail(session, personal, principal, actor, person_id)


@router.post("/persons/{person_id}/unmask")
def unmask_person(person_id: DbInt, body: UnmaskIn, session: SessionDep,
                  personal: PersonalDep, principal: Unmasker,
                  actor: AuditActor) -> dict[str, Any]:
    """Read a resident's name, ID number and phone in the clear, with a reason (audited)."""
    reason = check_unmask(principal, body.reason)
    return _detail(session, personal, principal, actor, person_id, reason)


@router.post("/persons/{person_id}/moves")
def move_person(person_id: DbInt, body: MoveIn, session: SessionDep, personal: PersonalDep,
                principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Move a resident: their current residences end, a new one starts (history kept)."""
    service.move_person(session, principal, actor, person_id, body.room_code, body.kind,
                        body.from_date)
    history = service.residences(session, person_id)
    session.commit()
    return {"person_id": person_id, "residences": history}


@router.post("/lookup")
def lookup(body: LookupIn, session: SessionDep, personal: PersonalDep, principal: Reader,
           actor: AuditActor) -> dict[str, Any]:
    """Find the residents of your scope by ID number or phone (exact, by keyed hash)."""
    found = service.lookup(session, personal, principal, actor, id_number=body.id_number,
                           phone=body.phone)
    session.commit()
    return {"items": found, "count": len(found)}


@router.get("/buildings/{code}")
def building_record(code: str, session: SessionDep, personal: PersonalDep, principal: Reader,
                    actor: AuditActor) -> dict[str, Any]:
    """A building's record: rooms, households, residents (masked) and organisations."""
    out = places.building_record(session, personal, principal, actor, code)
    session.commit()
    return out


@router.patch("/rooms/{code}")
def update_room(code: str, body: RoomPatch, session: SessionDep, principal: Writer,
                actor: AuditActor) -> dict[str, Any]:
    """Set a room's use, floor area, rented flag (出租屋) or occupancy."""
    out = places.update_room(session, principal, actor, code,
                             body.model_dump(exclude_unset=True))
    session.commit()
    return out


@router.post("/organisations", status_code=201)
def create_organisation(body: OrganisationIn, session: SessionDep, personal: PersonalDep,
                        principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Add an organisation at a building (unified social credit code validated)."""
    new_id = places.create_organisation(session, personal, principal, actor, body.model_dump())
    session.commit()
    return {"id": new_id, "credit_code": body.credit_code.strip().upper(),
            "building_code": body.building_code}
