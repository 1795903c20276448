"""Routes of cameras: keys (admins), heartbeats and detections (the camera's key), review."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import Depends, File, Form, Header, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.audit.deps import AuditActor
from api.auth.access import Staff, public, roles
from api.camera_feed import detections, service
from api.camera_feed.detections import DetectionIn
from api.camera_feed.models import Detection
from api.db.models import Camera
from api.deps import SessionDep, SettingsDep, get_intake_writer
from api.errors import APIError
from api.events.writer import IntakeWriter
from api.media import images
from api.routing import Router
from api.validation import DbInt

logger = logging.getLogger("gridgov.camera_feed")


router = Router(prefix="/api/v1", tags=["camera feed"])

CameraCode = Annotated[str, Path(min_length=1, max_length=32)]
TypeName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
Writer = Annotated[IntakeWriter, Depends(get_intake_writer)]


class HeartbeatIn(BaseModel):
    """What a camera reports of itself."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["online", "offline", "fault"] = "online"


class DetectionTypeIn(BaseModel):
    """A detection type's category and threshold (null: ``GRIDGOV_CAMERA_THRESHOLD``)."""

    model_config = ConfigDict(extra="forbid")
    category: str = Field(min_length=1, max_length=16)
    threshold: float | None = Field(default=None, ge=0, le=1)


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


def _detection_in(type_: str, confidence: float, detected_at: datetime,
                  bearing: float | None, distance_m: float | None) -> DetectionIn:
    if detected_at.tzinfo is None:
        raise APIError(422, "invalid_parameter", "field 'detected_at': give a time zone "
                       "(e.g. 2026-12-01T08:00:00+08:00)", field="detected_at")
    if (bearing is None) != (distance_m is None):
        raise APIError(422, "invalid_parameter", "fields 'bearing' and 'distance_m': give "
                       "both or neither", field="bearing" if bearing is None else "distance_m")
    return DetectionIn(type_, confidence, detected_at, bearing, distance_m)


async def _register(session: Session, writer: IntakeWriter, row: Detection, code: str,
                    lon: float, lat: float) -> int:
    report = await run_in_threadpool(detections.report_of, session, row, code, lon, lat)
    return (await writer.submit(report)).event_id


@router.post("/cameras/{code}/detections", status_code=201,
             responses={401: {"description": "not the camera's key"},
                        413: {"description": "snapshot too large"},
                        415: {"description": "snapshot not JPEG, PNG or WebP"},
                        422: {"description": "unknown type, bad field, beyond the camera's "
                                             "range, or outside the jurisdiction"}})
@public
async def camera_detection(
    code: CameraCode, session: SessionDep, settings: SettingsDep, writer: Writer,
    type: Annotated[str, Form(min_length=1, max_length=32)],
    confidence: Annotated[float, Form(ge=0, le=1)],
    detected_at: Annotated[datetime, Form()],
    snapshot: Annotated[UploadFile, File()],
    bearing: Annotated[float | None, Form(ge=0, lt=360)] = None,
    distance_m: Annotated[float | None, Form(gt=0)] = None,
    x_camera_key: Annotated[str | None, Header()] = None,
) -> dict[str, object]:
    """A camera's detection (multipart, key in ``X-Camera-Key``): a case, a review or a repeat."""
    camera: Camera = await run_in_threadpool(service.authenticate, session, code, x_camera_key)
    found = _detection_in(type, confidence, detected_at, bearing, distance_m)
    limit = settings.events.max_photo_bytes
    photo = images.check_photo(await snapshot.read(limit + 1), max_bytes=limit,
                               max_pixels=settings.events.max_photo_pixels, field="snapshot")
    path = await run_in_threadpool(detections.save_snapshot, settings, photo)
    event_id: int | None = None
    try:
        got = await run_in_threadpool(detections.receive, session, settings, camera, found,
                                      path, photo.kind.media_type)
        if got.row.status == "registered":
            event_id = await _register(session, writer, got.row, code, got.lon, got.lat)
        row = await run_in_threadpool(detections.store, session, got, event_id)
        body = await run_in_threadpool(detections.view, session, row)
        await run_in_threadpool(session.commit)
    except BaseException:
        if event_id is None:  # nothing stored, no file left (else it is the event's photo)
            path.unlink(missing_ok=True)
        raise
    return body


@router.get("/camera-detections")
@roles("admin", "dispatcher")
def camera_review_queue(session: SessionDep, principal: Staff,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100
                        ) -> list[dict[str, object]]:
    """Camera detections of your scope below their threshold waiting for review, oldest first."""
    return detections.review_queue(session, principal, limit)


@router.post("/camera-detections/{detection_id}/accept")
@roles("admin", "dispatcher")
async def accept_camera_detection(detection_id: DbInt, session: SessionDep, writer: Writer,
                                  principal: Staff, actor: AuditActor) -> dict[str, object]:
    """Accept a detection waiting for review: its case registers on channel ``camera``."""
    row, camera = await run_in_threadpool(detections.pending, session, principal,
                                          detection_id)
    lon, lat = await run_in_threadpool(detections.location, session, row.id)
    event_id = await _register(session, writer, row, camera.code, lon, lat)

    def finish() -> dict[str, object]:
        detections.link_event(session, row, event_id)
        detections.decide(session, row, "accepted", actor, datetime.now(UTC))
        body = detections.view(session, row)
        session.commit()
        return body
    return await run_in_threadpool(finish)


@router.post("/camera-detections/{detection_id}/reject")
@roles("admin", "dispatcher")
def reject_camera_detection(detection_id: DbInt, session: SessionDep, principal: Staff,
                            actor: AuditActor) -> dict[str, object]:
    """Reject a detection waiting for review (no case)."""
    row, _ = detections.pending(session, principal, detection_id)
    detections.decide(session, row, "rejected", actor, datetime.now(UTC))
    body = detections.view(session, row)
    session.commit()
    return body


@router.get("/camera-detections/{detection_id}/snapshot", response_model=None)
@roles("admin", "dispatcher")
def camera_detection_snapshot(detection_id: DbInt, session: SessionDep, principal: Staff
                              ) -> FileResponse:
    """The snapshot a camera sent with a detection of your scope."""
    path: FilePath = detections.snapshot_of(session, principal, detection_id)
    if not path.is_file():
        raise APIError(404, "photo_not_found", "the snapshot file is missing")
    media_type, headers = images.served_headers(path, detection_id)
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/camera-detection-types")
@roles("admin", "dispatcher")
def list_detection_types(session: SessionDep) -> list[dict[str, object]]:
    """Detection types with the category of their cases and their threshold."""
    return detections.list_types(session)


@router.put("/camera-detection-types/{name}")
@roles("admin")
def set_detection_type(name: TypeName, body: DetectionTypeIn, session: SessionDep,
                       actor: AuditActor) -> dict[str, object]:
    """Set a detection type's category and threshold (audited)."""
    out = detections.set_type(session, name, body.category, body.threshold, actor)
    session.commit()
    return out
