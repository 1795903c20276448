"""Population aggregates per grid and per building, small counts suppressed when needed.

Counted: residents, households, organisations and persons in special populations.
Staff who read the archive (:data:`~api.people.scope.READ_ROLES`) get the exact
counts of the persons of their scope. Any other reader (analysts) gets the counts
of the whole territory with every count from 1 to 4 shown as ``"<5"``, so no
small group of residents can be singled out. No personal field is ever part of
an aggregate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.errors import APIError
from api.people.scope import (
    CURRENT_GRID,
    CURRENT_RESIDENCE,
    PERSON_GRIDS,
    READ_ROLES,
    building_sql,
    person_sql,
)
from layers.population import grid_counts_sql

#: counts below this (and above 0) are shown as "<5" to readers without a people scope
SUPPRESS_BELOW = 5
MEASURES = ("residents", "households", "organisations", "special")

_SPECIAL = ("EXISTS (SELECT 1 FROM person_tags pt WHERE pt.person_id = p.id AND "
            "pt.since <= CURRENT_DATE AND (pt.until IS NULL OR pt.until > CURRENT_DATE))")


def suppressed(value: int) -> int | str:
    """``"<5"`` for 1 to 4, the count otherwise.

    Examples
    --------
    >>> suppressed(0), suppressed(3), suppressed(5)
    (0, '<5', 5)
    """
    return "<5" if 0 < value < SUPPRESS_BELOW else value


def _scopes(principal: Principal) -> tuple[str, str, dict[str, Any], bool]:
    if principal.role in READ_ROLES:
        pcond, params = person_sql(principal)
        bcond, bparams = building_sql(principal)
        return pcond, bcond, {**params, **bparams}, False
    return "TRUE", "TRUE", {}, True


def _by_grid(pcond: str, bcond: str) -> str:
    return f"""
WITH pg AS ({PERSON_GRIDS}),
people AS (
  SELECT pg.grid AS key, count(DISTINCT p.id) AS residents,
         count(DISTINCT p.household_id) AS households,
         count(DISTINCT p.id) FILTER (WHERE {_SPECIAL}) AS special
  FROM pg JOIN persons p ON p.id = pg.person_id AND {pcond} GROUP BY 1),
orgs AS (
  SELECT g.code AS key, count(*) AS organisations FROM organisations o
  JOIN buildings b ON b.id = o.building_id AND {bcond}
  JOIN grids g ON g.geom && b.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
       AND {CURRENT_GRID}
  JOIN grid_layers l ON l.id = g.layer_id AND l.name = :layer GROUP BY 1)
SELECT COALESCE(people.key, orgs.key) AS key, COALESCE(residents, 0) AS residents,
       COALESCE(households, 0) AS households, COALESCE(organisations, 0) AS organisations,
       COALESCE(special, 0) AS special
FROM people FULL JOIN orgs ON orgs.key = people.key ORDER BY 1"""  # noqa: S608


#: every grid of the layer ``:layer``, current, from the kept counts (readers who see the
#: whole territory); grids with neither residents nor organisations are left out
_BY_GRID_KEPT = f"""
SELECT g.code AS key, n.residents, n.households, n.organisations, n.special
FROM grids g JOIN grid_layers l ON l.id = g.layer_id AND l.name = :layer
CROSS JOIN LATERAL {grid_counts_sql("g")} AS n
WHERE {CURRENT_GRID} AND (n.residents > 0 OR n.organisations > 0) ORDER BY 1"""  # noqa: S608


def _by_building(pcond: str, bcond: str) -> str:
    return f"""
WITH people AS (
  SELECT b.code AS key, count(DISTINCT p.id) AS residents,
         count(DISTINCT p.household_id) AS households,
         count(DISTINCT p.id) FILTER (WHERE {_SPECIAL}) AS special
  FROM residences r JOIN rooms ro ON ro.id = r.room_id
  JOIN buildings b ON b.id = ro.building_id JOIN persons p ON p.id = r.person_id
  WHERE {CURRENT_RESIDENCE} AND {pcond} GROUP BY 1),
orgs AS (
  SELECT b.code AS key, count(*) AS organisations FROM organisations o
  JOIN buildings b ON b.id = o.building_id WHERE {bcond} GROUP BY 1)
SELECT COALESCE(people.key, orgs.key) AS key, COALESCE(residents, 0) AS residents,
       COALESCE(households, 0) AS households, COALESCE(organisations, 0) AS organisations,
       COALESCE(special, 0) AS special
FROM people FULL JOIN orgs ON orgs.key = people.key ORDER BY 1"""  # noqa: S608


def population_counts(session: Session, principal: Principal, *, by: str = "grid",
                      layer: str = "basic") -> dict[str, Any]:
    """Residents, households, organisations and special-population counts per grid/building."""
    if by not in ("grid", "building"):
        raise APIError(422, "invalid_parameter", "parameter 'by': grid or building",
                       field="by")
    pcond, bcond, params, suppress = _scopes(principal)
    if by == "building":
        sql = _by_building(pcond, bcond)
    elif pcond == "TRUE" and bcond == "TRUE":
        sql = _BY_GRID_KEPT
    else:
        sql = _by_grid(pcond, bcond)
    rows = session.execute(text(sql), {**params, "layer": layer}).mappings().all()
    items = [{by: r["key"], **{m: suppressed(int(r[m])) if suppress else int(r[m])
                               for m in MEASURES}} for r in rows]
    return {"by": by, "layer": layer if by == "grid" else None, "suppressed": suppress,
            "items": items}
