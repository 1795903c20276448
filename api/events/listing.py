"""The staff list of events: a page of GeoJSON features of the reader's scope, filtered.

The scope is a condition in SQL (:meth:`Principal.event_sql`), so the count and
the page only ever see events the reader may see. The features come from the
shared builder of :mod:`layers.features`; the list is not the ``events`` map
layer, whose properties are public and whose id is the row's: it shows staff the
event id, the grids, the department and the duplicate an event was merged into.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from api.auth.principal import Principal
from api.geojson import bbox_condition
from layers.declaration import LayerProperty
from layers.features import FeatureSet

P = LayerProperty

#: the list's features: no personal data (reporters, descriptions), by event id
EVENTS = FeatureSet("events AS t JOIN event_categories AS c ON c.id = t.category_id", "t.id", (
    P(name="id"), P(name="status"), P(name="category", sql="c.code"), P(name="channel"),
    P(name="grids"), P(name="community_code"), P(name="street_code"),
    P(name="department", sql="(SELECT d.code FROM departments AS d "
                             "WHERE d.id = t.department_id)"),
    P(name="reported_at"), P(name="due_at"), P(name="closed_at"),
    P(name="duplicate_of", sql="t.attributes -> 'duplicate_of'")), "t.geom")

#: the event's grids hold ``:grid`` in some layer (``{"layer": "code"}`` or a list of codes)
IN_GRID = ("EXISTS (SELECT 1 FROM jsonb_each(t.grids) v WHERE v.value = "
           "to_jsonb(CAST(:grid AS text)) OR v.value @> jsonb_build_array(CAST(:grid AS text)))")


def event_filters(status: str | None, category: str | None, grid: str | None,
                  bbox: str | None, start: datetime | None, end: datetime | None
                  ) -> tuple[list[str], dict[str, Any]]:
    """The conditions of the list's query parameters (each one given) and their values.

    ``status`` is one status or several separated by commas, ``category`` a minor or
    major category code, ``grid`` a grid code of any layer, ``start``/``end`` bound
    the report time (from inclusive, to exclusive).
    """
    where, box = bbox_condition(bbox)
    params: dict[str, Any] = dict(box)
    if status:
        where.append("t.status = ANY(CAST(:statuses AS text[]))")
        params["statuses"] = [s.strip() for s in status.split(",") if s.strip()]
    if category:
        where.append("c.code = :category OR c.major_code = :category")
        params["category"] = category
    if grid:
        where.append(IN_GRID)
        params["grid"] = grid
    if start:
        where.append("t.reported_at >= :start")
        params["start"] = start
    if end:
        where.append("t.reported_at < :end")
        params["end"] = end
    return where, params


def event_page(conn: Connection, principal: Principal, where: list[str],
               params: dict[str, Any], *, limit: int, offset: int
               ) -> tuple[list[dict[str, Any]], int]:
    """The newest events first of ``principal``'s scope meeting ``where``, and their number."""
    scope, scope_params = principal.event_sql("t")
    return EVENTS.page(conn, [scope, *where], {**scope_params, **params}, order="t.id DESC",
                       limit=limit, offset=offset)
