"""The data of one report, gathered from the database in one place.

:func:`gather` reads, for an area (:mod:`api.reports.area`) and a period
(:mod:`api.reports.period`), everything the PDF and the XLSX show:

- ``kpis`` and ``previous_kpis``: :func:`api.events.kpi.event_kpis` (its definitions)
  over the area's events reported in the period and in the previous period, at ``now``;
- ``trend``: per local day of the period, the events reported and those closed;
- ``categories``: the categories by events reported in the period, most first
  (:data:`TOP_CATEGORIES` of them);
- ``overdue``: the period's events overdue at ``now`` (the KPI's ``overdue``), longest
  overdue first (:data:`OVERDUE_LISTED` of them; ``kpis["overdue"]`` counts them all);
- ``rankings``: per level below the area, departments and grid workers, the assessment
  score's rankings of the period (:func:`api.assessment.score.rankings`) within the area;
- ``map``: the area's outline, its current basic grids and the period's events;
- ``by_grid``: the period's KPIs per grid of the basic layer (the map as a table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.assessment.score import rankings
from api.events.kpi import event_kpis
from api.reports.area import Area
from api.reports.period import Period
from api.tracking.page import STATUS_LABELS
from layers.vocabulary import CLOSED_STATUSES, VOID_STATUSES, overdue_sql, sql_in

TOP_CATEGORIES = 10
OVERDUE_LISTED = 100

#: the KPIs a report shows, in order: key, Chinese label, whether it is a rate (0-1)
KPIS: tuple[tuple[str, str, bool], ...] = (
    ("reported", "上报数", False),
    ("registered", "立案数", False),
    ("dispatched", "派遣数", False),
    ("closed", "结案数", False),
    ("closure_rate", "结案率", True),
    ("on_time_closure_rate", "按期结案率", True),
    ("dispatch_on_target_rate", "10分钟派遣率", True),
    ("overdue", "超期数", False),
    ("closed_late", "超期结案数", False),
    ("median_hours_to_dispatch", "派遣用时中位数(小时)", False),
    ("median_hours_to_close", "结案用时中位数(小时)", False),
    ("mean_satisfaction", "平均满意度(1-5)", False),
)

#: the ranking levels of a report (:data:`api.assessment.score.LEVELS`), by the area's level
RANKING_LEVELS: dict[str, tuple[str, ...]] = {
    "district": ("street", "community", "department", "grid_worker"),
    "street": ("community", "department", "grid_worker"),
    "community": ("department", "grid_worker"),
}
RANKING_TITLES = {"street": "街道排名", "community": "社区排名", "department": "部门排名",
                  "grid_worker": "网格员排名"}
#: the figures a ranking shows beside the score: key, Chinese label, whether it is a rate
AREA_RANKING_FIGURES: tuple[tuple[str, str, bool], ...] = (
    ("registered", "立案数", False), ("closure_rate", "结案率", True),
    ("on_time_closure_rate", "按期结案率", True), ("overdue", "超期数", False))
WORKER_RANKING_FIGURES: tuple[tuple[str, str, bool], ...] = (
    ("found", "巡查发现", False), ("visits", "走访", False), ("checkins", "签到", False))


def ranking_figures(level: str) -> tuple[tuple[str, str, bool], ...]:
    """The figures shown beside the score in a ranking of ``level``."""
    return WORKER_RANKING_FIGURES if level == "grid_worker" else AREA_RANKING_FIGURES


@dataclass(frozen=True)
class ReportMap:
    """What the map draws: the area's outline, the areas just below it, grids, events."""

    outline: BaseGeometry | None
    #: the outlines of the areas one level below (a district's streets, a street's communities)
    parts: list[BaseGeometry]
    grids: list[BaseGeometry]
    #: (lon, lat, state) with state ``open``, ``overdue``, ``closed`` or ``void``
    events: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Report:
    """Everything one report shows (see the module docstring)."""

    area: Area
    period: Period
    now: datetime
    kpis: dict[str, Any]
    previous_kpis: dict[str, Any]
    trend: list[tuple[date, int, int]]
    categories: list[dict[str, Any]]
    overdue: list[dict[str, Any]]
    map: ReportMap
    by_grid: list[dict[str, Any]]
    rankings: dict[str, list[dict[str, Any]]]

    @property
    def title(self) -> str:
        """The report's title: area, kind and period, e.g. ``平湖街道 月报 2026-10``."""
        kind = "月报" if self.period.kind == "month" else "周报"
        return f"{self.area.name} {kind} {self.period.label}"


def change(current: float | None, previous: float | None) -> float | None:
    """``current - previous``, None when either is missing.

    Examples
    --------
    >>> change(12, 10), change(0.5, None)
    (2, None)
    """
    return None if current is None or previous is None else current - previous


