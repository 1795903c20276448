"""Tables of the field app (migration 0019): shifts, track points, check-ins.

A shift's id is made by the phone (a UUID), so a shift started offline, its
points and its end reach the server in any number of retries without the phone
ever waiting for an id. A track point is unique per shift and time: a batch
sent twice stores each point once. Track points are personal data of the
worker: read only through :mod:`api.field.tracks` (scoped, audited) and deleted
after ``GRIDGOV_TRACK_RETENTION_DAYS``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import SRID, Base


class PatrolShift(Base):
    """A patrol shift of one grid worker, from start to stop."""

    __tablename__ = "patrol_shifts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                           index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class TrackPoint(Base):
    """One kept position of a shift (the noise rule dropped the others)."""

    __tablename__ = "track_points"
    __table_args__ = (
        UniqueConstraint("shift_id", "recorded_at", name="uq_track_points_shift_time"),
        Index("ix_track_points_worker_time", "worker_id", "recorded_at"),
        Index("ix_track_points_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shift_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("patrol_shifts.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: "lon,lat" (WGS84) encrypted with api.personal (a worker's whereabouts are personal)
    position: Mapped[str] = mapped_column(Text)
    accuracy: Mapped[float | None] = mapped_column(Float)
    #: the grid of the field layer holding the point (None: outside every grid)
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)


class Checkin(Base):
    """A check-in at a building from a scanned plate, with the phone's distance to it."""

    __tablename__ = "field_checkins"
    __table_args__ = (
        UniqueConstraint("worker_id", "client_key", name="uq_field_checkins_worker_key"),
        Index("ix_field_checkins_worker_at", "worker_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    accuracy: Mapped[float | None] = mapped_column(Float)
    #: metres from the phone to the building's footprint (None: no position sent)
    distance_m: Mapped[float | None] = mapped_column(Float)
    #: farther than ``GRIDGOV_CHECKIN_FLAG_DISTANCE_M`` or no position
    flagged: Mapped[bool] = mapped_column(Boolean)
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    #: the phone's Idempotency-Key: a check-in sent again is stored once
    client_key: Mapped[str] = mapped_column(String(128))
