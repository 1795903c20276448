"""Tables of the hand-over (migration 0023): neighbours and the reports forwarded."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base


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


class Handover(Base):
    """A report forwarded to a neighbour: our id, theirs, and their status polled back."""

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
