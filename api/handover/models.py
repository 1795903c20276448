"""Tables of the hand-over (0023, 0025, 0026): neighbours, reports forwarded, transfers received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, _in

#: the states of a case a neighbouring gridgov transferred to us
INCOMING_STATUSES = ("pending", "accepted", "refused")


class Neighbour(Base):
    """A neighbouring jurisdiction: its territory and its Open311 GeoReport v2 endpoint."""

    __tablename__ = "neighbours"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    territory = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True),
                              nullable=False)
    #: the base of its GeoReport v2 API, e.g. ``https://neighbour.example/open311/v2``
    endpoint: Mapped[str] = mapped_column(Text)
    api_key: Mapped[str] = mapped_column(Text)
    #: a gridgov: a case transferred by hand waits there for its dispatcher's answer
    gridgov: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    #: the last poll of its statuses, and why it failed (None: it answered)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class Handover(Base):
    """A report forwarded (or a case transferred by hand) to a neighbour: both ids, its status.

    ``their_status`` is the neighbour's Open311 status; a transfer to a gridgov is
    ``pending`` until its dispatcher answers (``accepted`` then their status, or
    ``refused`` with ``refusal_reason``: the case is ours again). The reporter's
    contact of a forwarded report is sealed like an event's (the outbox tells them).
    """

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    neighbour_code: Mapped[str] = mapped_column(ForeignKey("neighbours.code"))
    their_id: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(String(16))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    their_status: Mapped[str] = mapped_column(String(16), default="open")
    forwarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the case transferred by hand (None: a report forwarded at intake)
    event_id: Mapped[int | None] = mapped_column(BigInteger,
                                                 ForeignKey("events.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(Text)
    reporter_email: Mapped[str | None] = mapped_column(Text)


class IncomingTransfer(Base):
    """A case a neighbouring gridgov transferred to us, pending until a dispatcher answers."""

    __tablename__ = "incoming_transfers"
    __table_args__ = (CheckConstraint(_in("status", INCOMING_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the name of the Open311 key the neighbour sent it with
    from_key: Mapped[str] = mapped_column(Text)
    their_event_id: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(String(16))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    #: where the point is, as an event's (``Principal.event_sql`` filters transfers with it)
    grids: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                  server_default=text("'{}'::jsonb"))
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(12))
    #: the photos received (``PhotoRef`` fields), the event's once accepted
    photos: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb"))
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="SET NULL"))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
