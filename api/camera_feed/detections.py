"""Detections from cameras: a case at once, the review queue, or a repeat.

A video-analytics system posts a detection for a camera with the camera's key
(``api.camera_feed.service.authenticate``). :func:`receive` stores it, located
by :func:`api.camera_feed.location.locate`, with its snapshot (the photo rules
of :mod:`api.media.images`), and decides what it becomes:

- ``duplicate``: the camera sent a detection of the same type (not rejected,
  not itself a repeat) within ``GRIDGOV_CAMERA_COOLDOWN_SECONDS`` of this one;
  it is linked to that one (``duplicate_of``) and to its event, if any;
- ``registered``: its confidence reaches its type's threshold (else
  ``GRIDGOV_CAMERA_THRESHOLD``): a case on channel ``camera`` goes through the
  normal intake (:class:`~api.events.intake.Report`), with the snapshot as
  its photo;
- ``review``: below the threshold it waits for a dispatcher, who accepts it
  (the case registers then; its repeats follow it) or rejects it.

The camera's link row is locked while a detection is decided, so two at once
cannot both open a case. A scoped dispatcher sees and reviews only the
detections that lie in their areas or grids (:func:`scope_sql`). Detection
types and their categories are administered here too (:func:`set_type`, audited).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.camera_feed.location import locate
from api.camera_feed.models import Detection, DetectionType
from api.db.models import Camera, EventCategory
from api.errors import APIError
from api.events.intake import Report
from api.media.images import Photo
from api.media.store import PhotoRef
from api.settings import Settings
from gis_core.errors import NotFound


@dataclass(frozen=True)
class DetectionIn:
    """What a camera reports of one detection."""

    type: str
    confidence: float
    detected_at: datetime
    bearing: float | None = None
    distance_m: float | None = None


def detection_type(session: Session, name: str) -> DetectionType:
    """The detection type ``name`` (422 ``unknown_detection_type``)."""
    found = session.get(DetectionType, name)
    if found is None:
        raise APIError(422, "unknown_detection_type",
                       f"field 'type': {name!r} is not a configured detection type "
                       "(PUT /api/v1/camera-detection-types/{type})", field="type")
    return found


def save_snapshot(settings: Settings, photo: Photo) -> Path:
    """Write a checked snapshot under the photo directory; return its path."""
    folder = settings.events.photo_dir or (settings.db.home / "photos")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{photo.kind.extension}"
    path.write_bytes(photo.content)
    return path


def _repeat_of(session: Session, camera: Camera, found: DetectionIn, cooldown: float
               ) -> Detection | None:
    window = timedelta(seconds=cooldown)
    return session.execute(
        select(Detection).where(
            Detection.camera_id == camera.id, Detection.type == found.type,
            Detection.status.in_(("registered", "review", "accepted")),
            Detection.detected_at > found.detected_at - window,
            Detection.detected_at < found.detected_at + window)
        .order_by(Detection.detected_at.desc()).limit(1)).scalar_one_or_none()


@dataclass(frozen=True)
class Received:
    """A detection decided but not yet stored, with where it is (EPSG:4326)."""

    row: Detection
    lon: float
    lat: float


def receive(session: Session, settings: Settings, camera: Camera, found: DetectionIn,
            snapshot: Path, media_type: str) -> Received:
    """Decide a detection: ``duplicate``, ``review`` or ``registered`` (module docstring).

    Nothing is stored: a ``registered`` one is submitted (:func:`report_of`) to
    the intake writer first, then stored by :func:`store` with its event, so a
    refused case leaves no detection behind. The camera's link row stays locked
    until the caller's commit.
    """
    kind = detection_type(session, found.type)
    session.execute(text("SELECT 1 FROM camera_links WHERE camera_id = :id FOR UPDATE"),
                    {"id": camera.id})
    lon, lat = locate(session.connection(), camera.id, found.bearing, found.distance_m)
    repeat = _repeat_of(session, camera, found, settings.camera.cooldown_seconds)
    threshold = kind.threshold if kind.threshold is not None else settings.camera.threshold
    status = ("duplicate" if repeat is not None
              else "registered" if found.confidence >= threshold else "review")
    row = Detection(camera_id=camera.id, type=found.type, confidence=found.confidence,
                    detected_at=found.detected_at, geom=f"SRID=4326;POINT({lon} {lat})",
                    bearing=found.bearing, distance_m=found.distance_m,
                    snapshot_path=str(snapshot), snapshot_type=media_type, status=status,
                    duplicate_of=repeat.id if repeat else None,
                    event_id=repeat.event_id if repeat else None)
    return Received(row, lon, lat)


def store(session: Session, received: Received, event_id: int | None) -> Detection:
    """Store a received detection (with the event it registered, if any); caller commits."""
    row = received.row
    if event_id is not None:
        row.event_id = event_id
    session.add(row)
    session.flush()
    return row


def location(session: Session, detection_id: int) -> tuple[float, float]:
    """Where a stored detection is, ``(lon, lat)``."""
    lon, lat = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM camera_detections "
                                    "WHERE id = :id"), {"id": detection_id}).one()
    return float(lon), float(lat)


def report_of(session: Session, row: Detection, code: str, lon: float, lat: float) -> Report:
    """The intake report of a detection of camera ``code``: channel ``camera``, its snapshot."""
    category = detection_type(session, row.type).category_code
    return Report(category_code=category, lon=lon, lat=lat, channel="camera",
                  description=f"{row.type} seen by camera {code} "
                              f"(confidence {row.confidence:.2f})",
                  photos=(PhotoRef(path=row.snapshot_path, content_type=row.snapshot_type,
                                   size=Path(row.snapshot_path).stat().st_size),),
                  actor=f"camera {code}", authenticated=True)


def link_event(session: Session, row: Detection, event_id: int) -> None:
    """Give a detection and its repeats the event it registered; the caller commits."""
    row.event_id = event_id
    session.execute(update(Detection).where(Detection.duplicate_of == row.id)
                    .values(event_id=event_id))


def scope_sql(principal: Principal, alias: str = "d") -> tuple[str, dict[str, Any]]:
    """A boolean SQL condition: detection ``alias`` lies in ``principal``'s areas or grids.

    Examples
    --------
    >>> scope_sql(Principal(1, "a", "admin"))
    ('TRUE', {})
    """
    if principal.sees_everything:
        return "TRUE", {}
    where, params = ["FALSE"], {}
    if principal.areas:
        params["scope_areas"] = list(principal.areas)
        where.append(f"EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = ANY(:scope_areas) "  # noqa: S608
                     f"AND ST_Covers(a.geom, {alias}.geom))")
    if principal.grids:
        params["scope_grids"] = list(principal.grids)
        where.append(f"EXISTS (SELECT 1 FROM grids g WHERE g.code = ANY(:scope_grids) "  # noqa: S608
                     f"AND g.valid_to IS NULL AND ST_Covers(g.geom, {alias}.geom))")
    return "(" + " OR ".join(where) + ")", params


def _check_scope(session: Session, principal: Principal, detection_id: int) -> None:
    """404 ``detection_not_found`` for no detection, 403 ``out_of_scope`` outside the scope."""
    cond, params = scope_sql(principal)
    in_scope = session.execute(text(f"SELECT {cond} FROM camera_detections d WHERE d.id = :id"),  # noqa: S608
                               {**params, "id": detection_id}).scalar_one_or_none()
    if in_scope is None:
        raise NotFound(f"no camera detection {detection_id}", code="detection_not_found")
    if not in_scope:
        raise APIError(403, "out_of_scope", f"camera detection {detection_id} is not in your "
                       "scope")


def pending(session: Session, principal: Principal, detection_id: int
            ) -> tuple[Detection, Camera]:
    """A detection of your scope waiting for review, and its camera (404, 403, 409).

    409 ``detection_reviewed`` when it was accepted or rejected already.
    """
    _check_scope(session, principal, detection_id)
    row = session.get(Detection, detection_id, with_for_update=True)
    assert row is not None  # _check_scope found it  # noqa: S101
    if row.status != "review":
        raise APIError(409, "detection_reviewed",
                       f"camera detection {detection_id} is {row.status}, not waiting for review")
    camera = session.get(Camera, row.camera_id)
    assert camera is not None  # the foreign key  # noqa: S101
    return row, camera


def decide(session: Session, row: Detection, verdict: str, by: Actor, now: datetime) -> None:
    """Mark a reviewed detection ``accepted`` or ``rejected``; audited; the caller commits."""
    row.status, row.reviewed_by, row.reviewed_at = verdict, by.name, now
    action = {"accepted": "accept", "rejected": "reject"}[verdict]
    record(session, actor=by, action=f"camera_detection.{action}",
           object_type="camera_detection", object_id=row.id,
           details={"event_id": row.event_id})


def view(session: Session, row: Detection) -> dict[str, Any]:
    """A detection as the API shows it."""
    code, lon, lat = session.execute(text(
        "SELECT c.code, ST_X(d.geom), ST_Y(d.geom) FROM camera_detections d JOIN cameras c "
        "ON c.id = d.camera_id WHERE d.id = :id"), {"id": row.id}).one()
    return {"id": row.id, "camera": code, "type": row.type, "confidence": row.confidence,
            "detected_at": row.detected_at.isoformat(), "status": row.status,
            "event_id": row.event_id, "duplicate_of": row.duplicate_of,
            "location": {"lon": lon, "lat": lat}, "bearing": row.bearing,
            "distance_m": row.distance_m,
            "snapshot": f"/api/v1/camera-detections/{row.id}/snapshot"}


def review_queue(session: Session, principal: Principal, limit: int) -> list[dict[str, Any]]:
    """Detections of your scope waiting for review, oldest first."""
    cond, params = scope_sql(principal, "camera_detections")
    rows = session.execute(select(Detection).where(Detection.status == "review",
                                                   text(cond).bindparams(**params))
                           .order_by(Detection.received_at, Detection.id).limit(limit)).scalars()
    return [view(session, row) for row in rows]


def snapshot_of(session: Session, principal: Principal, detection_id: int) -> Path:
    """The stored snapshot file of a detection of your scope (404, 403 ``out_of_scope``)."""
    _check_scope(session, principal, detection_id)
    row = session.get(Detection, detection_id)
    assert row is not None  # _check_scope found it  # noqa: S101
    return Path(row.snapshot_path)


def list_types(session: Session) -> list[dict[str, Any]]:
    """The configured detection types with their categories and thresholds."""
    rows = session.execute(select(DetectionType).order_by(DetectionType.type)).scalars()
    return [{"type": r.type, "category": r.category_code, "threshold": r.threshold}
            for r in rows]


def set_type(session: Session, name: str, category: str, threshold: float | None,
             by: Actor) -> dict[str, Any]:
    """Create or change detection type ``name``; audited; the caller commits."""
    if session.execute(select(EventCategory.id).where(EventCategory.code == category)
                       ).scalar_one_or_none() is None:
        raise APIError(422, "unknown_category", f"field 'category': no category {category!r}",
                       field="category")
    row = session.get(DetectionType, name)
    before = {"category": row.category_code, "threshold": row.threshold} if row else None
    if row is None:
        row = DetectionType(type=name)
        session.add(row)
    row.category_code, row.threshold = category, threshold
    after = {"category": category, "threshold": threshold}
    record(session, actor=by, action="camera_detection_type.set",
           object_type="camera_detection_type", object_id=name, before=before, after=after)
    return {"type": name, **after}


def sweep_offline(session: Session, now: datetime, after_seconds: float) -> list[str]:
    """Mark offline the online cameras whose heartbeats stopped; their codes. Caller commits.

    Only cameras with a key (that send heartbeats at all) are swept; a camera
    linked but never heard from counts from when its key was issued.
    """
    codes = session.execute(text("""
        UPDATE cameras c SET status = 'offline' FROM camera_links l
        WHERE l.camera_id = c.id AND c.status = 'online'
          AND coalesce(l.last_heartbeat_at, l.created_at) < :cutoff
        RETURNING c.code"""), {"cutoff": now - timedelta(seconds=after_seconds)}).scalars()
    return sorted(codes)
