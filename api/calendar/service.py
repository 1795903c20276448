"""Working calendars: create, list, working hours, holidays and make-up days, loading a year.

Statutory holidays and make-up working days come from the maintained
``chinese-calendar`` package (:func:`load_year`); days edited by hand
(``source = 'manual'``) win over loaded ones. Every change rebuilds the
calendar's working periods (``gridgov_rebuild_work_periods``) and writes an
audit row (``calendar.*``); the caller commits.
"""

from __future__ import annotations

import itertools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.calendar.models import DAY_KINDS, WorkCalendar, WorkCalendarDay, WorkCalendarHours
from gis_core.errors import Conflict, InvalidInput, NotFound

#: working periods per ISO weekday (1 Monday .. 7 Sunday), local time
Hours = Mapping[int, Sequence[tuple[time, time]]]

DISTRICT_CODE = re.compile(r"^\d{6}$")


def supported_years() -> range:
    """The years whose holidays the installed ``chinese-calendar`` knows.

    Examples
    --------
    >>> 2025 in supported_years()
    True
    """
    import chinese_calendar

    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def get_calendar(session: Session, code: str) -> WorkCalendar:
    """The calendar ``code``; 404 ``calendar_not_found`` when there is none."""
    cal = session.execute(select(WorkCalendar).where(WorkCalendar.code == code)
                          ).scalar_one_or_none()
    if cal is None:
        raise NotFound(f"no working calendar {code!r}", code="calendar_not_found")
    return cal


def hours_of(session: Session, calendar_id: int) -> dict[int, list[tuple[time, time]]]:
    """The working hours of a calendar by weekday (weekdays without work left out)."""
    out: dict[int, list[tuple[time, time]]] = {}
    for row in session.execute(select(WorkCalendarHours).where(
            WorkCalendarHours.calendar_id == calendar_id).order_by(
            WorkCalendarHours.weekday, WorkCalendarHours.starts)).scalars():
        out.setdefault(row.weekday, []).append((row.starts, row.ends))
    return out


def describe(session: Session, cal: WorkCalendar) -> dict[str, Any]:
    """A calendar as the API shows it."""
    return {"code": cal.code, "name": cal.name, "district_code": cal.district_code,
            "is_default": cal.is_default, "timezone": cal.timezone,
            "first_year": cal.first_year, "last_year": cal.last_year,
            "hours": {str(day): [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in spans]
                      for day, spans in hours_of(session, cal.id).items()}}


def list_calendars(session: Session) -> list[dict[str, Any]]:
    """Every calendar, the default first."""
    cals = session.execute(select(WorkCalendar).order_by(
        WorkCalendar.is_default.desc(), WorkCalendar.code)).scalars().all()
    return [describe(session, c) for c in cals]


def check_hours(hours: Hours) -> None:
    """Refuse weekdays outside 1-7 and periods that are empty or overlap.

    Examples
    --------
    >>> check_hours({1: [(time(8, 30), time(12)), (time(14), time(17, 30))]})
    >>> check_hours({8: []})
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: field 'hours': weekday 8 is not 1 (Monday) .. 7 (Sunday)
    """
    for day, spans in hours.items():
        if not 1 <= int(day) <= 7:
            raise InvalidInput(f"field 'hours': weekday {day} is not 1 (Monday) .. 7 (Sunday)",
                               code="invalid_hours")
        ordered = sorted(spans)
        for (_, e1), (s2, _) in itertools.pairwise(ordered):
            if s2 < e1:
                raise InvalidInput(f"field 'hours': periods of weekday {day} overlap",
                                   code="invalid_hours")
        if any(s >= e for s, e in spans):
            raise InvalidInput(f"field 'hours': a period of weekday {day} ends before it "
                               "starts", code="invalid_hours")


def _rebuild(session: Session, cal: WorkCalendar) -> int:
    session.flush()
    return int(session.execute(text("SELECT gridgov_rebuild_work_periods(:id)"),
                               {"id": cal.id}).scalar_one())


