"""The case page's data and the dispatcher's changes that are not lifecycle steps.

:func:`case_view` gathers what a dispatcher or handler looks at: the event with its
history (actors named), photos before and after, the reporter when the role may see
it (the read audited by ``api.personal``), the actions the caller may take, the
duplicates and the open cases nearby, the building record and the time from
discovery to dispatch.

Changes (each writes a history row and an audit row in the caller's transaction):
:func:`supervise` (督办, ``attributes.supervised``), :func:`recategorise` (a new
category, optionally routed again by the routing rules) and :func:`reroute` (another
department for a case not yet accepted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.auth.principal import Principal
from api.db.models import OPEN_EVENTS_SQL, OPEN_STATUSES, Department, Event, EventCategory
from api.errors import APIError
from api.events.detail import event_detail
from api.events.kpi import DISPATCH_TARGET_MINUTES
from api.events.lifecycle import ACTION_ROLES, TRANSITIONS, add_history
from api.events.models import EventPhoto
from api.events.routing import grid_codes, route_rows

#: metres around a case within which other open cases are listed
NEARBY_METRES = 200.0
#: statuses whose department may still change without a lifecycle step
REROUTE_STATUSES = frozenset({"registered", "dispatched", "returned"})
#: photos taken with these actions are "after" photos; the others "before"
AFTER_ACTIONS = frozenset({"handle", "verify"})
CHANGE_ROLES = frozenset({"admin", "dispatcher"})

_NEARBY = f"""
SELECT o.id, o.status, c.code AS category, c.name AS category_name,
       round(ST_Distance(o.geom::geography, e.geom::geography)::numeric, 0) AS metres,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       (o.attributes->>'duplicate_of')::bigint AS duplicate_of
FROM events e JOIN events o ON o.id <> e.id
  AND ST_DWithin(o.geom, e.geom, :degrees) AND o.{OPEN_EVENTS_SQL}
JOIN event_categories c ON c.id = o.category_id
WHERE e.id = :id AND ({{scope}})
  AND ST_DWithin(o.geom::geography, e.geom::geography, :metres)
ORDER BY metres, o.id LIMIT 20
"""  # noqa: S608

_DUPLICATES = """
SELECT d.id, d.status, d.reported_at FROM events d
WHERE d.attributes @> jsonb_build_object('duplicate_of', CAST(:id AS bigint)) AND ({scope})
ORDER BY d.id
"""

_BUILDING = """
SELECT b.code, b.name, b.address, b.floors, b.height, b.use, b.community_code, b.status
FROM events e JOIN buildings b ON b.id = e.building_id WHERE e.id = :id
"""


def allowed_for(principal: Principal, status: str) -> list[str]:
    """The lifecycle actions ``principal``'s role may take on a case in ``status``."""
    return sorted(a for a in TRANSITIONS.get(status, {})
                  if principal.role in ACTION_ROLES.get(a, frozenset()))


def _photos(session: Session, event_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(EventPhoto.id, EventPhoto.action, EventPhoto.created_at)
                           .where(EventPhoto.event_id == event_id).order_by(EventPhoto.id)).all()
    return [{"id": r.id, "action": r.action, "created_at": r.created_at.isoformat(),
             "stage": "after" if r.action in AFTER_ACTIONS else "before"} for r in rows]


