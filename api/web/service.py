"""Read models of the one-map web client: the live event feed and the dashboard figures.

Both read the core ``events`` table directly (SQLAlchemy Core, nothing from a
request formatted into SQL) and never return personal data: reporters' names,
phones and e-mails stay in the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, select, text, true
from sqlalchemy.orm import Session

from api.db.models import Event, EventCategory, GridLayer
from layers.features import feature
from layers.vocabulary import (
    CLOSED_STATUSES,
    NOT_REGISTERED_STATUSES,
    OPEN_STATUSES,
    overdue_sql,
)

#: which events a reader may see (``Principal.event_clause()``); everything by default
Scope = ColumnElement[bool]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def live_events(session: Session, after_id: int | None, limit: int,
                scope: Scope | None = None) -> dict[str, Any]:
    """Events newer than ``after_id`` (or the latest ``limit`` ones) as a FeatureCollection.

    ``last_id`` in the answer is the cursor for the next poll.
    """
    cols = (Event.id, Event.status, Event.reported_at, Event.due_at, Event.grids,
            EventCategory.code.label("category"), EventCategory.name.label("category_name"),
            EventCategory.name_en.label("category_name_en"),
            func.ST_AsGeoJSON(Event.geom, 7).label("geometry"))
    stmt = (select(*cols).join(EventCategory, EventCategory.id == Event.category_id)
            .where(scope if scope is not None else true()))
    if after_id is None:
        stmt = stmt.order_by(Event.id.desc()).limit(limit)
    else:
        stmt = stmt.where(Event.id > after_id).order_by(Event.id).limit(limit)
    rows = session.execute(stmt).mappings().all()
    features = []
    for row in sorted(rows, key=lambda r: r["id"]):
        props = {k: row[k] for k in ("id", "status", "grids", "category", "category_name",
                                     "category_name_en")}
        props["reported_at"] = _iso(row["reported_at"])
        props["due_at"] = _iso(row["due_at"])
        features.append(feature(row["geometry"], props, row["id"]))
    if features:
        last_id = max(f["id"] for f in features)
    else:
        last_id = after_id if after_id is not None else (
            session.execute(select(func.coalesce(func.max(Event.id), 0))
                            .where(scope if scope is not None else true())).scalar_one())
    return {"type": "FeatureCollection", "features": features, "last_id": int(last_id)}


def _status_counts(session: Session, scope: Scope) -> dict[str, int]:
    rows = session.execute(select(Event.status, func.count()).where(scope)
                           .group_by(Event.status)).all()
    return {status: int(n) for status, n in rows}


def _rates(session: Session, scope: Scope) -> dict[str, float | None]:
    """Closure and on-time rates, as defined by ``/api/v1/stats/events``.

    Closure rate: closed / registered (all but rejected and duplicates); on-time
    rate: closed by the due time / closed.
    """
    registered = Event.status.notin_(NOT_REGISTERED_STATUSES)
    closed = Event.status.in_(CLOSED_STATUSES)
    row = session.execute(select(
        func.count().filter(registered),
        func.count().filter(closed),
        func.count().filter(and_(closed, Event.closed_at <= Event.due_at)),
    ).where(scope)).one()
    total, n_closed, on_time = (int(v) for v in row)
    return {"closure_rate": n_closed / total if total else None,
            "on_time_rate": on_time / n_closed if n_closed else None}


def _open_filter() -> Any:
    return Event.status.in_(OPEN_STATUSES)


def _overdue_filter(now: datetime) -> Any:
    """*Overdue* at ``now`` (:func:`layers.vocabulary.overdue_sql`), once per statement."""
    return text(overdue_sql("events", ":overdue_at")).bindparams(overdue_at=now)


def _overdue(session: Session, now: datetime, limit: int, scope: Scope
             ) -> list[dict[str, Any]]:
    stmt = (select(Event.id, Event.status, Event.due_at, Event.grids,
                   EventCategory.name, EventCategory.name_en,
                   func.ST_X(Event.geom), func.ST_Y(Event.geom))
            .join(EventCategory, EventCategory.id == Event.category_id)
            .where(_overdue_filter(now), scope)
            .order_by(Event.due_at).limit(limit))
    return [{"id": r[0], "status": r[1], "due_at": _iso(r[2]), "grids": r[3],
             "category_name": r[4], "category_name_en": r[5], "lon": r[6], "lat": r[7]}
            for r in session.execute(stmt).all()]


def _trend(session: Session, now: datetime, days: int, scope: Scope
           ) -> list[dict[str, Any]]:
    start = (now - timedelta(days=days - 1)).date()
    counts = {}
    for name, col in (("reported", Event.reported_at), ("closed", Event.closed_at)):
        day_of = cast(col, Date)
        counts[name] = dict(session.execute(
            select(day_of, func.count()).where(col >= start, scope).group_by(day_of)).all())
    reported, closed = counts["reported"], counts["closed"]
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        out.append({"date": day.isoformat(), "reported": int(reported.get(day, 0)),
                    "closed": int(closed.get(day, 0))})
    return out


def _top_categories(session: Session, limit: int, scope: Scope) -> list[dict[str, Any]]:
    stmt = (select(EventCategory.code, EventCategory.name, EventCategory.name_en,
                   func.count().label("n"))
            .join(Event, Event.category_id == EventCategory.id).where(scope)
            .group_by(EventCategory.code, EventCategory.name, EventCategory.name_en)
            .order_by(func.count().desc(), EventCategory.code).limit(limit))
    return [{"code": r[0], "name": r[1], "name_en": r[2], "count": int(r[3])}
            for r in session.execute(stmt).all()]


def grid_figures(session: Session, layer: str, now: datetime, scope: Scope | None = None
                 ) -> dict[str, dict[str, Any]]:
    """Per-grid figures of one exclusive grid layer: events, open, overdue, closure rate."""
    code = Event.grids[layer].astext
    real = Event.status.notin_(NOT_REGISTERED_STATUSES)
    stmt = (select(code, func.count().filter(real),
                   func.count().filter(_open_filter()),
                   func.count().filter(_overdue_filter(now)),
                   func.count().filter(Event.status.in_(CLOSED_STATUSES)))
            .where(code.isnot(None), scope if scope is not None else true()).group_by(code))
    out: dict[str, dict[str, Any]] = {}
    for grid, total, n_open, overdue, n_closed in session.execute(stmt).all():
        out[grid] = {"events": int(total), "open": int(n_open), "overdue": int(overdue),
                     "closure_rate": (n_closed / total) if total else None}
    return out


def dashboard(session: Session, *, days: int = 30, now: datetime | None = None,
              layer: str | None = None, scope: Scope | None = None) -> dict[str, Any]:
    """All figures of the dashboard panel in one answer, over the events in ``scope``."""
    scope = scope if scope is not None else true()
    now = now or session.execute(select(func.now())).scalar_one()
    if layer is None:
        layer = session.execute(select(GridLayer.name).where(GridLayer.exclusive)
                                .order_by(GridLayer.id).limit(1)).scalar_one_or_none()
    by_status = _status_counts(session, scope)
    open_count = sum(n for s, n in by_status.items()
                     if s in OPEN_STATUSES)
    overdue_total = session.execute(
        select(func.count()).select_from(Event).where(_overdue_filter(now), scope)).scalar_one()
    return {
        "generated_at": _iso(now),
        "total": sum(by_status.values()),
        "open": open_count,
        "overdue": int(overdue_total),
        "by_status": by_status,
        **_rates(session, scope),
        "overdue_list": _overdue(session, now, 20, scope),
        "trend": _trend(session, now, days, scope),
        "top_categories": _top_categories(session, 10, scope),
        "grid_layer": layer,
        "grids": grid_figures(session, layer, now, scope) if layer else {},
    }


__all__ = ["dashboard", "grid_figures", "live_events"]
