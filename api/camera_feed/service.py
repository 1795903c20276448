"""Camera keys and heartbeats.

An admin issues a camera its key (:func:`issue_key`: shown once, stored as its
SHA-256, a new key replaces the old one). The camera (or the video-analytics
system behind it) sends heartbeats with the key (:func:`heartbeat`): each
sets the camera's ``status`` (``online`` unless it reports ``offline`` or
``fault``) and the time of its last heartbeat. Coverage and blind spots count
only cameras whose status is ``online`` (``api.analytics.service.read_cameras``).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.service import hash_secret
from api.camera_feed.models import CameraLink
from api.db.models import Camera
from api.errors import APIError
from gis_core.errors import NotFound

#: what a heartbeat may report
HEARTBEAT_STATUSES = ("online", "offline", "fault")


def _camera(session: Session, code: str) -> Camera:
    found = session.execute(select(Camera).where(Camera.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no camera with code {code!r}", code="camera_not_found")
    return found


def issue_key(session: Session, code: str, by: Actor) -> str:
    """A new key for camera ``code`` (replacing its old one); audited; the caller commits."""
    camera = _camera(session, code)
    key = "cam_" + secrets.token_urlsafe(32)
    session.execute(text("""
        INSERT INTO camera_links (camera_id, key_hash) VALUES (:id, :h)
        ON CONFLICT (camera_id) DO UPDATE SET key_hash = EXCLUDED.key_hash,
                                              created_at = now()"""),
                    {"id": camera.id, "h": hash_secret(key)})
    record(session, actor=by, action="camera.key", object_type="camera", object_id=code)
    return key


def authenticate(session: Session, code: str, key: str | None) -> Camera:
    """The camera ``code`` when ``key`` is its key (401 ``invalid_camera_key`` otherwise)."""
    camera = _camera(session, code)
    link = session.get(CameraLink, camera.id)
    if key is None or link is None or not hmac.compare_digest(link.key_hash, hash_secret(key)):
        raise APIError(401, "invalid_camera_key",
                       f"camera {code!r}: give its key in the X-Camera-Key header")
    return camera


def heartbeat(session: Session, camera: Camera, status: str, now: datetime) -> None:
    """Record a heartbeat: the camera's status and the time; the caller commits."""
    camera.status = status
    link = session.get(CameraLink, camera.id)
    assert link is not None  # authenticate found it  # noqa: S101
    link.last_heartbeat_at = now
