"""Where a report would go, without storing anything: grids, area, department, rule, deadlines.

:func:`preview` locates a point (or a building code, or an address) as intake
does (``api.events.intake.resolve_place``), assigns it to a grid in every
layer with the app's grid lookup, and routes it by the statement fragments of
``api.events.routing`` that intake runs, so the department it answers is the
one intake would assign for the same point, category and time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.calendar.deadlines import step_deadlines
from api.events.places import grid_dicts, resolve_place
from api.events.routing import (
    BASIC_LAYERS_SQL,
    COMMUNITY_SQL,
    INSIDE_SQL,
    MATCHING_RULE_SQL,
    STREET_SQL,
    grid_codes,
)
from api.grids.lookup import GridLookup
from gis_core.errors import InvalidInput, OutsideJurisdiction

_ROUTE = f"""
WITH input AS (
    SELECT CAST(:grids AS jsonb) AS grids, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom
), cat AS (
    SELECT id, code, major_code, name, name_en, department_id, time_limit_hours
    FROM event_categories WHERE code = :category
), basic AS ({BASIC_LAYERS_SQL}), place AS (
    SELECT {INSIDE_SQL.format(names="bs.names", grids="i.grids")} AS inside,
           {COMMUNITY_SQL.format(names="bs.names", grids="i.grids")} AS community_code,
           coalesce(CAST(:building_id AS int),
                    (SELECT b.id FROM buildings b WHERE ST_Covers(b.geom, i.geom)
                     ORDER BY b.id LIMIT 1)) AS building_id
    FROM basic bs, input i
), area AS (
    SELECT p.*, {STREET_SQL.format(community="p.community_code")} AS street_code FROM place p
)
SELECT c.code AS category, c.name AS category_name, c.name_en AS category_name_en,
       c.time_limit_hours, a.inside, a.community_code, a.street_code,
       cm.name AS community_name, st.name AS street_name, b.code AS building_code,
       m.id AS rule_id, m.scope AS rule_scope, m.scope_code AS rule_scope_code,
       m.category_code AS rule_category, d.code AS department_code,
       d.name AS department_name
FROM area a
LEFT JOIN cat c ON TRUE
LEFT JOIN LATERAL ({MATCHING_RULE_SQL}) m ON TRUE
LEFT JOIN departments d ON d.id = coalesce(m.department_id, c.department_id)
LEFT JOIN admin_areas cm ON cm.code = a.community_code
LEFT JOIN admin_areas st ON st.code = a.street_code
LEFT JOIN buildings b ON b.id = a.building_id
"""  # noqa: S608 - SQL from trusted parts; values bound


def _steps(session: Session, category: str, at: datetime, area: str | None
           ) -> list[dict[str, Any]]:
    """Each step's limit and its deadline if it started at ``at``.

    On the district's calendar (:func:`api.calendar.deadlines.step_deadlines`,
    the rule intake uses).
    """
    return [{"step": s["step"], "time_limit_hours": s["hours"], "working": s["working"],
             "due_at": s["due_at"].isoformat() if s["due_at"] is not None else None}
            for s in step_deadlines(session, category, at, area)]


def _area(code: str | None, name: str | None) -> dict[str, Any] | None:
    return {"code": code, "name": name} if code else None


def preview(session: Session, lookup: GridLookup, *, category: str,
            lon: float | None = None, lat: float | None = None, x: float | None = None,
            y: float | None = None, crs: str = "EPSG:4326", building_code: str | None = None,
            address: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Route a report of ``category`` at a location and time ``at`` (default now).

    Raises
    ------
    InvalidInput
        ``unknown_category``, or a location intake would refuse.
    OutsideJurisdiction
        When no grid of the basic layer holds the point.
    """
    if at is not None and at.utcoffset() is None:
        raise InvalidInput("field 'at': give the time with its offset (2026-12-01T09:00+08:00)",
                           code="invalid_field", field="at")
    at = at or datetime.now(UTC)
    place = resolve_place(session, lon=lon, lat=lat, x=x, y=y, crs=crs,
                          building_code=building_code, address=address)
    grids = grid_dicts(lookup.assign(np.array([place.lon]), np.array([place.lat]), at=at))[0]
    row = session.execute(text(_ROUTE), {
        "grids": json.dumps(grids, ensure_ascii=False), "codes": grid_codes(grids),
        "category": category, "lon": place.lon, "lat": place.lat,
        "building_id": place.building_id}).mappings().one()
    if row["category"] is None:
        raise InvalidInput(f"field 'category': no category with code {category!r} "
                           "(see GET /api/v1/categories)", code="unknown_category",
                           field="category")
    if not row["inside"]:
        raise OutsideJurisdiction(f"the location ({place.lon:.6f}, {place.lat:.6f}) is "
                                  "outside every grid of the jurisdiction",
                                  lon=place.lon, lat=place.lat)
    steps = _steps(session, category, at, row["street_code"] or row["community_code"])
    return _answer(row, place.lon, place.lat, grids, at, steps)


def _answer(row: Any, lon: float, lat: float, grids: dict[str, Any], at: datetime,
            steps: list[dict[str, Any]]) -> dict[str, Any]:
    rule = ({"id": row["rule_id"], "kind": row["rule_scope"], "scope_code": row["rule_scope_code"],
             "category": row["rule_category"]} if row["rule_id"] is not None else None)
    matched = "rule" if rule else ("category_default" if row["department_code"] else "none")
    return {
        "location": {"lon": lon, "lat": lat}, "at": at.isoformat(),
        "building_code": row["building_code"], "grids": grids,
        "community": _area(row["community_code"], row["community_name"]),
        "street": _area(row["street_code"], row["street_name"]),
        "category": {"code": row["category"], "name": row["category_name"],
                     "name_en": row["category_name_en"]},
        "department": _area(row["department_code"], row["department_name"]),
        "rule": rule, "matched_by": matched,
        "steps": steps,
    }