def gather(session: Session, area: Area, period: Period, now: datetime) -> Report:
    """The report of ``area`` for ``period``, its figures counted at ``now``."""
    previous = period.previous()
    scope = area.event_sql("e")
    by_category = event_kpis(session, group_by="category", now=now, start=period.start,
                             end=period.end, scope=scope)
    before = event_kpis(session, group_by="category", now=now, start=previous.start,
                        end=previous.end, scope=scope)
    # the total row is there even without events (the grouping set ``()``)
    return Report(area=area, period=period, now=now,
                  kpis=by_category["total"], previous_kpis=before["total"],
                  trend=_trend(session, area, period),
                  categories=_categories(session, by_category["groups"]),
                  overdue=_overdue(session, area, period, now),
                  map=_map(session, area, period, now),
                  by_grid=event_kpis(session, group_by="grid", now=now, start=period.start,
                                     end=period.end, scope=scope)["groups"],
                  rankings={level: rankings(session, level=level, start=period.start,
                                            end=period.end, now=now, scope=area.scope())
                            for level in RANKING_LEVELS[area.level]})


_TREND = """
SELECT d.day::date AS day,
  (SELECT count(*) FROM events e WHERE ({scope}) AND e.reported_at >= d.day AT TIME ZONE :tz
     AND e.reported_at < (d.day + interval '1 day') AT TIME ZONE :tz) AS reported,
  (SELECT count(*) FROM events e WHERE ({scope}) AND {closed}
     AND e.closed_at >= d.day AT TIME ZONE :tz
     AND e.closed_at < (d.day + interval '1 day') AT TIME ZONE :tz) AS closed
FROM generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 day')
     AS d(day)
ORDER BY d.day
"""


def _trend(session: Session, area: Area, period: Period) -> list[tuple[date, int, int]]:
    condition, params = area.event_sql("e")
    days = period.days()
    sql = _TREND.format(scope=condition, closed=sql_in("e.status", CLOSED_STATUSES))
    rows = session.execute(text(sql), {"tz": period.timezone, "first": days[0],
                                       "last": days[-1], **params})
    return [(r.day, int(r.reported), int(r.closed)) for r in rows]


def _categories(session: Session, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    top = sorted(groups, key=lambda g: (-g["reported"], str(g["key"])))[:TOP_CATEGORIES]
    rows = session.execute(text(
        "SELECT code, name FROM event_categories WHERE code = ANY(CAST(:codes AS text[]))"),
        {"codes": [g["key"] for g in top]})
    names = {r.code: r.name for r in rows}
    return [{"code": g["key"], "name": names.get(g["key"], g["key"]), **g} for g in top]


_OVERDUE = """
SELECT e.id, c.name AS category, e.status, a.name AS community, e.reported_at, e.due_at,
       EXTRACT(EPOCH FROM CAST(:now AS timestamptz) - e.due_at) / 3600.0 AS hours_overdue
FROM events e
JOIN event_categories c ON c.id = e.category_id
LEFT JOIN admin_areas a ON a.code = e.community_code
WHERE ({scope}) AND {overdue} AND e.reported_at >= :start AND e.reported_at < :end
ORDER BY e.due_at, e.id
LIMIT :limit
"""


def _overdue(session: Session, area: Area, period: Period, now: datetime
             ) -> list[dict[str, Any]]:
    condition, params = area.event_sql("e")
    sql = _OVERDUE.format(scope=condition, overdue=overdue_sql("e", ":now"))
    rows = session.execute(text(sql), {"now": now, "start": period.start, "end": period.end,
                                       "limit": OVERDUE_LISTED, **params}).mappings()
    return [{**r, "status_label": STATUS_LABELS.get(r["status"], (r["status"],))[0],
             "hours_overdue": float(r["hours_overdue"])} for r in rows]


_GRIDS = """
SELECT ST_AsBinary(g.geom) AS wkb FROM grids g JOIN grid_layers l ON l.id = g.layer_id
WHERE l.id = (SELECT id FROM grid_layers ORDER BY (kind = 'basic' AND exclusive) DESC, id
              LIMIT 1)
  AND g.valid_to IS NULL AND g.community_code = ANY(CAST(:codes AS text[]))
ORDER BY g.code
"""

_EVENTS = """
SELECT ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       CASE WHEN {overdue} THEN 'overdue' WHEN {closed} THEN 'closed'
            WHEN {void} THEN 'void' ELSE 'open' END AS state
FROM events e
WHERE ({scope}) AND e.reported_at >= :start AND e.reported_at < :end
ORDER BY e.id
"""


def _map(session: Session, area: Area, period: Period, now: datetime) -> ReportMap:
    outline = session.execute(text("SELECT ST_AsBinary(geom) FROM admin_areas "
                                   "WHERE code = :code"), {"code": area.code}).scalar()
    parts = session.execute(text("SELECT ST_AsBinary(geom) FROM admin_areas WHERE parent_code "
                                 "= :code AND geom IS NOT NULL ORDER BY code"),
                            {"code": area.code}).scalars().all()
    grids = session.execute(text(_GRIDS), {"codes": list(area.codes)}).scalars().all()
    condition, params = area.event_sql("e")
    sql = _EVENTS.format(scope=condition, overdue=overdue_sql("e", ":now"),
                         closed=sql_in("e.status", CLOSED_STATUSES),
                         void=sql_in("e.status", VOID_STATUSES))
    events = session.execute(text(sql), {"now": now, "start": period.start, "end": period.end,
                                         **params}).all()
    return ReportMap(outline=shapely.from_wkb(bytes(outline)) if outline is not None else None,
                     parts=[shapely.from_wkb(bytes(p)) for p in parts],
                     grids=[shapely.from_wkb(bytes(g)) for g in grids],
                     events=[(float(x), float(y), str(s)) for x, y, s in events])
