"""The assessment score (考核): streets, communities, departments and grid workers ranked.

Streets, communities and departments are scored on the event KPIs of the period
(:func:`api.events.kpi.event_kpis`, events reported in ``[start, end)``), 0 to 100:

==========================  ======  ===========================================
figure                      weight  what it rewards
==========================  ======  ===========================================
``closure_rate``            30      cases closed / cases registered
``on_time_closure_rate``    25      closed by the deadline / closed
``dispatch_on_target_rate`` 15      dispatched within 10 minutes / dispatched
``satisfaction_rate``       15      residents' mean score, ``(mean - 1) / 4``
``not_overdue_rate``        15      ``1 - overdue / registered`` (open past due)
==========================  ======  ===========================================

``score = 100 * sum(weight * figure) / sum(weight)`` over the figures that exist: a
figure with nothing to measure (no case closed, none dispatched, none evaluated) is
left out and the weights of the others are rescaled. A group with no registered case
has no score. Events without a street, community or department are not ranked.

Grid workers are scored in points on their own work of the period:
``3 * found + 2 * visits + checkins``, where ``found`` counts the cases they reported
on patrol (channel ``patrol``, the history's ``register`` row names them, as in
:mod:`api.field.kpi`), ``visits`` their visits to residents (:mod:`api.people.visits`)
and ``checkins`` their plate check-ins not flagged as too far from the building
(:mod:`api.field.checkins`).

Ranks: best score first; equal scores share a rank (1, 1, 3); ties are listed by key;
rows without a score come last with rank ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.events.kpi import event_kpis
from api.field.scope import grid_scope_sql
from gis_core.errors import InvalidInput

LEVELS = ("street", "community", "department", "grid_worker")

#: the weights of the area and department score (figure -> weight)
WEIGHTS: dict[str, float] = {"closure_rate": 30, "on_time_closure_rate": 25,
                             "dispatch_on_target_rate": 15, "satisfaction_rate": 15,
                             "not_overdue_rate": 15}

#: the points of the grid worker score (figure -> points for each)
POINTS: dict[str, int] = {"found": 3, "visits": 2, "checkins": 1}

_NAMES = {
    "street": "SELECT code, name FROM admin_areas WHERE code = ANY(CAST(:keys AS text[]))",
    "community": "SELECT code, name FROM admin_areas WHERE code = ANY(CAST(:keys AS text[]))",
    "department": "SELECT code, name FROM departments WHERE code = ANY(CAST(:keys AS text[]))",
}

_WORKERS = """
SELECT u.id::text AS key, u.name,
  (SELECT count(*) FROM event_history h JOIN events e ON e.id = h.event_id
   WHERE h.actor = u.name AND h.action = 'register' AND e.channel = 'patrol'
     AND h.at >= :start AND h.at < :end) AS found,
  (SELECT count(*) FROM visits v
   WHERE v.worker_id = u.id AND v.visited_at >= :start AND v.visited_at < :end) AS visits,
  (SELECT count(*) FROM field_checkins k
   WHERE k.worker_id = u.id AND NOT k.flagged AND k.at >= :start AND k.at < :end) AS checkins
FROM users u
WHERE u.role = 'grid_worker' AND u.active
  AND EXISTS (SELECT 1 FROM unnest(COALESCE(u.grid_codes, CAST('{{}}' AS text[]))) AS w(code)
              WHERE {scope})
