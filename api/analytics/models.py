"""The result tables of the analytics, drawn as map layers (migration 0003).

``blind_spots`` (ground no camera sees) and ``hotspot_cells`` (cells of a hot
spot analysis) are written by :mod:`api.analytics.service`.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, DateTime, Float, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import SRID, Base


class BlindSpot(Base):
    """Ground inside a grid that no camera sees (filled by the coverage analytics)."""

    __tablename__ = "blind_spots"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    area_m2: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


class HotspotCell(Base):
    """One cell (H3 cell or grid) of a hot-spot analysis with its statistic and class."""

    __tablename__ = "hotspot_cells"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    method: Mapped[str] = mapped_column(String(32))
    cell: Mapped[str] = mapped_column(String(32), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    hot_class: Mapped[int | None] = mapped_column(Integer)
    pattern: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
