"""The texts of notifications: per kind and language, a category's own before the default.

Templates live in ``notify_templates`` (seeded by migration 0017 in Chinese and
English); a row with a ``category_code`` (a category or its major code) beats
the default row of its kind. Placeholders are ``string.Template``'s
(``$id``, ``$category``, ``$address``, ``$status``, ``$level``, ``$due_at``,
``$track_url``: the resident's tracking page ``/t/<token>`` under
``GRIDGOV_PUBLIC_BASE_URL``), so a template cannot reach anything but these values.
A message about no event (``visit_due``, ``anomaly``, ``forwarded`` of a report
forwarded at intake) takes its values from the notification's ``payload``
(:func:`render_payload`); one about an event adds its payload's values to the
event's. Admins set the texts through :mod:`api.notify.texts`.
"""

from __future__ import annotations

from datetime import tzinfo
from string import Template
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from layers.vocabulary import ESCALATION_LEVELS

LEVEL_NAMES = {"zh": ("社区", "街道", "区", "市"), "en": ESCALATION_LEVELS}

_CONTEXT = text("""
SELECT e.id, e.status, e.address, e.public_token, e.due_at, c.code AS category_code,
       c.major_code, c.name AS category,
       coalesce((e.attributes->>'escalation_level')::int, 0) AS level,
       t.subject, t.body
FROM events e JOIN event_categories c ON c.id = e.category_id
JOIN LATERAL (
    SELECT subject, body FROM notify_templates
    WHERE kind = :kind AND language = :language
      AND (category_code IS NULL OR category_code IN (c.code, c.major_code))
    ORDER BY category_code = c.code DESC NULLS LAST, category_code IS NULL
    LIMIT 1) t ON TRUE
WHERE e.id = :event_id
""")


def render(conn: Connection, event_id: int, kind: str, language: str, base_url: str,
           tz: tzinfo, payload: dict[str, Any] | None = None) -> tuple[str, str] | None:
    """The subject and body of ``kind`` for ``event_id`` in ``language`` (None: no template).

    ``payload``'s values (e.g. ``forwarded``'s ``$neighbour``) join the event's.
    """
    row = conn.execute(_CONTEXT, {"event_id": event_id, "kind": kind,
                                  "language": language}).mappings().one_or_none()
    if row is None:
        return None
    values = {**_strings(payload or {}), **fields(row, language, base_url, tz)}
    return (Template(row["subject"]).safe_substitute(values),
            Template(row["body"]).safe_substitute(values))


_PAYLOAD_TEMPLATE = text("""
SELECT subject, body FROM notify_templates
WHERE kind = :kind AND language = :language AND category_code IS NULL
""")


def render_payload(conn: Connection, kind: str, language: str,
                   payload: dict[str, Any]) -> tuple[str, str] | None:
    """The subject and body of a message about no event, from its ``payload``'s values."""
    row = conn.execute(_PAYLOAD_TEMPLATE, {"kind": kind, "language": language}).one_or_none()
    if row is None:
        return None
    values = _strings(payload)
    return Template(row[0]).safe_substitute(values), Template(row[1]).safe_substitute(values)


def _strings(payload: dict[str, Any]) -> dict[str, str]:
    return {k: "-" if v is None else str(v) for k, v in payload.items()}


def fields(row: Any, language: str, base_url: str,
           tz: tzinfo = ZoneInfo("Asia/Shanghai")) -> dict[str, str]:
    """The placeholder values of one event.

    Examples
    --------
    >>> row = {"id": 7, "category": "占道经营", "address": None, "status": "dispatched",
    ...        "level": 1, "due_at": None, "public_token": "abc"}
    >>> fields(row, "zh", "https://grid.example.cn")["track_url"]
    'https://grid.example.cn/t/abc'
    >>> fields(row, "en", "")["level"]
    'street'
    """
    names = LEVEL_NAMES.get(language, ESCALATION_LEVELS)
    due = row["due_at"]
    return {"id": str(row["id"]), "category": row["category"] or "",
            "address": row["address"] or "-", "status": row["status"],
            "level": names[min(int(row["level"]), len(names) - 1)],
            "due_at": due.astimezone(tz).strftime("%Y-%m-%d %H:%M") if due is not None else "-",
            "track_url": f"{base_url.rstrip('/')}/t/{row['public_token']}"}
