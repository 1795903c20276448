"""Tables of the people archive: persons, households, residences, organisations, visits.

Personal columns (names, ID numbers, phones, contacts) hold ciphertexts of
:mod:`api.personal.cipher`; their keyed hashes (``*_hash``) serve exact lookups
and the duplicate check of ID numbers. Birth date and gender are derived from
the ID number and stored in the clear for age and gender statistics.

A residence links a person to a room with a kind and dates; moving ends the
current residence (``to_date``) and opens a new one, so the history stays.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import SRID, Base, _in

RESIDENCE_KINDS = ("owner", "tenant", "resident", "registered_only")
GENDERS = ("male", "female")
DECLARATION_STATES = ("pending", "verified", "rejected")
#: the grid layer kind whose grids place a person by their registered address (户籍网格)
REGISTRATION_LAYER_KIND = "registration"


class PeopleCount(Base):
    """Residents, households, special populations and organisations of one grid version.

    Kept by the triggers of migration 0029 in the transaction of every write that
    changes them, with the SQL function ``gridgov_people_counts_of`` (the one home of
    the counting rule); a row holds while ``CURRENT_DATE < valid_until`` (NULL: always).
    """

    __tablename__ = "people_counts"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"),
                                         primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer)
    special: Mapped[int] = mapped_column(Integer)
    organisations: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date | None] = mapped_column(Date)
    counted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Household(Base):
    """A household (户): its number and the room it is registered at."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"),
                                                index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Person(Base):
    """A resident: encrypted name, ID number and phone; what the ID number says."""

    __tablename__ = "persons"
    __table_args__ = (CheckConstraint(_in("gender", GENDERS), name="gender"),
                      CheckConstraint("registration_place ~ '^[0-9]{6}$'",
                                      name="registration_place"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    id_number: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(8))
    #: GB/T 2260 county code of the household registration (户籍地)
    registration_place: Mapped[str] = mapped_column(String(6))
    #: the building of the registered address when it lies in the territory
    registered_building_id: Mapped[int | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="SET NULL"), index=True)
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True)
    #: relation to the head of the household (与户主关系), e.g. 户主, 配偶, 子
    relation: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict,
                                                         server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Residence(Base):
    """A person at a room, with a kind, from a date until a date (open: still there)."""

    __tablename__ = "residences"
    __table_args__ = (
        CheckConstraint(_in("kind", RESIDENCE_KINDS), name="kind"),
        CheckConstraint("to_date IS NULL OR to_date >= from_date", name="dates"),
        Index("ix_residences_current", "room_id", postgresql_where=text("to_date IS NULL")),
        Index("ix_residences_room_id", "room_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"),
                                           index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)


class Organisation(Base):
    """An organisation (法人/单位) at a building or room, by its credit code."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"),
                                             index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    contact_phone_hash: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict,
                                                         server_default=text("'{}'::jsonb"))


class SpecialTag(Base):
    """A special-population tag (e.g. 独居老人), configurable."""

    __tablename__ = "special_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)


class SpecialTagLevel(Base):
    """A level of a tag and the visit cycle it sets, in days."""

    __tablename__ = "special_tag_levels"
    __table_args__ = (CheckConstraint("cycle_days > 0", name="cycle_days"),)

    tag_id: Mapped[int] = mapped_column(ForeignKey("special_tags.id", ondelete="CASCADE"),
                                        primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_days: Mapped[int] = mapped_column(Integer)


class PersonTag(Base):
    """A person in a special population at a level, since a date (until: left it)."""

    __tablename__ = "person_tags"
    __table_args__ = (
        Index("uq_person_tags_current", "person_id", "tag_id", unique=True,
              postgresql_where=text("until IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"),
                                           index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("special_tags.id", ondelete="RESTRICT"))
    level: Mapped[int] = mapped_column(Integer)
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)


class Visit(Base):
    """A visit to a person: when, by whom, where, what was found; appended, never edited."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_person_at", "person_id", "visited_at"),
                      UniqueConstraint("worker_name", "client_key", name="uq_visits_worker_key"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                  index=True)
    worker_name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    #: metres from the phone's position to the person's residence building
    distance_m: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb"))
    #: the case a finding became
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    #: the ``Idempotency-Key`` it was sent with (the field app's outbox): once per worker
    client_key: Mapped[str | None] = mapped_column(String(128))


class Declaration(Base):
    """A resident's self-declaration of residence (入住申报) from a plate, to be verified."""

    __tablename__ = "residence_declarations"
    __table_args__ = (CheckConstraint(_in("status", DECLARATION_STATES), name="status"),
                      CheckConstraint(_in("kind", RESIDENCE_KINDS), name="kind"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"),
                                             index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    id_number: Mapped[str] = mapped_column(Text)
    id_number_hash: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    from_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending",
                                        server_default="pending")
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id",
                                                             ondelete="SET NULL"))