def _related(session: Session, principal: Principal, event_id: int
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    scope, params = principal.event_sql("o")
    nearby = session.execute(text(_NEARBY.format(scope=scope)), {
        **params, "id": event_id, "metres": NEARBY_METRES,
        "degrees": NEARBY_METRES / 100_000}).mappings().all()
    dscope, dparams = principal.event_sql("d")
    dups = session.execute(text(_DUPLICATES.format(scope=dscope)),
                           {**dparams, "id": event_id}).mappings().all()
    return ([{**dict(r), "metres": float(r["metres"])} for r in nearby],
            [{**dict(r), "reported_at": r["reported_at"].isoformat()} for r in dups])


def case_view(session: Session, principal: Principal, event_id: int, now: datetime
              ) -> dict[str, Any]:
    """What the case page shows of event ``event_id`` (in scope: checked by the caller)."""
    detail = event_detail(session, event_id=event_id)
    assert detail is not None  # noqa: S101
    event = session.get(Event, event_id)
    assert event is not None  # noqa: S101
    attrs = event.attributes or {}
    nearby, duplicates = _related(session, principal, event_id)
    building = session.execute(text(_BUILDING), {"id": event_id}).mappings().first()
    minutes = (round((event.dispatched_at - event.reported_at).total_seconds() / 60, 1)
               if event.dispatched_at is not None else None)
    detail.update(
        photos=[{**p, "url": f"/api/v1/events/{event_id}/photos/{p['id']}"}
                for p in _photos(session, event_id)],
        allowed_actions=allowed_for(principal, event.status),
        supervised=bool(attrs.get("supervised")), nearby=nearby, duplicates=duplicates,
        building=dict(building) if building else None,
        minutes_to_dispatch=minutes, dispatch_target_minutes=DISPATCH_TARGET_MINUTES,
        overdue=bool(event.due_at and event.due_at < now
                     and event.status in OPEN_STATUSES),
        category_id=event.category_id)
    return detail


def _check_change(principal: Principal, what: str) -> None:
    if principal.role not in CHANGE_ROLES:
        raise APIError(403, "forbidden", f"role {principal.role!r} may not {what}; roles "
                       f"allowed: {', '.join(sorted(CHANGE_ROLES))}")


def _check_open(event: Event, what: str) -> None:
    if event.status not in TRANSITIONS or not TRANSITIONS[event.status]:
        raise APIError(409, "case_closed", f"case {event.id} is {event.status}: it cannot be "
                       f"{what}")


def _log(session: Session, event: Event, action: str, actor: Actor, note: str | None,
         before: dict[str, Any], after: dict[str, Any], now: datetime) -> None:
    add_history(session, event, action, event.status, event.status, actor.name, note, now)
    record(session, actor=actor, action=f"event.{action}", object_type="event",
           object_id=event.id, before=before, after=after)


def supervise(session: Session, principal: Principal, event: Event, *, supervised: bool,
              note: str | None, actor: Actor, now: datetime) -> None:
    """Mark a case supervised (督办) or lift the mark; history ``supervise``/``unsupervise``."""
    _check_change(principal, "mark a case supervised")
    _check_open(event, "supervised")
    was = bool((event.attributes or {}).get("supervised"))
    event.attributes = {**(event.attributes or {}), "supervised": supervised}
    _log(session, event, "supervise" if supervised else "unsupervise", actor, note,
         {"supervised": was}, {"supervised": supervised}, now)


def _department_id(session: Session, code: str) -> int:
    found = session.execute(select(Department.id).where(Department.code == code)
                            ).scalar_one_or_none()
    if found is None:
        raise APIError(422, "unknown_department", f"field 'department': no department {code!r}")
    return int(found)


def reroute(session: Session, principal: Principal, event: Event, *, department: str,
            note: str | None, actor: Actor, now: datetime) -> None:
    """Send a case not yet accepted to another department (history ``reroute``)."""
    _check_change(principal, "re-route a case")
    if event.status not in REROUTE_STATUSES:
        raise APIError(409, "reroute_not_allowed", f"case {event.id} is {event.status}; a case "
                       f"is re-routed while {', '.join(sorted(REROUTE_STATUSES))}")
    before = {"department_id": event.department_id}
    event.department_id = _department_id(session, department)
    _log(session, event, "reroute", actor, note, before,
         {"department_id": event.department_id}, now)


def recategorise(session: Session, principal: Principal, event: Event, *, category: str,
                 route: bool, note: str | None, actor: Actor, now: datetime) -> None:
    """Give a case another category; with ``route``, its department by the routing rules."""
    _check_change(principal, "re-categorise a case")
    _check_open(event, "re-categorised")
    found = session.execute(select(EventCategory.id).where(EventCategory.code == category)
                            ).scalar_one_or_none()
    if found is None:
        raise APIError(422, "unknown_category", f"field 'category': no category {category!r}")
    before = {"category_id": event.category_id, "department_id": event.department_id}
    event.category_id = int(found)
    if route and event.status in REROUTE_STATUSES:
        routed = route_rows(session.connection(), [event.category_id],
                            [grid_codes(event.grids or {})], [event.community_code],
                            [event.street_code])[0]
        event.department_id = routed if routed is not None else event.department_id
    _log(session, event, "recategorise", actor, note, before,
         {"category_id": event.category_id, "department_id": event.department_id}, now)
