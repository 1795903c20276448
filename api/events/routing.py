"""Which department handles an event: routing rules, then the category's default.

A rule says "events of category C in area A go to department D". The area is a
grid (any layer), a community or a street; the category is a minor code
(``0101``) or a major code (``01``). The most specific rule wins: first by
area (grid before community before street), then by category (minor before
major), then the oldest rule. Without a rule, the category's default
department handles the event.

Where a point is, for routing: its community is the community of its grid in
the basic layer (the exclusive layer of kind ``basic``, else every exclusive
layer), the current version of that grid first; its street is the
community's parent area, else the first 9 digits of the community code.

This module is the one home of these rules, written once as SQL fragments:
intake (``api.events.intake``), the batch import (:func:`route_rows`) and
the routing preview (``api.catalogue.preview``) build their statements from
them, so a preview answers what intake and an import do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

#: the names of the basic layers (text[]): exclusive layers of kind 'basic', else all exclusive
BASIC_LAYERS_SQL = """
SELECT coalesce(array_agg(name) FILTER (WHERE kind = 'basic'), array_agg(name),
                ARRAY[]::text[]) AS names
FROM grid_layers WHERE exclusive
"""

#: whether a point is in the jurisdiction: a grid of a basic layer (``{names}``) holds it
#: (without basic layers: any grid); ``{grids}`` its grids (jsonb)
INSIDE_SQL = """
CASE WHEN cardinality({names}) = 0 THEN {grids} <> '{{}}'::jsonb
     ELSE EXISTS (SELECT 1 FROM unnest({names}) n WHERE jsonb_typeof({grids} -> n) = 'string')
END
"""

#: the community of a point: ``{grids}`` its grids (jsonb), ``{names}`` the basic layers
COMMUNITY_SQL = """
(SELECT g.community_code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
 WHERE l.name = ANY({names}) AND g.code = {grids} ->> l.name
   AND g.community_code IS NOT NULL
 ORDER BY g.valid_to IS NULL DESC LIMIT 1)
"""

#: the street of a community code ``{community}``
STREET_SQL = ("coalesce((SELECT parent_code FROM admin_areas WHERE code = {community}), "
              "left({community}, 9))")

#: the precedence of the rules ``r`` that fit an event of category ``c``
RULE_ORDER = ("CASE r.scope WHEN 'grid' THEN 0 WHEN 'community' THEN 1 ELSE 2 END, "
              "(r.category_code = c.code) DESC, r.id")

#: the rule that routes an event: ``c`` its category (code, major_code), ``a`` its area
#: (community_code, street_code), ``{codes}`` its grid codes (text[], default the parameter
#: ``:codes``); id, scope, scope_code, category_code, department_id
MATCHING_RULE = f"""
SELECT r.id, r.scope, r.scope_code, r.category_code, r.department_id
FROM routing_rules r
WHERE r.category_code IN (c.code, c.major_code)
  AND ((r.scope = 'grid' AND r.scope_code = ANY({{codes}}))
       OR (r.scope = 'community' AND r.scope_code = a.community_code)
       OR (r.scope = 'street' AND r.scope_code = a.street_code))
ORDER BY {RULE_ORDER}
LIMIT 1
"""  # noqa: S608 - SQL from trusted parts; values bound
MATCHING_RULE_SQL = MATCHING_RULE.format(codes="CAST(:codes AS text[])")

#: the department of many events at once: the arrays ``:category`` (ids), ``:codes`` (a JSON
#: array of each event's grid codes), ``:community`` and ``:street``, in order
_ROUTE_ROWS = f"""
SELECT coalesce(m.department_id, c.department_id) AS department_id
FROM unnest(CAST(:category AS int[]), CAST(:community AS text[]), CAST(:street AS text[]))
     WITH ORDINALITY AS a(category_id, community_code, street_code, ord)
JOIN jsonb_array_elements(CAST(:codes AS jsonb)) WITH ORDINALITY AS j(codes, ord)
     ON j.ord = a.ord
JOIN event_categories c ON c.id = a.category_id
LEFT JOIN LATERAL ({MATCHING_RULE.format(
    codes="ARRAY(SELECT jsonb_array_elements_text(j.codes))")}) m ON TRUE
ORDER BY a.ord
"""  # noqa: S608 - SQL from trusted parts; values bound


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
        elif isinstance(value, list | tuple | np.ndarray):
            out.extend(str(v) for v in value)
    return out


def route_rows(conn: Connection, category_ids: Sequence[int], codes: Sequence[list[str]],
               community: Sequence[str | None], street: Sequence[str | None]
               ) -> list[int | None]:
    """The department of each of many events (batch import): the rule, else the default.

    The same statement fragment as intake's, one row per event: ``category_ids``,
    the grid ``codes`` of each event (:func:`grid_codes`), its ``community`` and
    ``street`` codes, all aligned.
    """
    rows = conn.execute(text(_ROUTE_ROWS), {
        "category": [int(c) for c in category_ids], "codes": json.dumps(list(codes)),
        "community": list(community), "street": list(street)}).scalars().all()
    return [int(d) if d is not None else None for d in rows]


_AREA_OF = f"""
WITH basic AS ({BASIC_LAYERS_SQL}), place AS (
    SELECT {COMMUNITY_SQL.format(names="b.names", grids="CAST(:grids AS jsonb)")} AS community
    FROM basic b
)
SELECT community, {STREET_SQL.format(community="community")} AS street FROM place
"""  # noqa: S608 - SQL from trusted parts; values bound


def area_of(conn: Connection | Session, grids: dict[str, Any]) -> tuple[str | None, str | None]:
    """The community and street of a point in ``grids`` (layer -> code), as intake finds them."""
    row = conn.execute(text(_AREA_OF), {"grids": json.dumps(grids)}).one()
    return row.community, row.street
