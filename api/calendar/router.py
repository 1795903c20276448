"""Working calendars (admin) and pauses and extensions of event deadlines (staff)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.audit.deps import AuditActor
from api.auth.access import Staff, roles
from api.auth.policy import check_event_scope
from api.calendar import pauses
from api.calendar import service as svc
from api.calendar.deadlines import deadline
from api.db.models import Event
from api.deps import SessionDep
from api.errors import APIError
from api.routing import Router
from api.validation import DbInt, Text

router = Router(prefix="/api/v1", tags=["calendars"])

#: who may ask for a pause or an extension, approve or refuse one, and resume a paused event
REQUEST_ROLES = frozenset({"admin", "dispatcher", "handler", "grid_worker"})
DECIDE_ROLES = ("admin", "dispatcher")
RESUME_ROLES = ("admin", "dispatcher", "handler")

WorkTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:30"])]
Weekday = Annotated[str, Field(pattern=r"^[1-7]$", description="ISO weekday, 1 Monday")]
CalendarCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
Year = Annotated[int, Field(ge=1900, le=2200)]


class HoursIn(BaseModel):
    """Working periods per ISO weekday (1 Monday .. 7 Sunday); a weekday left out has none."""

    model_config = ConfigDict(extra="forbid")
    hours: dict[Weekday, list[tuple[WorkTime, WorkTime]]] = Field(
        examples=[{"1": [["08:30", "12:00"], ["14:00", "17:30"]]}])

    def parsed(self) -> svc.Hours:
        """The hours as times."""
        return {int(d): [(time.fromisoformat(s), time.fromisoformat(e)) for s, e in spans]
                for d, spans in self.hours.items()}


class CalendarIn(BaseModel):
    """A new calendar; without hours it takes the default calendar's."""

    model_config = ConfigDict(extra="forbid")
    code: CalendarCode
    name: Text = Field(min_length=1, max_length=200)
    district_code: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    timezone: Text = Field("Asia/Shanghai", max_length=64)
    hours: HoursIn | None = None


class YearsIn(BaseModel):
    """The years whose working periods are kept."""

    model_config = ConfigDict(extra="forbid")
    first_year: Year
    last_year: Year


class DayIn(BaseModel):
    """A holiday (no work on a weekday) or a make-up working day (Monday's hours)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["holiday", "workday"]
    name: Text | None = Field(None, max_length=200)


class LoadIn(BaseModel):
    """Load China's holidays and make-up working days of a year from ``chinese-calendar``."""

    model_config = ConfigDict(extra="forbid")
    year: Year
    calendar: CalendarCode | None = Field(None, description="one calendar (default: all)")


class DeadlineRequestIn(BaseModel):
    """A pause or an extension with its reason (an extension: its hours on the step's clock)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["pause", "extension"]
    reason: Text = Field(min_length=1, max_length=2000)
    hours: float | None = Field(None, gt=0, le=pauses.MAX_EXTENSION_HOURS)


class DecisionIn(BaseModel):
    """Approve or refuse a request."""

    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: Text | None = Field(None, max_length=2000)


class NoteIn(BaseModel):
    """A note for the history."""

    model_config = ConfigDict(extra="forbid")
    note: Text | None = Field(None, max_length=2000)


# -- calendars (admin) ------------------------------------------------------------------
@router.get("/calendars")
@roles("admin")
def list_calendars(session: SessionDep) -> list[dict[str, Any]]:
    """List the working calendars with their hours (the default first)."""
    return svc.list_calendars(session)


@router.post("/calendars", status_code=201, responses={409: {"description": "code or "
                                                             "district taken"}})
@roles("admin")
def create_calendar(body: CalendarIn, session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Create a working calendar for a district (with the default calendar's days)."""
    cal = svc.create_calendar(session, code=body.code, name=body.name, actor=actor,
                              district_code=body.district_code, timezone=body.timezone,
                              hours=body.hours.parsed() if body.hours else None)
    out = svc.describe(session, cal)
    session.commit()
    return out


@router.get("/calendars/deadline")
def preview_deadline(
    session: SessionDep, _: Staff,
    start: Annotated[AwareDatetime, Query(description="with its time zone")],
    hours: Annotated[float, Query(gt=0, le=pauses.MAX_EXTENSION_HOURS)],
    working: bool = True,
    area: Annotated[str | None, Query(pattern=r"^\d{6,12}$",
                                      description="admin-area code (its district)")] = None,
) -> dict[str, Any]:
    """The deadline ``hours`` after ``start``, in working or natural time of an area."""
    if not 1900 <= start.year <= 2200:
        raise APIError(422, "invalid_parameter", "query parameter 'start': a time from the "
                       "years 1900-2200 is required")
    due = deadline(session, start, hours * 3600, working, area)
    return {"start": start.isoformat(), "hours": hours, "working": working, "area": area,
            "due_at": due.isoformat()}


@router.get("/calendars/{calendar_code}", responses={404: {"description": "no such calendar"}})
@roles("admin")
def get_calendar(calendar_code: str, session: SessionDep) -> dict[str, Any]:
    """One working calendar with its hours."""
    return svc.describe(session, svc.get_calendar(session, calendar_code))


@router.put("/calendars/{calendar_code}/hours",
            responses={404: {"description": "no such calendar"}})
