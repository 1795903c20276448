"""The table of camera links (migration 0018): a camera's key and its last heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
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