"""


def area_score(figures: dict[str, Any]) -> float | None:
    """The 0-100 score of one group's KPIs (module docstring); None with nothing registered.

    Examples
    --------
    >>> area_score({"registered": 4, "overdue": 1, "closure_rate": 0.5,
    ...             "on_time_closure_rate": 1.0, "dispatch_on_target_rate": None,
    ...             "mean_satisfaction": 5.0})
    77.94
    >>> area_score({"registered": 0}) is None
    True
    """
    registered = figures.get("registered") or 0
    if not registered:
        return None
    mean = figures.get("mean_satisfaction")
    parts = {
        "closure_rate": figures.get("closure_rate"),
        "on_time_closure_rate": figures.get("on_time_closure_rate"),
        "dispatch_on_target_rate": figures.get("dispatch_on_target_rate"),
        "satisfaction_rate": (mean - 1) / 4 if mean is not None else None,
        "not_overdue_rate": 1 - figures.get("overdue", 0) / registered,
    }
    present = {k: v for k, v in parts.items() if v is not None}
    weight = sum(WEIGHTS[k] for k in present)
    return round(100 * sum(WEIGHTS[k] * v for k, v in present.items()) / weight, 2)


def worker_score(figures: dict[str, Any]) -> int:
    """The points of one grid worker's work (module docstring).

    Examples
    --------
    >>> worker_score({"found": 2, "visits": 1, "checkins": 4})
    12
    """
    return sum(points * int(figures[k]) for k, points in POINTS.items())


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (with ``key`` and ``score``) best first, each with its ``rank``.

    Examples
    --------
    >>> [(r["key"], r["rank"]) for r in ranked([{"key": "a", "score": 5},
    ...  {"key": "b", "score": 9}, {"key": "c", "score": None}, {"key": "d", "score": 5}])]
    [('b', 1), ('a', 2), ('d', 2), ('c', None)]
    """
    scored = sorted((r for r in rows if r["score"] is not None),
                    key=lambda r: (-r["score"], str(r["key"])))
    out: list[dict[str, Any]] = []
    for i, row in enumerate(scored):
        same = out and out[-1]["score"] == row["score"]
        out.append({**row, "rank": out[-1]["rank"] if same else i + 1})
    unscored = sorted((r for r in rows if r["score"] is None), key=lambda r: str(r["key"]))
    return out + [{**r, "rank": None} for r in unscored]


def rankings(session: Session, *, level: str, start: datetime, end: datetime, now: datetime,
             scope: Principal | None = None) -> list[dict[str, Any]]:
    """The ``level``'s groups ranked by their score for ``[start, end)``, best first.

    Each row is ``{"key", "name", "score", "rank", ...}`` with the figures the score is
    made of. ``scope`` limits the events (streets, communities, departments) or the
    grid workers (by their grids) to what that user sees, in SQL; None: everything.

    Examples
    --------
    ``rankings(session, level="street", start=monday, end=now, now=now)`` returns
    ``[{"key": "340104001", "name": "...", "score": 92.5, "rank": 1, "closure_rate":
    0.97, ...}, ...]``.
    """
    if level not in LEVELS:
        raise InvalidInput(f"parameter 'level': {level!r} is not one of {', '.join(LEVELS)}",
                           code="invalid_parameter")
    if level == "grid_worker":
        return ranked(_worker_rows(session, start, end, scope))
    kpis = event_kpis(session, group_by=level, now=now, start=start, end=end,
                      scope=scope.event_sql("e") if scope is not None else ("TRUE", {}))
    groups = [g for g in kpis["groups"] if g["key"] is not None]
    names = {r.code: r.name for r in session.execute(
        text(_NAMES[level]), {"keys": [g["key"] for g in groups]})}
    return ranked([{"key": g["key"], "name": names.get(g["key"], g["key"]),
                    "score": area_score(g), **{k: v for k, v in g.items() if k != "key"}}
                   for g in groups])


def _worker_rows(session: Session, start: datetime, end: datetime,
                 scope: Principal | None) -> list[dict[str, Any]]:
    condition, params = (grid_scope_sql(scope, "w.code") if scope is not None
                         else ("TRUE", {}))
    rows = session.execute(text(_WORKERS.format(scope=condition)),
                           {"start": start, "end": end, **params}).mappings().all()
    out = []
    for row in rows:
        figures = {k: int(row[k]) for k in POINTS}
        out.append({"key": row["key"], "name": row["name"], "score": worker_score(figures),
                    **figures})
    return out
