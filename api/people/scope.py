"""Who may see which persons: the one home of the people archive's roles and scope SQL.

A person is in a user's scope when one of their places is (checked in SQL):

- the building of a current residence (any kind) lies in one of the user's
  grids of a residence layer (every layer whose kind is not ``registration``),
  or in one of their communities;
- the building of their registered address lies in one of the user's grids of
  a ``registration`` layer (户籍网格), or in one of their communities.

So the worker of the old village's registration grid and the worker of the
building where the person lives now both find them. Admins, and dispatchers
without areas or grids, see every person; handlers and analysts see no
individual person (analysts read aggregates).
"""

from __future__ import annotations

from typing import Any

from api.auth.principal import Principal
from api.errors import APIError
from api.people.models import REGISTRATION_LAYER_KIND

#: roles that read the archive (masked) within their scope
READ_ROLES = ("admin", "dispatcher", "grid_worker")
#: roles that write persons, residences, organisations, tags and visits within their scope
WRITE_ROLES = ("admin", "grid_worker")
#: roles that may unmask a person's fields, with a reason (audited)
UNMASK_ROLES = ("admin", "grid_worker")
#: roles that read the visit KPIs and aggregate statistics
STATS_ROLES = ("admin", "dispatcher", "grid_worker")

#: a residence row ``r`` that holds today
CURRENT_RESIDENCE = ("r.from_date <= CURRENT_DATE AND "
                     "(r.to_date IS NULL OR r.to_date > CURRENT_DATE)")
#: a grid row ``g`` valid now
CURRENT_GRID = ("(g.valid_from IS NULL OR g.valid_from <= now()) AND "
                "(g.valid_to IS NULL OR g.valid_to > now())")


def _grid_buildings(registration: bool, prefix: str = "ps") -> str:
    kind = "=" if registration else "<>"
    return ("SELECT b.id FROM grids g JOIN grid_layers l ON l.id = g.layer_id "  # noqa: S608
            "JOIN buildings b ON b.geom && g.geom "
            "AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom)) "
            f"WHERE g.code = ANY(CAST(:{prefix}_grids AS text[])) AND {CURRENT_GRID} "
            f"AND l.kind {kind} '{REGISTRATION_LAYER_KIND}'")


def _area_buildings(prefix: str) -> str:
    return ("SELECT b.id FROM buildings b "  # noqa: S608
            f"WHERE b.community_code = ANY(CAST(:{prefix}_areas AS text[]))")


def _lives_in(alias: str, buildings: str) -> str:
    return (f"EXISTS (SELECT 1 FROM residences r JOIN rooms ro ON ro.id = r.room_id "  # noqa: S608
            f"WHERE r.person_id = {alias}.id AND {CURRENT_RESIDENCE} "
            f"AND ro.building_id IN ({buildings}))")


def person_sql(principal: Principal, alias: str = "p", prefix: str = "ps"
               ) -> tuple[str, dict[str, Any]]:
    """A boolean SQL condition on the persons table ``alias`` and its parameters.

    ``prefix`` names the parameters (two conditions in one statement need two).

    Examples
    --------
    >>> person_sql(Principal(1, "a", "admin"))
    ('TRUE', {})
    >>> person_sql(Principal(1, "h", "handler"))
    ('FALSE', {})
    >>> sql, params = person_sql(Principal(1, "w", "grid_worker", grids=("G1",)))
    >>> params, "registered_building_id" in sql
    ({'ps_grids': ['G1']}, True)
    """
    if principal.role not in READ_ROLES:
        return "FALSE", {}
    if principal.sees_everything:
        return "TRUE", {}
    parts: list[str] = []
    params: dict[str, Any] = {}
    if principal.areas:
        params[f"{prefix}_areas"] = list(principal.areas)
        parts += [f"{alias}.registered_building_id IN ({_area_buildings(prefix)})",
                  _lives_in(alias, _area_buildings(prefix))]
    if principal.grids:
        params[f"{prefix}_grids"] = list(principal.grids)
        parts += [f"{alias}.registered_building_id IN ({_grid_buildings(True, prefix)})",
                  _lives_in(alias, _grid_buildings(False, prefix))]
    return (f"({' OR '.join(parts)})" if parts else "FALSE"), params


def building_sql(principal: Principal, alias: str = "b") -> tuple[str, dict[str, Any]]:
    """A boolean SQL condition on the buildings table ``alias``: the building is in scope.

    A building is in scope when it lies in one of the user's communities or grids
    (any layer). Persons listed at a building are filtered by :func:`person_sql` too.
    """
    if principal.role not in READ_ROLES:
        return "FALSE", {}
    if principal.sees_everything:
        return "TRUE", {}
    parts: list[str] = []
    params: dict[str, Any] = {}
    if principal.areas:
        params["ps_areas"] = list(principal.areas)
        parts.append(f"{alias}.community_code = ANY(CAST(:ps_areas AS text[]))")
    if principal.grids:
        params["ps_grids"] = list(principal.grids)
        parts.append(f"{alias}.id IN ({_grid_buildings(True)} UNION "
                     f"{_grid_buildings(False)})")
    return (f"({' OR '.join(parts)})" if parts else "FALSE"), params


def check_unmask(principal: Principal, reason: str | None) -> str:
    """The reason of an unmasking; 403 for a role that may not, 422 without a reason."""
    if principal.role not in UNMASK_ROLES:
        raise APIError(403, "forbidden", f"role {principal.role!r} may not unmask personal "
                       f"data; roles allowed: {', '.join(UNMASK_ROLES)}")
    if reason is None or len(reason.strip()) < 4:
        raise APIError(422, "reason_required", "field 'reason': say why you need the clear "
                       "values (at least 4 characters); it is written to the audit log",
                       field="reason")
    return reason.strip()


#: (person_id, layer, grid code) of every person in every grid layer named ``:layer``
#: (all layers when NULL): by residence in residence layers, by registered address in
#: registration layers; the membership rule of the module docstring as rows
PERSON_GRIDS = f"""
SELECT r.person_id, l.name AS layer, g.code AS grid
FROM residences r JOIN rooms ro ON ro.id = r.room_id
JOIN grids g ON {CURRENT_GRID}
JOIN grid_layers l ON l.id = g.layer_id AND l.kind <> '{REGISTRATION_LAYER_KIND}'
JOIN buildings b ON b.id = ro.building_id AND b.geom && g.geom
     AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
WHERE {CURRENT_RESIDENCE} AND (CAST(:layer AS text) IS NULL OR l.name = :layer)
UNION
SELECT p.id, l.name, g.code
FROM persons p JOIN buildings b ON b.id = p.registered_building_id
JOIN grids g ON b.geom && g.geom AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))
     AND {CURRENT_GRID}
JOIN grid_layers l ON l.id = g.layer_id AND l.kind = '{REGISTRATION_LAYER_KIND}'
WHERE CAST(:layer AS text) IS NULL OR l.name = :layer
"""  # noqa: S608
