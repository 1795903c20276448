"""Routes of the hand-over: neighbours (admins), forwarded reports and their polling."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.audit.deps import AuditActor
from api.auth.access import roles
from api.deps import PersonalDep, SessionDep
from api.handover import service
from api.handover.models import Neighbour

logger = logging.getLogger("gridgov.handover")


router = APIRouter(prefix="/api/v1", tags=["hand-over"])


class NeighbourIn(BaseModel):
    """A neighbour's name, territory (GeoJSON Polygon/MultiPolygon) and Open311 endpoint."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    territory: dict[str, Any]
    endpoint: str = Field(pattern=r"^https?://", max_length=500)
    api_key: str = Field(min_length=1, max_length=200)


@router.put("/neighbours/{code}")
@roles("admin")
def set_neighbour(code: Annotated[str, Path(min_length=1, max_length=32)], body: NeighbourIn,
                  session: SessionDep, cipher: PersonalDep, actor: AuditActor
                  ) -> dict[str, Any]:
    """Configure a neighbouring jurisdiction (audited; its key is stored encrypted)."""
    out = service.set_neighbour(session, cipher, code, body.name, body.territory, body.endpoint,
                                body.api_key, actor)
    session.commit()
    return out


@router.get("/neighbours")
@roles("admin")
def list_neighbours(session: SessionDep) -> list[dict[str, str]]:
    """The neighbouring jurisdictions (without their keys)."""
    rows = session.execute(select(Neighbour).order_by(Neighbour.code)).scalars()
    return [{"code": r.code, "name": r.name, "endpoint": r.endpoint} for r in rows]


@router.get("/handovers")
@roles("admin", "dispatcher")
def list_handovers(session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
                   ) -> list[dict[str, Any]]:
    """Reports forwarded to neighbours, newest first, with their id there and status."""
    return service.list_handovers(session, limit)


@router.post("/handovers/poll")
@roles("admin", "dispatcher")
def poll_handovers(session: SessionDep) -> dict[str, int]:
    """Ask the neighbours for the status of the forwarded reports still open."""
    changed = service.poll(session, datetime.now(UTC))
    session.commit()
    return {"changed": changed}
