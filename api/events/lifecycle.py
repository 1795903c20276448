"""The event lifecycle: states, the transition table, who may act, escalation.

States: registered (受理), dispatched (派遣), in_progress (处置), handled
(反馈), verified (核查), closed (结案), evaluated (评价), plus rejected,
returned, duplicate and cancelled.

``TRANSITIONS[status][action]`` is the status after ``action``; an action not
in the table for the current status is refused (409 ``transition_not_allowed``
listing the allowed actions). ``escalate`` keeps the status and raises the
escalation level community -> street -> district -> city (kept in
``events.attributes``). ``ACTION_ROLES`` says which roles may take each action;
a grid worker acts only on events of their grids, a handler only on events of
their department (``api.auth.policy.check_action``, scopes in ``api.auth.principal``).

Intake (``api.events.intake.create_event``) writes ``register`` and, when a
department is found, an automatic ``dispatch`` by ``system``.

An action that moves the event to another step sets its deadline
(``api.calendar.deadlines.enter_status``: the step's limit, natural or
working time; a paused event is resumed).

Every action writes an ``event.action.<action>`` audit row (status and
department before and after) in the same transaction; automatic escalation
writes ``event.action.escalate`` rows by ``system``. Dispatch, escalation,
duplicates and closing queue their notifications in the same transaction
(``api.notify.outbox``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.calendar.deadlines import enter_status
from api.db.models import Event, EventHistory
from api.joint.rules import check_can_handle
from api.notify.outbox import ACTION_KINDS, notify
from gis_core.errors import Conflict, InvalidInput
from layers.vocabulary import ACTION_ROLES, ESCALATION_LEVELS, OPEN_STATUSES

TRANSITIONS: dict[str, dict[str, str]] = {
    "registered": {"dispatch": "dispatched", "reject": "rejected", "cancel": "cancelled",
                   "mark_duplicate": "duplicate", "escalate": "registered"},
    "dispatched": {"accept": "in_progress", "return": "returned", "cancel": "cancelled",
                   "mark_duplicate": "duplicate", "escalate": "dispatched"},
    "returned": {"dispatch": "dispatched", "reject": "rejected", "cancel": "cancelled",
                 "escalate": "returned"},
    "in_progress": {"handle": "handled", "return": "returned", "escalate": "in_progress"},
    "handled": {"verify": "verified", "reopen": "in_progress", "escalate": "handled"},
    "verified": {"close": "closed", "reopen": "in_progress"},
    "closed": {"evaluate": "evaluated"},
    "evaluated": {},
    "rejected": {},
    "duplicate": {},
    "cancelled": {},
}

ACTIONS = tuple(ACTION_ROLES)


def _actions_doc() -> str:
    lines = ["Take a lifecycle action. Allowed actions by status (others: 409 "
             "`transition_not_allowed` with the allowed list):", ""]
    for status, moves in TRANSITIONS.items():
        steps = ", ".join(f"`{a}` -> {s}" for a, s in moves.items()) or "(final)"
        lines.append(f"- **{status}**: {steps}")
    lines += ["", "Roles allowed per action (403 otherwise; grid workers only on events of "
              "their grids, handlers only on events of their department):", ""]
    lines += [f"- `{a}`: {', '.join(sorted(r))}" for a, r in ACTION_ROLES.items()]
    return "\n".join(lines)


EVENT_ACTIONS_DOC = _actions_doc()

_STAMPS = {"dispatched": "dispatched_at", "handled": "handled_at", "closed": "closed_at",
           "evaluated": "evaluated_at"}


def allowed_actions(status: str) -> list[str]:
    """The actions allowed from ``status``, sorted.

    Examples
    --------
    >>> allowed_actions("verified")
    ['close', 'reopen']
    """
    return sorted(TRANSITIONS.get(status, {}))


def add_history(session: Session, event: Event, action: str, from_status: str | None,
                to_status: str, actor: str | None, note: str | None = None,
                at: datetime | None = None) -> EventHistory:
    """Append one history row (flushed with the session; never commits)."""
    row = EventHistory(event_id=event.id, action=action, from_status=from_status,
                       to_status=to_status, actor=actor, note=note)
    if at is not None:
        row.at = at
    session.add(row)
    return row


def apply_action(session: Session, event: Event, action: str, *, actor: str | None,
                 note: str | None = None, now: datetime, audit_actor: Actor | None = None,
                 **params: Any) -> Event:
    """Move ``event`` by ``action``; write its history and audit rows (the caller commits).

    ``actor`` names who acts in the history; ``audit_actor`` in the audit row
    (default: ``actor``, else ``system``). ``params``: ``department_id`` for
    ``dispatch``; ``duplicate_of`` for ``mark_duplicate``; ``satisfaction`` (1-5)
    and ``comment`` for ``evaluate``.

    Raises
    ------
    InvalidInput
        When ``action`` is not an action of the lifecycle.
    Conflict
        (``transition_not_allowed``) when the event's status does not allow it.
    """
    if action not in ACTION_ROLES:
        raise InvalidInput(f"field 'action': unknown action {action!r}; "
                           f"allowed values: {', '.join(ACTIONS)}", code="invalid_action")
    allowed = TRANSITIONS.get(event.status, {})
    if action not in allowed:
        raise Conflict(f"action {action!r} is not allowed on an event in status "
                       f"{event.status!r}", code="transition_not_allowed",
                       status=event.status, allowed=allowed_actions(event.status))
    if action == "handle":
        check_can_handle(session, event.id)  # a joint case: when every sub-task is handled
    before, after = event.status, allowed[action]
    was = _audited(event)
    attrs = dict(event.attributes or {})
    if action == "escalate":
        level = min(int(attrs.get("escalation_level", 0)) + 1, len(ESCALATION_LEVELS) - 1)
        attrs.update(escalation_level=level, escalated_to=ESCALATION_LEVELS[level])
        note = note or f"escalated to {ESCALATION_LEVELS[level]}"
    elif action == "dispatch" and params.get("department_id") is not None:
        event.department_id = int(params["department_id"])
    elif action == "mark_duplicate" and params.get("duplicate_of") is not None:
        attrs["duplicate_of"] = int(params["duplicate_of"])
    elif action == "evaluate":
        _evaluate(event, attrs, params)
    if action == "dispatch" and event.department_id is None:
        raise InvalidInput("field 'department': the event has no department; name one to "
                           "dispatch to", code="department_required")
    event.attributes = attrs
    event.status = after
    if after in _STAMPS:
        setattr(event, _STAMPS[after], now)
    enter_status(session, event, before, now, actor)
    add_history(session, event, action, before, after, actor, note, now)
    record(session, actor=audit_actor or Actor(actor or "system"),
           action=f"event.action.{action}", object_type="event", object_id=event.id,
           before=was, after=_audited(event))
    if action in ACTION_KINDS:
        notify(session, [(event.id, ACTION_KINDS[action])])
    return event


def _audited(event: Event) -> dict[str, Any]:
    """What the audit row of an action keeps of an event, before and after."""
    attrs = event.attributes or {}
    return {"status": event.status, "department_id": event.department_id,
            "escalation_level": attrs.get("escalation_level", 0),
            "satisfaction": event.satisfaction}


def _evaluate(event: Event, attrs: dict[str, Any], params: dict[str, Any]) -> None:
    score = params.get("satisfaction")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput("field 'satisfaction': an integer from 1 to 5 is required",
                           code="invalid_satisfaction")
    event.satisfaction = score
    if params.get("comment"):
        attrs["evaluation_comment"] = str(params["comment"])[:2000]


_ESCALATE = """
WITH due AS (
    SELECT e.id, e.status,
           LEAST(:top, FLOOR(gridgov_elapsed(e.due_at, CAST(:now AS timestamptz),
                                             gridgov_due_working(c, e.status),
                                             coalesce(e.street_code, e.community_code))
                             / :delay))::int AS target,
           coalesce((e.attributes->>'escalation_level')::int, 0) AS level
    FROM events e JOIN event_categories c ON c.id = e.category_id
    WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at IS NOT NULL
      AND e.due_at + make_interval(secs => :delay) <= CAST(:now AS timestamptz)
    FOR UPDATE OF e SKIP LOCKED
), moved AS (
    UPDATE events e
    SET attributes = e.attributes || jsonb_build_object(
            'escalation_level', d.target, 'escalated_to',
            (CAST(:levels AS text[]))[d.target + 1], 'overdue', true)
    FROM due d
    WHERE e.id = d.id AND d.target > d.level
    RETURNING e.id, d.status, d.target, d.level
), audit AS (
    INSERT INTO audit_log (actor, action, object_type, object_id, before, after, details)
    SELECT 'system', 'event.action.escalate', 'event', CAST(id AS text),
           jsonb_build_object('status', status, 'escalation_level', level),
           jsonb_build_object('status', status, 'escalation_level', target),
           jsonb_build_object('reason', 'overdue')
    FROM moved ORDER BY id
)
INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, at)
SELECT id, 'escalate', status, status, 'system',
       'overdue: escalated to ' || (CAST(:levels AS text[]))[target + 1], :now
FROM moved
RETURNING event_id
"""


def escalate_overdue(session: Session, now: datetime, delay: timedelta) -> list[int]:
    """Escalate open events overdue by at least ``delay``; return the ids escalated.

    An open event ``k * delay`` past its due time (counted on the clock of its
    step: working time for a working-time limit, ``api.calendar.deadlines``)
    is escalated to level ``k``
    (1 street, 2 district, 3 city; level 0 is the community); each step writes
    an ``escalate`` history row by ``system``. Running it twice changes nothing
    the second time. The caller commits.
    """
    if delay.total_seconds() <= 0:
        raise InvalidInput("parameter 'delay': must be positive")
    rows = session.execute(text(_ESCALATE), {
        "now": now, "delay": delay.total_seconds(), "top": len(ESCALATION_LEVELS) - 1,
        "open": list(OPEN_STATUSES), "levels": list(ESCALATION_LEVELS)}).scalars().all()
    escalated = sorted(int(r) for r in rows)
    notify(session, [(i, "overdue") for i in escalated])
    return escalated
