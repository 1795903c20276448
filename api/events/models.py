"""Tables of the event workflow: routing rules, idempotency keys, photos.

The event itself and its history live in the core schema (``models.py``); the
escalation level of an event is kept in ``events.attributes`` (``escalation_level``,
``escalated_to``) and a duplicate's original in ``attributes.duplicate_of``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, _in

ROUTING_SCOPES = ("grid", "community", "street")


class RoutingRule(Base):
    """Events of a category (minor or major code) in one area go to one department."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        CheckConstraint(_in("scope", ROUTING_SCOPES), name="scope"),
        UniqueConstraint("scope", "scope_code", "category_code",
                         name="uq_routing_rules_scope_code_category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_code: Mapped[str] = mapped_column(String(32), index=True)
    category_code: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` seen on intake, the event it created and the 201 body."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True)
    response: Mapped[dict[str, Any] | None] = mapped_column()
    #: SHA-256 of the canonical request body: a reuse of the key with another body is a 422
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class EventPhoto(Base):
    """A photo of an event: an uploaded file under ``GRIDGOV_HOME/photos`` or a URL."""

    __tablename__ = "event_photos"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    url: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    #: the lifecycle action a staff photo came with (``handle``: after); None: the report's
    action: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
