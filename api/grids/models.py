"""Versions of a grid layer: an uploaded draft and its grids, until published or discarded.

A published version's grids live in ``grids`` (``valid_from`` = the version's
``effective_from``); ``grid_version_grids`` holds the grids of a version as
uploaded (and repaired), kept after publication as the record of what was
published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, func, text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import SRID, Base, _in

VERSION_STATES = ("draft", "published", "discarded")


class GridVersion(Base):
    """One version of a grid layer and where it is in its workflow."""

    __tablename__ = "grid_versions"
    __table_args__ = (CheckConstraint(_in("status", VERSION_STATES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("grid_layers.id", ondelete="CASCADE"),
                                          index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    note: Mapped[str | None] = mapped_column(Text)
    #: the uploaded file's name
    source: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    effective_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(Text)
    #: what publication changed: added, changed, removed, unchanged codes; re-linked objects
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict,
                                                    server_default=text("'{}'::jsonb"))


class GridVersionGrid(Base):
    """A grid of a version, as uploaded (and repaired)."""

    __tablename__ = "grid_version_grids"
    __table_args__ = (Unique("version_id", "code", name="uq_grid_version_grids_version_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("grid_versions.id", ondelete="CASCADE"),
                                            index=True)
    code: Mapped[str] = mapped_column(String(32))
    alias_code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True),
                         nullable=False)