def _check_place(district_code: str | None, timezone: str) -> None:
    if district_code is not None and not DISTRICT_CODE.match(district_code):
        raise InvalidInput(f"field 'district_code': {district_code!r} is not a 6-digit "
                           "GB/T 2260 district code", code="invalid_district_code")
    if timezone not in zoneinfo.available_timezones():
        raise InvalidInput(f"field 'timezone': unknown time zone {timezone!r}",
                           code="invalid_timezone")


def create_calendar(session: Session, *, code: str, name: str, actor: Actor,
                    district_code: str | None = None, timezone: str = "Asia/Shanghai",
                    hours: Hours | None = None) -> WorkCalendar:
    """A new calendar for a district, with the default calendar's days (and hours unless given).

    Raises
    ------
    Conflict
        ``calendar_exists`` when the code or the district has a calendar already.
    """
    _check_place(district_code, timezone)
    same = WorkCalendar.code == code
    if district_code is not None:
        same = same | (WorkCalendar.district_code == district_code)
    taken = session.execute(select(WorkCalendar.code).where(same)).first()
    if taken is not None:
        raise Conflict(f"calendar {taken[0]!r} has this code or district already",
                       code="calendar_exists")
    default = session.execute(select(WorkCalendar).where(WorkCalendar.is_default)
                              ).scalar_one_or_none()
    cal = WorkCalendar(code=code, name=name, district_code=district_code, timezone=timezone,
                       is_default=default is None)
    session.add(cal)
    session.flush()
    if hours is None and default is not None:
        hours = hours_of(session, default.id)
    _write_hours(session, cal, hours or {})
    if default is not None:
        session.execute(text(
            "INSERT INTO work_calendar_days (calendar_id, day, kind, name, source) "
            "SELECT :new, day, kind, name, source FROM work_calendar_days WHERE calendar_id = :d"),
            {"new": cal.id, "d": default.id})
    _rebuild(session, cal)
    record(session, actor=actor, action="calendar.create", object_type="calendar",
           object_id=code, after=describe(session, cal))
    return cal


def _write_hours(session: Session, cal: WorkCalendar, hours: Hours) -> None:
    check_hours(hours)
    session.execute(delete(WorkCalendarHours).where(WorkCalendarHours.calendar_id == cal.id))
    session.add_all(WorkCalendarHours(calendar_id=cal.id, weekday=int(day), starts=s, ends=e)
                    for day, spans in hours.items() for s, e in spans)


def set_hours(session: Session, code: str, hours: Hours, actor: Actor) -> WorkCalendar:
    """Replace the working hours of calendar ``code`` (weekdays left out: no work)."""
    cal = get_calendar(session, code)
    before = describe(session, cal)["hours"]
    _write_hours(session, cal, hours)
    _rebuild(session, cal)
    record(session, actor=actor, action="calendar.hours", object_type="calendar",
           object_id=code, before={"hours": before},
           after={"hours": describe(session, cal)["hours"]})
    return cal


def set_years(session: Session, code: str, first_year: int, last_year: int,
              actor: Actor) -> WorkCalendar:
    """Materialise the working periods of calendar ``code`` for these years."""
    if not 1900 <= first_year <= last_year < first_year + 100:
        raise InvalidInput("fields 'first_year', 'last_year': first <= last, at most 100 "
                           "years, from 1900", code="invalid_years")
    cal = get_calendar(session, code)
    before = {"first_year": cal.first_year, "last_year": cal.last_year}
    cal.first_year, cal.last_year = first_year, last_year
    _rebuild(session, cal)
    record(session, actor=actor, action="calendar.years", object_type="calendar",
           object_id=code, before=before,
           after={"first_year": first_year, "last_year": last_year})
    return cal


def list_days(session: Session, code: str, year: int | None = None) -> list[dict[str, Any]]:
    """The holidays and make-up working days of calendar ``code`` (of ``year``), by date."""
    cal = get_calendar(session, code)
    stmt = select(WorkCalendarDay).where(WorkCalendarDay.calendar_id == cal.id)
    if year is not None:
        stmt = stmt.where(func.extract("year", WorkCalendarDay.day) == year)
    return [{"day": d.day.isoformat(), "kind": d.kind, "name": d.name, "source": d.source}
            for d in session.execute(stmt.order_by(WorkCalendarDay.day)).scalars()]


