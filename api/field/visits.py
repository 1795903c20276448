"""Due and overdue visits of the grid worker, for the field app's "my tasks".

A visit task has the keys of a case task in :mod:`api.field.mytasks`::

    {"kind": "visit", "id": 12, "title": "elderly_alone", "status": "due" | "overdue",
     "due_at": "2026-12-02", "overdue": false, "building_code": "...",
     "lon": 114.05, "lat": 22.54}

``id`` is the person's id (the app opens the person through the archive, where
names are masked and reads audited); ``title`` names the special-population
tags, never the person. The visits come from :func:`api.people.visits.visit_tasks`
(the worker's scope, by the rule of each grid's layer); the position is the
centre of the residence's building.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.people.visits import visit_tasks


def due_visits(session: Session, worker: Principal, until: datetime,
               tz: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """Visits due before ``until`` (or overdue) of the residents in ``worker``'s scope."""
    zone = ZoneInfo(tz)
    today = datetime.now(zone).date()
    horizon = max(0, (until.astimezone(zone).date() - today).days)
    tasks = visit_tasks(session, worker, today=today, tz=tz, horizon_days=horizon)
    codes = sorted({t["building"] for t in tasks if t["building"]})
    rows = session.execute(text(
        "SELECT code, ST_X(c), ST_Y(c) FROM (SELECT code, ST_PointOnSurface(geom) AS c "
        "FROM buildings WHERE code = ANY(:codes)) b"), {"codes": codes}).all() if codes else []
    where = {r[0]: (r[1], r[2]) for r in rows}
    names: dict[str, str] = {str(c): str(n) for c, n in session.execute(
        text("SELECT code, name FROM special_tags"))}
    return [{"kind": "visit", "id": t["person_id"],
             "title": "、".join(names.get(tag, tag) for tag in t["tags"]), "tags": t["tags"],
             "status": t["status"], "due_at": t["due_date"],
             "overdue": t["status"] == "overdue", "building_code": t["building"],
             "room": t["room"], "lon": where.get(t["building"], (None, None))[0],
             "lat": where.get(t["building"], (None, None))[1]} for t in tasks]
