"""Routes of camera links: issue a camera's key (admins), a camera's heartbeat (its key)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, ConfigDict

from api.audit.deps import AuditActor
from api.auth.access import public, roles
from api.camera_feed import service
from api.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["camera feed"])

CameraCode = Annotated[str, Path(min_length=1, max_length=32)]


class HeartbeatIn(BaseModel):
    """What a camera reports of itself."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["online", "offline", "fault"] = "online"


@router.post("/cameras/{code}/key", status_code=201)
@roles("admin")
def issue_camera_key(code: CameraCode, session: SessionDep,
                     actor: AuditActor) -> dict[str, str]:
    """Issue a camera its key (shown once; replaces the one before)."""
    key = service.issue_key(session, code, actor)
    session.commit()
    return {"camera": code, "key": key}


@router.post("/cameras/{code}/heartbeat", status_code=204)
@public
def camera_heartbeat(code: CameraCode, session: SessionDep,
                     x_camera_key: Annotated[str | None, Header()] = None,
                     body: HeartbeatIn | None = None) -> None:
    """A camera's heartbeat, with its key in ``X-Camera-Key``: sets its status."""
    camera = service.authenticate(session, code, x_camera_key)
    service.heartbeat(session, camera, (body or HeartbeatIn()).status, datetime.now(UTC))
    session.commit()
