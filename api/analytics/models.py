"""Tables of the map layers and of tile change tracking (migration 0003).

``blind_spots`` and ``hotspot_cells`` are written by the analytics and drawn as
layers. ``tile_versions`` / ``tile_changes`` are written only by triggers on
every table a layer reads: each statement bumps its table's version (the row
lock orders versions by commit) and records the bounding boxes of the old and
new rows, so every process's tile cache can evict exactly the tiles a change
touched (see ``api/tiles/cache.py``).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, Text, func
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


class TileVersion(Base):
    """Change counter of one tracked table, bumped by every writing statement."""

    __tablename__ = "tile_versions"

    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class TileChange(Base):
    """Bounding box (EPSG:4326) of rows changed at one version; NULL box: everywhere."""

    __tablename__ = "tile_changes"
    __table_args__ = (Index("ix_tile_changes_table_version", "table_name", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(BigInteger)
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
