"""Event KPIs per grid, community, street, department or category, in one SQL query.

Definitions (events reported in ``[from, to)``; ``now`` is the time of the query):

- ``reported``: every event;
- ``registered``: events accepted as cases, i.e. not ``rejected`` and not ``duplicate``;
- ``closed``: events in status ``closed`` or ``evaluated``;
- ``closure_rate``: closed / registered (null when nothing is registered);
- ``on_time_closure_rate``: closed with ``closed_at <= due_at`` / closed;
- ``overdue`` (超期): open events (registered, dispatched, in_progress, handled, verified,
  returned) past their due time at ``now`` -- the dashboard's and the map's figure
  (``layers.vocabulary``; ``due_at``: the deadline of the event's step on its calendar,
  ``api.calendar.deadlines``; a paused event has none and is never overdue);
- ``closed_late``: closed events closed after their due time;
- ``median_hours_to_dispatch``: median of ``dispatched_at - reported_at`` in hours over
  dispatched events; ``median_hours_to_close``: median of ``closed_at - reported_at`` over
  closed events (``percentile_cont(0.5)``);
- ``dispatched``: events with a dispatch time; ``dispatch_on_target_rate``: the share of
  them dispatched within :data:`DISPATCH_TARGET_MINUTES` (10) of being reported
  (Baohe's discovery-to-dispatch target);
- ``mean_satisfaction``: mean of the residents' 1-5 scores over evaluated events.

With ``group_by=grid`` the key is the event's grid in ``layer`` (default: the exclusive
basic layer); in a non-exclusive layer an event counts once in each of its grids.
Events without a key (no grid, no department) form the group ``null``.
``total`` is the same figures over all events of the window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis_core.errors import InvalidInput
from layers.vocabulary import CLOSED_STATUSES, NOT_REGISTERED_STATUSES, overdue_sql, sql_in

#: the discovery-to-dispatch target (minutes) of ``dispatch_on_target_rate``
DISPATCH_TARGET_MINUTES = 10

GROUPS = ("grid", "community", "street", "department", "category")

_KEYS = {
    "grid": "g.key",
    "community": "e.community_code",
    "street": "e.street_code",
    "department": "d.code",
    "category": "c.code",
}

_GRID_JOIN = """
CROSS JOIN LATERAL jsonb_array_elements_text(CASE jsonb_typeof(e.grids -> :layer)
    WHEN 'array' THEN e.grids -> :layer
    WHEN 'string' THEN jsonb_build_array(e.grids -> :layer)
    ELSE '[null]'::jsonb END) AS g(key)
"""

#: the words of :mod:`layers.vocabulary` on the events ``e`` (trusted constants)
_WORDS = {"overdue": overdue_sql("e", ":now"), "closed": sql_in("e.status", CLOSED_STATUSES),
          "not_registered": sql_in("e.status", NOT_REGISTERED_STATUSES)}

_SQL = """
SELECT {key} AS key, GROUPING({key}) AS is_total,
  count(*) AS reported,
  count(*) FILTER (WHERE NOT {not_registered}) AS registered,
  count(*) FILTER (WHERE {closed}) AS closed,
  count(*) FILTER (WHERE {closed} AND e.closed_at <= e.due_at) AS closed_on_time,
  count(*) FILTER (WHERE {overdue}) AS overdue,
  count(*) FILTER (WHERE {closed} AND e.closed_at > e.due_at) AS closed_late,
  percentile_cont(0.5) WITHIN GROUP (
      ORDER BY EXTRACT(EPOCH FROM e.dispatched_at - e.reported_at) / 3600.0)
      FILTER (WHERE e.dispatched_at IS NOT NULL) AS median_hours_to_dispatch,
  percentile_cont(0.5) WITHIN GROUP (
      ORDER BY EXTRACT(EPOCH FROM e.closed_at - e.reported_at) / 3600.0)
      FILTER (WHERE {closed} AND e.closed_at IS NOT NULL)
      AS median_hours_to_close,
  count(e.dispatched_at) AS dispatched,
  count(*) FILTER (WHERE e.dispatched_at - e.reported_at
                         <= make_interval(mins => :dispatch_target)) AS dispatched_on_target,
  avg(e.satisfaction) FILTER (WHERE e.satisfaction IS NOT NULL) AS mean_satisfaction
FROM events e
JOIN event_categories c ON c.id = e.category_id
LEFT JOIN departments d ON d.id = e.department_id
{grid_join}
WHERE ({scope})
  AND (CAST(:start AS timestamptz) IS NULL OR e.reported_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR e.reported_at < :end)
GROUP BY GROUPING SETS (({key}), ())
ORDER BY GROUPING({key}), {key} NULLS LAST
"""


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    registered, closed = int(row["registered"]), int(row["closed"])
    dispatched = int(row["dispatched"])

    def num(value: Any) -> float | None:
        return float(value) if value is not None else None

    return {
        "reported": int(row["reported"]), "registered": registered, "closed": closed,
        "closure_rate": closed / registered if registered else None,
        "on_time_closure_rate": int(row["closed_on_time"]) / closed if closed else None,
        "overdue": int(row["overdue"]),
        "closed_late": int(row["closed_late"]),
        "median_hours_to_dispatch": num(row["median_hours_to_dispatch"]),
        "median_hours_to_close": num(row["median_hours_to_close"]),
        "mean_satisfaction": num(row["mean_satisfaction"]),
        "dispatched": dispatched,
        "dispatch_on_target_rate": (int(row["dispatched_on_target"]) / dispatched
                                    if dispatched else None),
    }


def event_kpis(session: Session, *, group_by: str, now: datetime,
               start: datetime | None = None, end: datetime | None = None,
               layer: str | None = None,
               scope: tuple[str, dict[str, Any]] = ("TRUE", {})) -> dict[str, Any]:
    """KPIs per group and in total (definitions in the module docstring).

    ``scope`` is a condition on the events ``e`` and its parameters
    (``Principal.event_sql("e")``): only those events are counted.
    """
    if group_by not in GROUPS:
        raise InvalidInput(f"parameter 'group_by': {group_by!r} is not one of "
                           f"{', '.join(GROUPS)}", code="invalid_parameter")
    if group_by == "grid":
        layers: dict[str, bool] = dict(session.execute(text(
            "SELECT name, kind = 'basic' AND exclusive FROM grid_layers ORDER BY id")).all())
        if layer is None:
            layer = next((n for n, basic in layers.items() if basic), next(iter(layers), None))
        if layer not in layers:
            raise InvalidInput(f"parameter 'layer': no grid layer {layer!r}; layers: "
                               f"{', '.join(layers)}", code="invalid_parameter")
    key = _KEYS[group_by]
    condition, scope_params = scope
    sql = _SQL.format(key=key, grid_join=_GRID_JOIN if group_by == "grid" else "",
                      scope=condition, **_WORDS)
    rows = session.execute(text(sql), {"now": now, "start": start,
                                       "end": end, "layer": layer,
                                       "dispatch_target": DISPATCH_TARGET_MINUTES, **scope_params}
                           ).mappings().all()
    groups = [{"key": r["key"], **_figures(dict(r))} for r in rows if not r["is_total"]]
    total = next((_figures(dict(r)) for r in rows if r["is_total"]), None)
    return {"group_by": group_by, "layer": layer if group_by == "grid" else None,
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None, "now": now.isoformat(),
            "groups": groups, "total": total}
