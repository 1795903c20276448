"""Pauses (挂起) and extensions (延期) of an event's deadline: request, decision, resumption.

Staff who work on an open event request a pause or an extension with a reason
(an extension also with its hours, counted on the clock of the event's current
step). A dispatcher or an admin approves or refuses it (one request of an event
waits at a time):

- an approved **pause** stops the clock: the time left until the deadline is
  kept with the pause and ``due_at`` is cleared (a paused event is never
  overdue nor escalated); :func:`resume` (or any change of status) restarts
  the clock and the deadline is the time left from then;
- an approved **extension** moves the deadline by its hours (a paused event
  keeps the hours for when it resumes).

Every step writes a history row of the event (``request_pause``,
``request_extension``, ``pause``, ``extend``, ``refuse_pause``,
``refuse_extension``, ``resume``) and the decisions an audit row
(``event.deadline.approve`` / ``event.deadline.refuse``); the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.calendar.deadlines import active_pause, deadline, due_working, elapsed, end_pause
from api.calendar.deadlines import event_area as area_of
from api.calendar.models import REQUEST_KINDS, DeadlineRequest
from api.db.models import Event, EventHistory
from gis_core.errors import Conflict, InvalidInput, NotFound
from layers.vocabulary import OPEN_STATUSES

#: the most hours one extension may add
MAX_EXTENSION_HOURS = 24 * 365


def describe(req: DeadlineRequest) -> dict[str, Any]:
    """A request as the API shows it."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": req.id, "event_id": req.event_id, "kind": req.kind, "reason": req.reason,
            "hours": req.hours, "status": req.status, "requested_by": req.requested_by,
            "requested_at": iso(req.requested_at), "decided_by": req.decided_by,
            "decided_at": iso(req.decided_at), "decision_note": req.decision_note,
            "paused": req.kind == "pause" and req.status == "approved"
            and req.resumed_at is None,
            "resumed_at": iso(req.resumed_at)}


def list_requests(session: Session, event_id: int) -> list[dict[str, Any]]:
    """The pauses and extensions of event ``event_id``, oldest first."""
    rows = session.execute(select(DeadlineRequest).where(DeadlineRequest.event_id == event_id)
                           .order_by(DeadlineRequest.id)).scalars()
    return [describe(r) for r in rows]


def _history(session: Session, event: Event, action: str, actor: str | None,
             note: str | None, now: datetime) -> None:
    session.add(EventHistory(event_id=event.id, action=action, from_status=event.status,
                             to_status=event.status, actor=actor, note=note, at=now))


def request(session: Session, event: Event, *, kind: str, reason: str, actor: str,
            now: datetime, hours: float | None = None) -> DeadlineRequest:
    """Ask for a pause or an extension of ``event``'s deadline.

    Raises
    ------
    InvalidInput
        ``invalid_request``: unknown kind, no reason, an extension without
        positive hours (or beyond a year).
    Conflict
        ``no_deadline`` (the event is closed or has no deadline),
        ``already_paused``, ``request_pending``.
    """
    if kind not in REQUEST_KINDS:
        raise InvalidInput(f"field 'kind': {kind!r} is not one of {', '.join(REQUEST_KINDS)}",
                           code="invalid_request")
    if not reason.strip():
        raise InvalidInput("field 'reason': a reason is required", code="invalid_request")
    if kind == "extension" and (hours is None or not 0 < hours <= MAX_EXTENSION_HOURS):
        raise InvalidInput(f"field 'hours': an extension needs hours, more than 0 and at "
                           f"most {MAX_EXTENSION_HOURS}", code="invalid_request")
    paused = active_pause(session, event.id)
    if event.status not in OPEN_STATUSES or (event.due_at is None and paused is None):
        raise Conflict(f"event {event.id} in status {event.status!r} has no deadline to "
                       "pause or extend", code="no_deadline")
    if kind == "pause" and paused is not None:
        raise Conflict(f"event {event.id} is paused already", code="already_paused")
    pending = session.execute(select(DeadlineRequest.id).where(
        DeadlineRequest.event_id == event.id, DeadlineRequest.status == "pending")).first()
    if pending is not None:
        raise Conflict(f"request {pending[0]} of event {event.id} awaits a decision",
                       code="request_pending", request_id=pending[0])
    req = DeadlineRequest(event_id=event.id, kind=kind, reason=reason.strip(),
                          hours=hours if kind == "extension" else None, status="pending",
                          requested_by=actor, requested_at=now)
    session.add(req)
    _history(session, event, f"request_{kind}", actor, reason.strip(), now)
    session.flush()
    return req


def get_request(session: Session, event_id: int, request_id: int) -> DeadlineRequest:
    """Request ``request_id`` of event ``event_id``; 404 ``request_not_found``."""
    req = session.get(DeadlineRequest, request_id, with_for_update=True)
    if req is None or req.event_id != event_id:
        raise NotFound(f"event {event_id} has no request {request_id}",
                       code="request_not_found")
    return req


def decide(session: Session, event: Event, req: DeadlineRequest, *, approve: bool,
           actor: Actor, now: datetime, note: str | None = None) -> DeadlineRequest:
    """Approve or refuse a pending request; an approval moves the deadline at once.

    Raises
    ------
    Conflict
        ``request_decided`` when the request is not pending; ``no_deadline``
        when the event closed or lost its deadline meanwhile.
    """
    if req.status != "pending":
        raise Conflict(f"request {req.id} is {req.status} already", code="request_decided")
    due_before = event.due_at
    req.status, req.decided_by, req.decided_at = ("approved" if approve else "refused",
                                                  actor.name, now)
    req.decision_note = note
    if approve:
        _approve(session, event, req, now)
    action = {"pause": "pause", "extension": "extend"}[req.kind] if approve \
        else f"refuse_{req.kind}"
    _history(session, event, action, actor.name, note or req.reason, now)
    record(session, actor=actor, action=f"event.deadline.{'approve' if approve else 'refuse'}",
           object_type="event", object_id=event.id,
           before={"due_at": due_before.isoformat() if due_before else None},
           after={"due_at": event.due_at.isoformat() if event.due_at else None},
           details={"request": req.id, "kind": req.kind, "hours": req.hours})
    return req


def _approve(session: Session, event: Event, req: DeadlineRequest, now: datetime) -> None:
    paused = active_pause(session, event.id)
    if event.status not in OPEN_STATUSES or (event.due_at is None and paused is None):
        raise Conflict(f"event {event.id} in status {event.status!r} has no deadline any "
                       "more; refuse the request", code="no_deadline")
    area = area_of(event)
    if req.kind == "pause":
        assert event.due_at is not None  # noqa: S101 - a pending pause is never of a paused event
        req.working = due_working(session, event)
        req.remaining_seconds = elapsed(session, now, event.due_at, req.working, area)
        event.due_at = None
    elif paused is not None:
        paused.remaining_seconds = (paused.remaining_seconds or 0.0) + float(req.hours or 0) * 3600
    else:
        assert event.due_at is not None  # noqa: S101 - an invariant, for the type checker
        event.due_at = deadline(session, event.due_at, float(req.hours or 0) * 3600,
                                due_working(session, event), area)


def resume(session: Session, event: Event, *, actor: str, now: datetime,
           note: str | None = None) -> DeadlineRequest:
    """Restart the clock of a paused event; 409 ``not_paused`` when it is not paused."""
    pause = end_pause(session, event, now, actor, note)
    if pause is None:
        raise Conflict(f"event {event.id} is not paused", code="not_paused")
    return pause
