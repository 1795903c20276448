"""The deadline rule: per step, in natural or working time, stopped while paused.

Every deadline of the system comes from the SQL functions of migration 0014, so
intake, the bulk import, the lifecycle, pauses, extensions and escalation count
time the same way:

- ``gridgov_deadline(start, seconds, working, area)``: ``start`` plus
  ``seconds`` of natural time, or of working time of the calendar of ``area``
  (an admin-area code; its first 6 digits name the district; the default
  calendar when the district has none);
- ``gridgov_elapsed(a, b, working, area)``: the seconds from ``a`` to ``b`` on
  the same clock (negative when ``b`` is earlier);
- ``gridgov_event_due(category, from_status, to_status, start, area, current)``
  (``category``: the ``event_categories`` row):
  the deadline of an event entering ``to_status`` at ``start``. The statuses
  form steps: registered and returned are the **dispatch** step, dispatched and
  in_progress the **handling** step (``time_limit_hours``), handled and verified
  the **verification** step. Entering another step starts that step's own limit
  (``dispatch_limit_hours``, ``time_limit_hours``, ``verification_limit_hours``,
  each with its clock ``*_working``); a step without a limit keeps ``current``
  (at intake, with none: the handling limit from the report);
- ``gridgov_due_working(category, status)`` (the row too): whether the deadline an event in
  ``status`` holds runs in working time.

An event's ``due_at`` is the deadline of its current step; while the event is
paused it is NULL (no clock, never overdue) and the time that was left is kept
in the approved pause (:mod:`api.calendar.pauses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from api.calendar.models import DeadlineRequest
from api.db.models import Event, EventHistory

Conn = Connection | Session


def event_area(event: Event) -> str | None:
    """The admin-area code whose district's calendar applies to ``event``."""
    return event.street_code or event.community_code


def deadline(conn: Conn, start: datetime, seconds: float, working: bool,
             area: str | None = None) -> datetime:
    """``start`` plus ``seconds`` of natural or working time (``gridgov_deadline``)."""
    return conn.execute(select(func.gridgov_deadline(start, seconds, working, area))
                        ).scalar_one()


def elapsed(conn: Conn, start: datetime, end: datetime, working: bool,
            area: str | None = None) -> float:
    """Seconds from ``start`` to ``end`` in natural or working time (``gridgov_elapsed``)."""
    return float(conn.execute(select(func.gridgov_elapsed(start, end, working, area))
                              ).scalar_one())


def due_working(conn: Conn, event: Event) -> bool:
    """Whether ``event``'s current deadline runs in working time."""
    return bool(conn.execute(text(
        "SELECT gridgov_due_working(c, :status) FROM event_categories c WHERE c.id = :id"),
        {"status": event.status, "id": event.category_id}).scalar_one())


def active_pause(session: Session, event_id: int) -> DeadlineRequest | None:
    """The approved pause of event ``event_id`` that has not been resumed, if any."""
    return session.execute(select(DeadlineRequest).where(
        DeadlineRequest.event_id == event_id, DeadlineRequest.kind == "pause",
        DeadlineRequest.status == "approved", DeadlineRequest.resumed_at.is_(None))
    ).scalar_one_or_none()


def end_pause(session: Session, event: Event, now: datetime, actor: str | None,
              note: str | None = None) -> DeadlineRequest | None:
    """Restart a paused event's clock at ``now``: the time left is added from ``now``.

    Writes a ``resume`` history row; returns the pause ended (None: not paused).
    """
    pause = active_pause(session, event.id)
    if pause is None:
        return None
    event.due_at = deadline(session, now, float(pause.remaining_seconds or 0.0),
                            bool(pause.working), event_area(event))
    pause.resumed_at = now
    session.add(EventHistory(event_id=event.id, action="resume", from_status=event.status,
                             to_status=event.status, actor=actor, at=now,
                             note=note or "clock restarted"))
    return pause


def enter_status(session: Session, event: Event, before: str, now: datetime,
                 actor: str | None) -> None:
    """Set the deadline of ``event`` that moved from ``before`` to its status at ``now``.

    A paused event is resumed first; a new step starts its own limit.
    """
    if before == event.status:
        return
    end_pause(session, event, now, actor, note=f"clock restarted by {event.status}")
    event.due_at = session.execute(text(
        "SELECT gridgov_event_due(c, :before, :after, :now, :area, :current) "
        "FROM event_categories c WHERE c.id = :id"),
        {"before": before, "after": event.status, "now": now, "area": event_area(event),
         "current": event.due_at, "id": event.category_id}).scalar_one()


_FIRST_DEADLINES = """
SELECT string_agg(coalesce(CAST(EXTRACT(EPOCH FROM gridgov_event_due(
           c, NULL, u.status, to_timestamp(u.start), u.area, NULL)) AS text), ''), ','
       ORDER BY u.n)
FROM unnest(CAST(:category AS int[]), CAST(:status AS text[]), CAST(:start AS float8[]),
            CAST(:area AS text[])) WITH ORDINALITY AS u(category, status, start, area, n)
JOIN event_categories c ON c.id = u.category
"""


def _array(values: Iterable[object]) -> str:
    """A PostgreSQL array literal of numbers, codes and None (no quoting needed).

    Examples
    --------
    >>> _array([1, None, "dispatched", 1.5])
    '{1,NULL,dispatched,1.5}'
    """
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def first_deadlines(conn: Conn, category_ids: pd.Series, statuses: pd.Series,
                    starts: pd.Series, areas: pd.Series) -> pd.Series:
    """The deadlines of new events (as intake sets them), in one statement, in order.

    For the bulk import: the arrays travel as text and the deadlines come back
    as one string, so that a million events cost one round trip and no
    per-value conversion in Python. ``starts`` are UTC timestamps; ``areas``
    admin-area codes (digits) or None.
    """
    epochs = (starts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    text_out = conn.execute(text(_FIRST_DEADLINES), {
        "category": _array(category_ids.tolist()), "status": _array(statuses.tolist()),
        "start": _array(epochs.tolist()),
        "area": _array(areas.astype(object).where(areas.notna(), None).tolist())}
    ).scalar_one() or ""
    seconds = pd.to_numeric(pd.Series(text_out.split(","), index=starts.index),
                            errors="coerce")
    return pd.to_datetime(seconds, unit="s", utc=True).dt.round("us")


_STEP_DEADLINES = """
SELECT s.step, gridgov_step_seconds(c, s.step) / 3600 AS hours,
       gridgov_step_working(c, s.step) AS working,
       gridgov_deadline(CAST(:start AS timestamptz), gridgov_step_seconds(c, s.step),
                        gridgov_step_working(c, s.step), :area) AS due_at
FROM event_categories c, unnest(CAST(:steps AS text[])) WITH ORDINALITY AS s(step, n)
WHERE c.code = :code
ORDER BY s.n
"""

STEPS = ("dispatch", "handling", "verification")


def step_deadlines(conn: Conn, category_code: str, start: datetime,
                   area: str | None = None) -> list[dict[str, Any]]:
    """Each step's limit of a category and its deadline if the step started at ``start``.

    One row per step (``step``, ``hours``, ``working``, ``due_at``; ``hours``
    and ``due_at`` are None for a step without a limit); empty for an unknown
    category. For previews (the routing preview): the lifecycle starts each
    step when the previous one ends.
    """
    rows = conn.execute(text(_STEP_DEADLINES), {"start": start, "area": area,
                                                "steps": list(STEPS), "code": category_code})
    return [dict(r) for r in rows.mappings()]
