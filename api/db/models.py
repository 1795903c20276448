"""SQLAlchemy 2 + GeoAlchemy2 models of the core schema.

Geometries are stored in EPSG:4326 with GiST indexes (GeoAlchemy2 creates them
with ``spatial_index=True``); codes are unique and indexed. Later features add
to this schema by Alembic migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gis_core.coverage import KINDS as CAMERA_KINDS
from layers.vocabulary import EVENT_STATUSES, OPEN_STATUSES
from layers.vocabulary import sql_in as _in

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ADMIN_LEVELS = ("city", "district", "street", "community")

#: the predicate of the partial index ``ix_events_open_geom`` (the duplicate check's);
#: a query uses that index when it states this predicate word for word
OPEN_EVENTS_SQL = _in("status", OPEN_STATUSES)


#: an address as matched: NFKC, lower case, without spaces and punctuation; the exact
#: match of intake uses the index ``ix_buildings_address_normalised`` of this expression
#: (``col="address"``) when it states it word for word
NORMALISED_ADDRESS = ("regexp_replace(lower(normalize({col}, NFKC)), "
                      "'[[:space:][:punct:]，。、；：（）【】《》“”‘’·－—]', '', 'g')")


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB}


class AdminArea(Base):
    """A district, street/township or community (GB/T 2260-based code)."""

    __tablename__ = "admin_areas"
    __table_args__ = (CheckConstraint(_in("level", ADMIN_LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_areas.code", ondelete="RESTRICT"), index=True
    )
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=True)


class GridLayer(Base):
    """A layer of grids; ``exclusive`` means full coverage without overlap."""

    __tablename__ = "grid_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), default="basic")
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)

    grids: Mapped[list[Grid]] = relationship(back_populates="layer")


class Grid(Base):
    """One version of a grid; a redrawn grid keeps its history through validity."""

    __tablename__ = "grids"
    __table_args__ = (
        UniqueConstraint("layer_id", "code", "valid_from", name="uq_grids_layer_code_from"),
        Index("ix_grids_alias", "layer_id", "alias_code"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from", name="validity"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("grid_layers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), index=True)
    alias_code: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_areas.code", ondelete="SET NULL"), index=True
    )
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )

    layer: Mapped[GridLayer] = relationship(back_populates="grids")


def _tile_pixels(zoom: int) -> Any:
    """Generated column: the footprint drawn by ST_AsMVTGeom at extent 4096 * 2^zoom.

    Over the whole world, no buffer, no clip (see migration 0008).
    """
    return mapped_column(Geometry(spatial_index=False), Computed(
        f"ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(0, 0, 0), {4096 << zoom}, 0, "
        "false)", persisted=True), deferred=True)


class Building(Base):
    """A building with its unique code (one building, one code)."""

    __tablename__ = "buildings"
    __table_args__ = (
        # address suggestions: similarity (%) and distance (<->) of pg_trgm (migration 0012)
        Index("ix_buildings_address_trgm", "address", postgresql_using="gist",
              postgresql_ops={"address": "gist_trgm_ops"}),
        Index("ix_buildings_address_normalised",
              text(NORMALISED_ADDRESS.format(col="address"))),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    #: the identifier of the system the building came from (OSM id, BIN, ...; migration 0013)
    external_code: Mapped[str | None] = mapped_column(Text, index=True)
    address: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    floors: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[float | None] = mapped_column(Float)
    use: Mapped[str | None] = mapped_column(String(32))
    community_code: Mapped[str | None] = mapped_column(
        ForeignKey("admin_areas.code", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    #: GB/T 39409 BeiDou grid location code, level 8 (~1 m), of a point on the footprint
    beidou_code: Mapped[str | None] = mapped_column(String(24), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    #: the footprint in EPSG:3857, kept by PostgreSQL (vector tiles read it; never written)
    geom_3857 = mapped_column(Geometry("MULTIPOLYGON", srid=3857, spatial_index=True),
                              Computed("ST_Transform(geom, 3857)", persisted=True),
                              deferred=True)
    #: the footprint drawn in the tile pixel grid of zoom 13..16 (migration 0008; tiles)
    tile_px13 = _tile_pixels(13)
    tile_px14 = _tile_pixels(14)
    tile_px15 = _tile_pixels(15)
    tile_px16 = _tile_pixels(16)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )

    rooms: Mapped[list[Room]] = relationship(back_populates="building")


class BuildingCodeSequence(Base):
    """The last building sequence given out in a community: codes are never reused."""

    __tablename__ = "building_code_sequences"

    community_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class Room(Base):
    """A room of a building (one room, one code)."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    unit: Mapped[int | None] = mapped_column(Integer)
    floor: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    #: the house record (migration 0021): use, floor area, rented room, occupancy
    use: Mapped[str | None] = mapped_column(String(32))
    area_m2: Mapped[float | None] = mapped_column(Float)
    rented: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    occupancy: Mapped[str | None] = mapped_column(String(16))

    building: Mapped[Building] = relationship(back_populates="rooms")