@roles("admin")
def set_hours(calendar_code: str, body: HoursIn, session: SessionDep,
              actor: AuditActor) -> dict[str, Any]:
    """Replace the working hours of a calendar."""
    cal = svc.set_hours(session, calendar_code, body.parsed(), actor)
    out = svc.describe(session, cal)
    session.commit()
    return out


@router.put("/calendars/{calendar_code}/years",
            responses={404: {"description": "no such calendar"}})
@roles("admin")
def set_years(calendar_code: str, body: YearsIn, session: SessionDep,
              actor: AuditActor) -> dict[str, Any]:
    """Set the years a calendar covers (deadlines outside them are refused)."""
    cal = svc.set_years(session, calendar_code, body.first_year, body.last_year, actor)
    out = svc.describe(session, cal)
    session.commit()
    return out


@router.get("/calendars/{calendar_code}/days",
            responses={404: {"description": "no such calendar"}})
@roles("admin")
def list_days(calendar_code: str, session: SessionDep,
              year: Annotated[Year | None, Query()] = None) -> list[dict[str, Any]]:
    """List the holidays and make-up working days of a calendar (of one year)."""
    return svc.list_days(session, calendar_code, year)


@router.put("/calendars/{calendar_code}/days/{day}",
            responses={404: {"description": "no such calendar"}})
@roles("admin")
def set_day(calendar_code: str, day: date, body: DayIn, session: SessionDep,
            actor: AuditActor) -> dict[str, Any]:
    """Mark a day a holiday or a make-up working day (kept when a year is loaded again)."""
    out = svc.set_day(session, calendar_code, day, body.kind, body.name, actor)
    session.commit()
    return out


@router.delete("/calendars/{calendar_code}/days/{day}", status_code=204,
               responses={404: {"description": "no such calendar or day"}})
@roles("admin")
def delete_day(calendar_code: str, day: date, session: SessionDep,
               actor: AuditActor) -> None:
    """Make a day an ordinary day of its week again."""
    svc.delete_day(session, calendar_code, day, actor)
    session.commit()


@router.post("/calendars/load", responses={404: {"description": "no such calendar"}})
@roles("admin")
def load_year(body: LoadIn, session: SessionDep, actor: AuditActor) -> dict[str, int]:
    """Load a year of China's holidays and make-up working days (days per calendar)."""
    out = svc.load_year(session, body.year, actor, body.calendar)
    session.commit()
    return out


# -- pauses and extensions (staff on events of their scope) ---------------------------------
def scoped_event(event_id: DbInt, session: SessionDep, principal: Staff) -> int:
    """The event id, after 404 (no such event) and 403 (outside your scope)."""
    check_event_scope(session, principal, event_id)
    return event_id


ScopedEvent = Annotated[int, Depends(scoped_event)]


def _locked(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id, with_for_update=True)
    assert event is not None  # noqa: S101 - scoped_event found it
    return event


@router.get("/events/{event_id}/deadline-requests")
def list_deadline_requests(event_id: ScopedEvent, session: SessionDep) -> list[dict[str, Any]]:
    """List the pauses and extensions of an event."""
    return pauses.list_requests(session, event_id)


@router.post("/events/{event_id}/deadline-requests", status_code=201, responses={
    409: {"description": "no deadline, paused already, or a request awaits a decision"}})
def request_deadline_change(event_id: ScopedEvent, body: DeadlineRequestIn,
                            session: SessionDep, principal: Staff) -> dict[str, Any]:
    """Ask for a pause (挂起) or an extension (延期) of an event's deadline, with a reason."""
    if principal.role not in REQUEST_ROLES:
        raise APIError(403, "forbidden", f"role {principal.role!r} may not ask for a pause "
                       f"or an extension; roles allowed: {', '.join(sorted(REQUEST_ROLES))}")
    req = pauses.request(session, _locked(session, event_id), kind=body.kind,
                         reason=body.reason, hours=body.hours, actor=principal.name,
                         now=datetime.now(UTC))
    out = pauses.describe(req)
    session.commit()
    return out


@router.post("/events/{event_id}/deadline-requests/{request_id}/decision", responses={
    404: {"description": "no such request"}, 409: {"description": "decided already"}})
@roles(*DECIDE_ROLES)
def decide_deadline_request(event_id: ScopedEvent, request_id: DbInt, body: DecisionIn,
                            session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Approve or refuse a pause or an extension; an approval moves the deadline."""
    event = _locked(session, event_id)
    req = pauses.decide(session, event, pauses.get_request(session, event_id, request_id),
                        approve=body.approve, actor=actor, now=datetime.now(UTC),
                        note=body.note)
    out = {**pauses.describe(req), "due_at": event.due_at.isoformat() if event.due_at else None}
    session.commit()
    return out


@router.post("/events/{event_id}/resume", responses={409: {"description": "not paused"}})
@roles(*RESUME_ROLES)
def resume_event(event_id: ScopedEvent, body: NoteIn, session: SessionDep,
                 principal: Staff) -> dict[str, Any]:
    """Restart the clock of a paused event: the deadline is the time that was left from now."""
    event = _locked(session, event_id)
    req = pauses.resume(session, event, actor=principal.name, now=datetime.now(UTC),
                        note=body.note)
    out = {**pauses.describe(req), "due_at": event.due_at.isoformat() if event.due_at else None}
    session.commit()
    return out
