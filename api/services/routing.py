"""Which department handles an event: routing rules, then the category's default.

A rule says "events of category C in area A go to department D". The area is a
grid (any layer), a community or a street; the category is a minor code
(``0101``) or a major code (``01``). The most specific rule wins: first by
area (grid before community before street), then by category (minor before
major), then the oldest rule. Without a rule, the category's default
department handles the event.

The same precedence is written once as SQL (``RULE_ORDER``) and used both for
one event at intake and for a whole batch in ``route_events`` (bulk import).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

RULE_ORDER = ("CASE r.scope WHEN 'grid' THEN 0 WHEN 'community' THEN 1 ELSE 2 END, "
              "(r.category_code = c.code) DESC, r.id")

_ONE = f"""
SELECT r.department_id
FROM routing_rules r, event_categories c
WHERE c.id = :category_id
  AND r.category_code IN (c.code, c.major_code)
  AND ((r.scope = 'grid' AND r.scope_code = ANY(CAST(:grids AS text[])))
       OR (r.scope = 'community' AND r.scope_code = :community)
       OR (r.scope = 'street' AND r.scope_code = :street))
ORDER BY {RULE_ORDER}
LIMIT 1
"""

_MANY = f"""
UPDATE events e
SET department_id = coalesce((
        SELECT r.department_id
        FROM routing_rules r
        WHERE r.category_code IN (c.code, c.major_code)
          AND ((r.scope = 'grid' AND r.scope_code IN (
                    SELECT coalesce(v.value #>> '{{}}', '')
                    FROM jsonb_each(e.grids) AS v
                    WHERE jsonb_typeof(v.value) = 'string'
                    UNION ALL
                    SELECT a.code FROM jsonb_each(e.grids) AS v,
                         jsonb_array_elements_text(
                             CASE WHEN jsonb_typeof(v.value) = 'array' THEN v.value
                                  ELSE '[]'::jsonb END) AS a(code)))
               OR (r.scope = 'community' AND r.scope_code = e.community_code)
               OR (r.scope = 'street' AND r.scope_code = e.street_code))
        ORDER BY {RULE_ORDER}
        LIMIT 1), c.department_id)
FROM event_categories c
WHERE c.id = e.category_id AND ({{where}})
"""


def grid_codes(grids: dict[str, Any]) -> list[str]:
    """Every grid code of an event's ``grids`` mapping (layer -> code or list of codes).

    Examples
    --------
    >>> grid_codes({"basic": "A1", "schools": ["S1", "S2"], "empty": None})
    ['A1', 'S1', 'S2']
    """
    out: list[str] = []
    for value in grids.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v) for v in value)
    return out


def route(session: Session | Connection, *, category_id: int, grids: dict[str, Any],
          community_code: str | None, street_code: str | None,
          default_department_id: int | None) -> int | None:
    """The department id for one event (a rule's, else ``default_department_id``)."""
    found = session.execute(text(_ONE), {
        "category_id": category_id, "grids": grid_codes(grids),
        "community": community_code, "street": street_code}).scalar_one_or_none()
    return int(found) if found is not None else default_department_id


def route_events(conn: Connection | Session, where: str = "TRUE") -> int:
    """Set ``department_id`` of the events matching ``where`` (trusted SQL on ``events e``)."""
    result = conn.execute(text(_MANY.format(where=where)))
    return int(getattr(result, "rowcount", 0))
