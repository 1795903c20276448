"""Escalation queues and trails, read from the events, the audit chain and the outbox.

An event at escalation level ``k`` (0 community, 1 street, 2 district, 3 city;
``api.events.lifecycle``) belongs to the queue of the people responsible for
its area at that level (``api.notify.outbox.RESPONSIBLE`` on
``gridgov_level_area``): the same people the escalation notified. Its trail is
the ``event.action.escalate`` rows of the audit chain (manual and automatic
steps alike, append-only), each with the area of the level reached and the
people told of it (the notifications of that level written in that step's
transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.events.lifecycle import ESCALATION_LEVELS
from api.notify.outbox import RESPONSIBLE, level_area_sql
from layers.vocabulary import OPEN_STATUSES

_LEVEL = "coalesce((e.attributes->>'escalation_level')::int, 0)"

_QUEUE = text(f"""
SELECT e.id, e.status, c.code AS category, e.address, e.due_at, {_LEVEL} AS level,
       {level_area_sql("e")} AS area_code
FROM events e JOIN event_categories c ON c.id = e.category_id
JOIN users u ON u.id = :me
WHERE e.status = ANY(CAST(:open AS text[])) AND {_LEVEL} >= 1
  AND (u.role = 'admin' OR ({RESPONSIBLE.format(area=level_area_sql("e"))}))
ORDER BY level DESC, e.due_at NULLS LAST, e.id
LIMIT :limit
""")  # noqa: S608

_AFTER = "coalesce((a.after->>'escalation_level')::int, 0)"
_TRAIL = text(f"""
SELECT a.at, a.actor, coalesce(a.details->>'reason', 'manual') AS reason,
       coalesce((a.before->>'escalation_level')::int, 0) AS from_level,
       {_AFTER} AS to_level, ar.code AS area_code, ar.name AS area_name,
       ARRAY(SELECT DISTINCT u.name FROM notifications n
             JOIN user_channels ch ON ch.id = n.user_channel_id
             JOIN users u ON u.id = ch.user_id
             WHERE n.event_id = e.id AND n.kind IN ('overdue', 'escalated')
               AND n.created_at = a.at
               AND n.payload->>'level' = CAST({_AFTER} AS text)) AS notified
FROM audit_log a JOIN events e ON e.id = :id
LEFT JOIN admin_areas ar ON ar.code = {level_area_sql("e", _AFTER)}
WHERE a.action = 'event.action.escalate' AND a.object_type = 'event'
  AND a.object_id = CAST(:id AS text)
ORDER BY a.id
""")  # noqa: S608

_NOW = text(f"""
SELECT {_LEVEL} AS level, {level_area_sql("e")} AS area_code
FROM events e WHERE e.id = :id
""")  # noqa: S608


def queue(session: Session, user_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The open escalated cases user ``user_id`` is responsible for (admins: all), top first."""
    rows = session.execute(_QUEUE, {"me": user_id, "open": list(OPEN_STATUSES),
                                    "limit": limit}).mappings()
    return [_named(_plain(r)) for r in rows]


def trail(session: Session, event_id: int) -> dict[str, Any]:
    """Where an event stands and every step of its climb, oldest first, with who was told."""
    now = _named(_plain(session.execute(_NOW, {"id": event_id}).mappings().one()))
    steps = []
    for r in session.execute(_TRAIL, {"id": event_id}).mappings():
        step = _plain(r)
        step["notified"] = sorted(step["notified"])
        step["to_level_name"] = ESCALATION_LEVELS[step["to_level"]]
        steps.append(step)
    return {"event_id": event_id, **now, "steps": steps}


def _named(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "level_name": ESCALATION_LEVELS[row["level"]]}


def _plain(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
