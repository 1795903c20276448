"""Joint handling (4+X, 街乡吹哨、部门报到): a lead department, assisting ones, one case.

:func:`share` gives a case a ``lead`` sub-task and ``assist`` sub-tasks, one
per department, each with its deadline (the category's handling limit, or the
hours given, on the category's handling clock and the calendar of the case's
area: ``api.calendar.deadlines``); the lead becomes the case's department and
every department's handlers are told (``subtask`` notifications). Each
department records its own handling (:func:`handle`); when the last sub-task
is handled the case moves to ``handled`` (accepted first when it was still
``dispatched``). While any sub-task is open the case cannot be handled by hand
(``api.joint.rules``, checked by the lifecycle). :func:`kpis` counts lead
and assisting work per department.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.calendar.deadlines import deadline, event_area
from api.catalogue.service import department_id
from api.db.models import Event, EventCategory
from api.events.lifecycle import apply_action
from api.joint.models import EventSubtask
from api.joint.rules import open_departments
from api.notify.outbox import notify
from gis_core.errors import Conflict, InvalidInput, NotFound

#: statuses in which a case can be shared (before it is handled)
SHAREABLE = ("registered", "dispatched", "returned", "in_progress")


def share(session: Session, event: Event, *, lead: str, assisting: Sequence[str],
          hours: dict[str, float], tasks: dict[str, str], now: datetime,
          by: Actor) -> list[EventSubtask]:
    """Give ``event`` its lead and assisting departments' sub-tasks; the caller commits.

    Raises
    ------
    InvalidInput
        (``unknown_department``, ``duplicate_department``) for a bad department list.
    Conflict
        (``already_joint``) when the case has sub-tasks already, (``not_shareable``)
        when its status is past handling.
    """
    codes = [lead, *assisting]
    if len(set(codes)) != len(codes):
        raise InvalidInput("field 'assisting': each department once, and not the lead",
                           code="duplicate_department")
    if event.status not in SHAREABLE:
        raise Conflict(f"a case in status {event.status!r} cannot be shared; statuses "
                       f"allowed: {', '.join(SHAREABLE)}", code="not_shareable")
    if session.execute(select(EventSubtask.id).where(EventSubtask.event_id == event.id)
                       ).first() is not None:
        raise Conflict(f"case {event.id} is handled jointly already", code="already_joint")
    category = session.get(EventCategory, event.category_id)
    assert category is not None  # events reference their category  # noqa: S101
    made = []
    for i, code in enumerate(codes):
        dept = department_id(session, code, "lead" if i == 0 else f"assisting[{i - 1}]")
        limit = hours.get(code, category.time_limit_hours)
        due = deadline(session, now, limit * 3600, category.handling_working, event_area(event))
        made.append(EventSubtask(event_id=event.id, department_id=dept,
                                 role="lead" if i == 0 else "assist", task=tasks.get(code),
                                 due_at=due))
    event.department_id = made[0].department_id
    session.add_all(made)
    session.flush()
    record(session, actor=by, action="joint.share", object_type="event", object_id=event.id,
           after={"lead": lead, "assisting": list(assisting)})
    notify(session, [(event.id, "subtask")])
    return made


def handle(session: Session, event: Event, department: str, handling: str, *,
           actor: str, now: datetime, by: Actor) -> EventSubtask:
    """Record a department's handling of its sub-task; the last one handles the case.

    Raises
    ------
    NotFound
        (``subtask_not_found``) when the department has no sub-task of the case.
    Conflict
        (``subtask_handled``) when it was handled already.
    """
    dept = department_id(session, department)
    task = session.execute(select(EventSubtask).where(
        EventSubtask.event_id == event.id, EventSubtask.department_id == dept
    ).with_for_update()).scalar_one_or_none()
    if task is None:
        raise NotFound(f"department {department!r} has no sub-task of case {event.id}",
                       code="subtask_not_found")
    if task.status == "handled":
        raise Conflict(f"the sub-task of {department!r} was handled already",
                       code="subtask_handled")
    task.status, task.handled_at, task.handled_by, task.handling = "handled", now, actor, handling
    session.flush()
    record(session, actor=by, action="joint.handle", object_type="event", object_id=event.id,
           after={"department": department})
    if not open_departments(session, event.id):
        if event.status == "dispatched":
            apply_action(session, event, "accept", actor=actor, now=now, audit_actor=by)
        apply_action(session, event, "handle", actor=actor, now=now, audit_actor=by,
                     note="every sub-task of the joint case is handled")
    return task


def subtasks(session: Session, event_id: int) -> list[dict[str, Any]]:
    """The sub-tasks of a case, lead first."""
    rows = session.execute(text("""
        SELECT d.code AS department, t.role, t.task, t.status, t.due_at, t.handled_at,
               t.handled_by, t.handling, t.handled_at > t.due_at AS late
        FROM event_subtasks t JOIN departments d ON d.id = t.department_id
        WHERE t.event_id = :id ORDER BY t.role DESC, d.code"""), {"id": event_id}).mappings()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


def takes_part(session: Session, event_id: int, department: int | None) -> bool:
    """Whether a department has a sub-task of the case (handlers of it may see the case)."""
    return department is not None and session.execute(select(EventSubtask.id).where(
        EventSubtask.event_id == event_id, EventSubtask.department_id == department)
    ).first() is not None


_KPIS = text("""
SELECT d.code AS department, t.role, count(*) AS total,
       count(*) FILTER (WHERE t.status = 'handled') AS handled,
       count(*) FILTER (WHERE t.status = 'handled' AND (t.due_at IS NULL
                                                        OR t.handled_at <= t.due_at)) AS on_time,
       count(*) FILTER (WHERE t.status = 'open' AND t.due_at < :now) AS overdue
FROM event_subtasks t JOIN departments d ON d.id = t.department_id
WHERE t.created_at >= :since AND t.created_at < :until
GROUP BY d.code, t.role ORDER BY d.code, t.role DESC
""")


def kpis(session: Session, since: datetime, until: datetime, now: datetime
         ) -> list[dict[str, Any]]:
    """Per department: lead and assisting sub-tasks given, handled, on time, overdue."""
    if until <= since:
        raise InvalidInput("parameter 'until': must be after 'since'", code="invalid_period")
    out: dict[str, dict[str, Any]] = {}
    for r in session.execute(_KPIS, {"since": since, "until": until, "now": now}).mappings():
        row = out.setdefault(r["department"], {"department": r["department"]})
        row[r["role"]] = {k: int(r[k]) for k in ("total", "handled", "on_time", "overdue")}
    empty = {"total": 0, "handled": 0, "on_time": 0, "overdue": 0}
    return [{"lead": dict(empty), "assist": dict(empty), **row} for row in out.values()]



def is_department(session: Session, department: int | None, code: str) -> bool:
    """Whether the department with id ``department`` has the code ``code``."""
    return department is not None and session.execute(text(
        "SELECT 1 FROM departments WHERE id = :id AND code = :code"),
        {"id": department, "code": code}).first() is not None
