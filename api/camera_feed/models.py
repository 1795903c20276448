"""Tables of cameras talking to gridgov.

Keys and heartbeats (migration 0018); detection types and detections (0023).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base


class CameraLink(Base):
    """The key a camera (or its video-analytics system) signs in with; its last heartbeat."""

    __tablename__ = "camera_links"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"),
                                           primary_key=True)
    #: SHA-256 of the key (``api.auth.service.hash_secret``); the key is shown once
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


#: what became of a detection: an event at once, the review queue and its verdicts,
#: or a repeat inside the cool-down of the camera and type
DETECTION_STATUSES = ("registered", "review", "accepted", "rejected", "duplicate")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class DetectionType(Base):
    """A detection type of the video analytics: the category of its cases, its threshold."""

    __tablename__ = "camera_detection_types"
    __table_args__ = (CheckConstraint("threshold IS NULL OR threshold BETWEEN 0 AND 1",
                                      name="threshold"),)

    type: Mapped[str] = mapped_column(String(32), primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("event_categories.code"))
    #: confidence from which a case registers at once (None: ``GRIDGOV_CAMERA_THRESHOLD``)
    threshold: Mapped[float | None] = mapped_column(Float)


class Detection(Base):
    """One detection a camera sent, where it is, and what became of it."""

    __tablename__ = "camera_detections"
    __table_args__ = (
        CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence"),
        CheckConstraint(_in("status", DETECTION_STATUSES), name="status"),
        Index("ix_camera_detections_repeat", "camera_id", "type", "detected_at"),
        Index("ix_camera_detections_review", "received_at",
              postgresql_where=text("status = 'review'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(ForeignKey("camera_detection_types.type"))
    confidence: Mapped[float] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    bearing: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    snapshot_path: Mapped[str] = mapped_column(Text)
    snapshot_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("camera_detections.id", ondelete="SET NULL"))
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
