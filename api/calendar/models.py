"""Tables of working calendars and of pauses and extensions of deadlines.

A calendar has working hours per ISO weekday (1 Monday .. 7 Sunday) and days
that differ from its week: ``holiday`` (no work on a weekday) or ``workday``
(a make-up working day on a weekend, worked with Monday's hours).
``work_periods`` is derived from both by ``gridgov_rebuild_work_periods``
(migration 0014) and never edited by hand.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, _in

DAY_KINDS = ("holiday", "workday")
REQUEST_KINDS = ("pause", "extension")
REQUEST_STATUSES = ("pending", "approved", "refused")


def _calendar_fk() -> ForeignKey:
    return ForeignKey("work_calendars.id", ondelete="CASCADE")


class WorkCalendar(Base):
    """A working calendar; ``district_code`` (a county code) or the default one."""

    __tablename__ = "work_calendars"
    __table_args__ = (
        CheckConstraint("first_year <= last_year AND last_year - first_year < 100",
                        name="years"),
        Index("ix_work_calendars_default", "is_default", unique=True,
              postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=false())
    timezone: Mapped[str] = mapped_column(String(64), server_default="Asia/Shanghai")
    #: the years whose working periods are materialised (a deadline outside them is refused)
    first_year: Mapped[int] = mapped_column(Integer, server_default="2000")
    last_year: Mapped[int] = mapped_column(Integer, server_default="2040")


class WorkCalendarHours(Base):
    """One working period of a weekday, local time of the calendar."""

    __tablename__ = "work_calendar_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday"),
                      CheckConstraint("starts < ends", name="order"))

    calendar_id: Mapped[int] = mapped_column(_calendar_fk(), primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    starts: Mapped[time] = mapped_column(Time, primary_key=True)
    ends: Mapped[time] = mapped_column(Time)


class WorkCalendarDay(Base):
    """A day that differs from the calendar's week: a holiday or a make-up working day."""

    __tablename__ = "work_calendar_days"
    __table_args__ = (CheckConstraint(_in("kind", DAY_KINDS), name="kind"),)

    calendar_id: Mapped[int] = mapped_column(_calendar_fk(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    #: ``chinese-calendar`` (loaded) or ``manual`` (edited)
    source: Mapped[str] = mapped_column(String(32), server_default="manual")


class WorkPeriod(Base):
    """A working period of a calendar and the working seconds of the calendar before it."""

    __tablename__ = "work_periods"
    __table_args__ = (Index("ix_work_periods_working_before", "calendar_id",
                            "working_before"),)

    calendar_id: Mapped[int] = mapped_column(_calendar_fk(), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    working_before: Mapped[float] = mapped_column(Float)


class DeadlineRequest(Base):
    """A pause (挂起) or an extension (延期) of an event's deadline, and its decision.

    An approved pause holds the time that was left (``remaining_seconds``, in
    the clock ``working`` of the step) until ``resumed_at``.
    """

    __tablename__ = "deadline_requests"
    __table_args__ = (
        CheckConstraint(_in("kind", REQUEST_KINDS), name="kind"),
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        Index("ix_deadline_requests_pending", "event_id", unique=True,
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    hours: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    requested_by: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    working: Mapped[bool | None] = mapped_column(Boolean)
    remaining_seconds: Mapped[float | None] = mapped_column(Float)
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
