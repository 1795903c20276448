"""Self-declaration of residence from a plate (public) and its verification (staff)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.audit.deps import AuditActor
from api.auth.access import public
from api.deps import SessionDep
from api.people import declarations
from api.people.deps import Divisions, Reader, Writer
from api.people.schemas import Code, Day, ResidenceKind
from api.personal.router import PersonalDep
from api.routing import Router
from api.validation import DbInt, Text

router = Router()


class DeclarationIn(BaseModel):
    """What a resident declares at a building's plate."""

    model_config = ConfigDict(extra="forbid")
    building_code: Code
    room_code: Code
    name: Text = Field(min_length=1, max_length=100)
    id_number: Text = Field(min_length=15, max_length=20)
    phone: Text | None = Field(None, max_length=30)
    kind: ResidenceKind = "resident"
    from_date: Day | None = None


@router.post("/declarations", status_code=201)
@public
def declare(body: DeclarationIn, session: SessionDep, personal: PersonalDep,
            divisions: Divisions, actor: AuditActor) -> dict[str, Any]:
    """Declare that you live at a room of this building; the grid worker verifies it."""
    new_id = declarations.declare(session, personal, divisions, actor, body.model_dump())
    session.commit()
    return {"id": new_id, "status": "pending"}


@router.get("/declarations")
def pending(session: SessionDep, personal: PersonalDep, principal: Reader,
            actor: AuditActor) -> dict[str, Any]:
    """The declarations waiting at the buildings of your scope (masked)."""
    items = declarations.pending(session, personal, principal, actor)
    session.commit()
    return {"items": items, "count": len(items)}


@router.post("/declarations/{declaration_id}/verify")
def verify(declaration_id: DbInt, session: SessionDep, personal: PersonalDep,
           divisions: Divisions, principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Verify a declaration: the person is added to the archive or given the residence."""
    out = declarations.decide(session, personal, divisions, principal, actor, declaration_id,
                              verify=True)
    session.commit()
    return out


@router.post("/declarations/{declaration_id}/reject")
def reject(declaration_id: DbInt, session: SessionDep, personal: PersonalDep,
           divisions: Divisions, principal: Writer, actor: AuditActor) -> dict[str, Any]:
    """Reject a declaration (nobody lives there as declared)."""
    out = declarations.decide(session, personal, divisions, principal, actor, declaration_id,
                              verify=False)
    session.commit()
    return out