def set_day(session: Session, code: str, day: date, kind: str, name: str | None,
            actor: Actor) -> dict[str, Any]:
    """Mark ``day`` of calendar ``code`` a holiday or a make-up working day (by hand)."""
    if kind not in DAY_KINDS:
        raise InvalidInput(f"field 'kind': {kind!r} is not one of {', '.join(DAY_KINDS)}",
                           code="invalid_day_kind")
    cal = get_calendar(session, code)
    session.execute(insert(WorkCalendarDay).values(
        calendar_id=cal.id, day=day, kind=kind, name=name, source="manual"
    ).on_conflict_do_update(index_elements=["calendar_id", "day"],
                            set_={"kind": kind, "name": name, "source": "manual"}))
    _rebuild(session, cal)
    after = {"day": day.isoformat(), "kind": kind, "name": name, "source": "manual"}
    record(session, actor=actor, action="calendar.day", object_type="calendar",
           object_id=code, after=after)
    return after


def delete_day(session: Session, code: str, day: date, actor: Actor) -> None:
    """Make ``day`` of calendar ``code`` an ordinary day of its week again."""
    cal = get_calendar(session, code)
    gone = session.execute(delete(WorkCalendarDay).where(
        WorkCalendarDay.calendar_id == cal.id, WorkCalendarDay.day == day
    ).returning(WorkCalendarDay.kind)).scalar_one_or_none()
    if gone is None:
        raise NotFound(f"calendar {code!r} has no holiday or make-up day on {day}",
                       code="day_not_found")
    _rebuild(session, cal)
    record(session, actor=actor, action="calendar.day.delete", object_type="calendar",
           object_id=code, before={"day": day.isoformat(), "kind": gone})


def china_days(year: int) -> list[tuple[date, str, str]]:
    """China's holidays on weekdays and make-up working days of ``year`` (``chinese-calendar``).

    Examples
    --------
    >>> [d for d in china_days(2025) if d[1] == "workday"][-2:]  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2025, 9, 28), 'workday', 'National Day'),
     (datetime.date(2025, 10, 11), 'workday', 'National Day')]
    """
    import chinese_calendar

    if year not in supported_years():
        years = supported_years()
        raise InvalidInput(f"field 'year': the installed chinese-calendar knows {years.start}-"
                           f"{years.stop - 1}; upgrade it (pip install -U chinese-calendar) "
                           "or enter the days by hand", code="year_not_available")
    days = [(d, "holiday", n) for d, n in chinese_calendar.holidays.items()
            if d.year == year and d.weekday() < 5]
    days += [(d, "workday", n) for d, n in chinese_calendar.workdays.items()
             if d.year == year and d.weekday() >= 5]
    return sorted(days)


def load_year(session: Session, year: int, actor: Actor,
              code: str | None = None) -> dict[str, int]:
    """Load China's days of ``year`` into calendar ``code`` (default: every calendar).

    The days of that year loaded before are replaced; days entered by hand are
    kept. Returns the number of days loaded per calendar.
    """
    days = china_days(year)
    cals = [get_calendar(session, code)] if code else list(
        session.execute(select(WorkCalendar).order_by(WorkCalendar.code)).scalars())
    out = {}
    for cal in cals:
        session.execute(delete(WorkCalendarDay).where(
            WorkCalendarDay.calendar_id == cal.id, WorkCalendarDay.source == "chinese-calendar",
            func.extract("year", WorkCalendarDay.day) == year))
        if days:
            session.execute(insert(WorkCalendarDay).values([
                {"calendar_id": cal.id, "day": d, "kind": k, "name": n,
                 "source": "chinese-calendar"} for d, k, n in days]
            ).on_conflict_do_nothing())
        cal.first_year, cal.last_year = min(cal.first_year, year), max(cal.last_year, year)
        _rebuild(session, cal)
        record(session, actor=actor, action="calendar.load", object_type="calendar",
               object_id=cal.code, details={"year": year, "days": len(days)})
        out[cal.code] = len(days)
    return out
