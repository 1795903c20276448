"""The table of joint handling (migration 0018): one sub-task per department of a case.

A jointly handled case has one ``lead`` sub-task and any number of ``assist``
ones, at most one per department; each has its own deadline and handling.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, _in

ROLES = ("lead", "assist")
STATUSES = ("open", "handled")


class EventSubtask(Base):
    """One department's part of a jointly handled case."""

    __tablename__ = "event_subtasks"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        UniqueConstraint("event_id", "department_id", name="uq_event_subtasks_department"),
        Index("uq_event_subtasks_lead", "event_id", unique=True,
              postgresql_where=text("role = 'lead'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    #: what this department is asked to do
    task: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(Text)
    handling: Mapped[str | None] = mapped_column(Text)