class Road(Base):
    """A road centre line (used for coverage of road length and for the base map)."""

    __tablename__ = "roads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(32))
    geom = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False)


class Camera(Base):
    """A camera with its field of view."""

    __tablename__ = "cameras"
    __table_args__ = (CheckConstraint(_in("kind", CAMERA_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    mount_height: Mapped[float] = mapped_column(Float, default=6.0)
    heading: Mapped[float] = mapped_column(Float, default=0.0)
    hfov: Mapped[float] = mapped_column(Float, default=60.0)
    range_m: Mapped[float] = mapped_column(Float, default=50.0)
    kind: Mapped[str] = mapped_column(String(16), default="fixed", server_default="fixed")
    pan_min: Mapped[float | None] = mapped_column(Float)
    pan_max: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="online", server_default="online")
    attributes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )


class Department(Base):
    """A department that handles dispatched events."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)


class EventCategory(Base):
    """A minor event category with its major class, department and time limit."""

    __tablename__ = "event_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    major_code: Mapped[str] = mapped_column(String(8), index=True)
    major_name: Mapped[str] = mapped_column(Text)
    major_name_en: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    #: the handling limit (from dispatch); each step runs in natural or working time
    time_limit_hours: Mapped[float] = mapped_column(Float)
    handling_working: Mapped[bool] = mapped_column(Boolean, server_default=false())
    dispatch_limit_hours: Mapped[float | None] = mapped_column(Float)
    dispatch_working: Mapped[bool] = mapped_column(Boolean, server_default=false())
    verification_limit_hours: Mapped[float | None] = mapped_column(Float)
    verification_working: Mapped[bool] = mapped_column(Boolean, server_default=false())
    closing_standard: Mapped[str | None] = mapped_column(Text)

    department: Mapped[Department | None] = relationship()


class Event(Base):
    """A reported event and where it is in its lifecycle."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        Index("ix_events_grids", "grids", postgresql_using="gin"),
        Index("ix_events_reported_at", "reported_at"),
        Index("ix_events_open_geom", "geom", postgresql_using="gist",
              postgresql_where=text(OPEN_EVENTS_SQL)),
        # the staff queue's sorting and the handler's inbox (api.workbench.queue)
        Index("ix_events_open_reported_at", "reported_at",
              postgresql_where=text(OPEN_EVENTS_SQL)),
        Index("ix_events_open_due_at", "due_at", postgresql_where=text(OPEN_EVENTS_SQL)),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    public_token: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("event_categories.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), default="registered", server_default="registered", index=True
    )
    channel: Mapped[str] = mapped_column(String(16), default="app")
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="SET NULL"), index=True
    )
    grids: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(Text)
    reporter_email: Mapped[str | None] = mapped_column(Text)
    #: keyed hashes of the reporter's phone and e-mail (``api.personal``), for lookups
    reporter_phone_hash: Mapped[str | None] = mapped_column(Text, index=True)
    reporter_email_hash: Mapped[str | None] = mapped_column(Text, index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )

    category: Mapped[EventCategory] = relationship()
    history: Mapped[list[EventHistory]] = relationship(
        back_populates="event", order_by="EventHistory.at"
    )


class EventHistory(Base):
    """One step of an event's lifecycle: who did what, when."""

    __tablename__ = "event_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    event: Mapped[Event] = relationship(back_populates="history")
