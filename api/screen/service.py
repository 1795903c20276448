"""The figures of the big screen, in the caller's scope (every figure filtered in SQL).

- ``today``: :func:`api.events.kpi.event_kpis` over the events reported today (the
  server's day, ``GRIDGOV_TIMEZONE``): reported, registered, dispatched, closed, closure
  and on-time rates, the 10-minute dispatch rate, overdue;
- ``top_categories``: today's most reported minor categories;
- ``rankings``: :func:`api.assessment.score.rankings` of streets, communities,
  departments and grid workers over the last ``rank_days`` days (the best ``top``);
- ``events``: today's events as GeoJSON points (id, status) for the live map, the latest
  :data:`MAX_MAP_EVENTS`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.assessment.score import LEVELS, rankings
from api.auth.principal import Principal
from api.events.kpi import DISPATCH_TARGET_MINUTES, event_kpis

#: the most events the map of one answer carries (the latest first)
MAX_MAP_EVENTS = 5000
#: the number of categories in ``top_categories``
TOP_CATEGORIES = 8

_MAP_SQL = """
SELECT e.id, e.status, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat FROM events e
WHERE ({scope}) AND e.reported_at >= :start AND e.reported_at < :end
ORDER BY e.reported_at DESC, e.id DESC LIMIT :limit
"""

_CATEGORY_NAMES = ("SELECT code, name, name_en FROM event_categories "
                   "WHERE code = ANY(CAST(:codes AS text[]))")


def today_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of ``now``'s day in ``timezone`` and of the next day.

    Examples
    --------
    >>> from datetime import UTC
    >>> start, end = today_bounds(datetime(2026, 12, 1, 17, 0, tzinfo=UTC), "Asia/Shanghai")
    >>> start.isoformat(), end.isoformat()
    ('2026-12-02T00:00:00+08:00', '2026-12-03T00:00:00+08:00')
    """
    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def summary(session: Session, principal: Principal, *, now: datetime, timezone: str,
            rank_days: int = 30, top: int = 10) -> dict[str, Any]:
    """Everything the big screen shows, for ``principal``'s scope (module docstring)."""
    start, end = today_bounds(now, timezone)
    scope = principal.event_sql("e")
    kpis = event_kpis(session, group_by="category", now=now, start=start, end=end, scope=scope)
    since = now - timedelta(days=rank_days)
    return {
        "now": now.isoformat(), "day": start.date().isoformat(), "timezone": timezone,
        "from": start.isoformat(), "to": end.isoformat(),
        "dispatch_target_minutes": DISPATCH_TARGET_MINUTES,
        "today": kpis["total"],
        "top_categories": _top_categories(session, kpis["groups"]),
        "rankings": {"from": since.isoformat(), "to": now.isoformat(),
                     **{level: rankings(session, level=level, start=since, end=now, now=now,
                                        scope=principal)[:top] for level in LEVELS}},
        "events": _map_events(session, scope, start, end),
    }


def _top_categories(session: Session, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best = sorted(groups, key=lambda g: (-g["reported"], g["key"]))[:TOP_CATEGORIES]
    names = {r.code: r for r in session.execute(text(_CATEGORY_NAMES),
                                                {"codes": [g["key"] for g in best]})}
    return [{"code": g["key"], "name": names[g["key"]].name,
             "name_en": names[g["key"]].name_en, "reported": g["reported"]} for g in best]


def _map_events(session: Session, scope: tuple[str, dict[str, Any]], start: datetime,
                end: datetime) -> dict[str, Any]:
    condition, params = scope
    rows = session.execute(text(_MAP_SQL.format(scope=condition)),
                           {**params, "start": start, "end": end, "limit": MAX_MAP_EVENTS})
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r.id, "properties": {"id": r.id, "status": r.status},
         "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]}} for r in rows]}
