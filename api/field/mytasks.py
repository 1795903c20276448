"""My tasks: what a grid worker has to do, nearest first.

- **cases** in the worker's scope (:meth:`Principal.event_sql`) waiting for
  them: ``in_progress`` (to handle) and ``handled`` (to verify), with the due
  time and whether it has passed;
- **visits** due or overdue (:func:`api.field.visits.due_visits`).

Given the phone's position (WGS84 or GCJ-02), tasks are sorted by distance
from it (metres on the spheroid), otherwise by due time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.field.visits import due_visits
from gis_core.gcj02 import gcj02_to_wgs84

#: what a grid worker does with a case in each status
TASK_OF_STATUS = {"in_progress": "handle", "handled": "verify"}


def my_tasks(session: Session, worker: Principal, lon: float | None, lat: float | None,
             crs: str = "WGS84", limit: int = 200, tz: str = "Asia/Shanghai"
             ) -> dict[str, Any]:
    """The worker's cases and visits, nearest first when a position is given."""
    if lon is not None and lat is not None and crs == "GCJ02":
        x, y = gcj02_to_wgs84(np.array([lon]), np.array([lat]))
        lon, lat = float(x[0]), float(y[0])
    now = datetime.now(UTC)
    tasks = _cases(session, worker, lon, lat, now, limit)
    tasks += [_with_distance(v, lon, lat) for v in due_visits(session, worker,
                                                              now + timedelta(days=1), tz)]
    tasks.sort(key=lambda t: (t["distance_m"] is None, t["distance_m"] or 0.0,
                              t["due_at"] or "", t["kind"], t["id"]))
    return {"position": None if lon is None else {"lon": lon, "lat": lat},
            "tasks": tasks[:limit],
            "counts": {k: sum(t["task"] == k for t in tasks) for k in ("handle", "verify",
                                                                       "visit")}}


def _cases(session: Session, worker: Principal, lon: float | None, lat: float | None,
           now: datetime, limit: int) -> list[dict[str, Any]]:
    scope, params = worker.event_sql("e")
    rows = session.execute(text(f"""
        SELECT e.id, e.status, e.due_at, e.address, c.name AS category,
               ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, b.code AS building_code,
               CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL ELSE ST_Distance(
                   CAST(e.geom AS geography),
                   CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography)) END AS d
        FROM events e JOIN event_categories c ON c.id = e.category_id
        LEFT JOIN buildings b ON b.id = e.building_id
        WHERE e.status = ANY(CAST(:statuses AS text[])) AND {scope}
        ORDER BY d NULLS LAST, e.due_at NULLS LAST, e.id LIMIT :limit"""),  # noqa: S608
        {"lon": lon, "lat": lat, "statuses": list(TASK_OF_STATUS), "limit": limit,
         **params}).mappings().all()
    return [{"kind": "case", "id": r["id"], "task": TASK_OF_STATUS[r["status"]],
             "title": r["category"], "status": r["status"], "address": r["address"],
             "building_code": r["building_code"],
             "due_at": r["due_at"].isoformat() if r["due_at"] else None,
             "overdue": bool(r["due_at"] and r["due_at"] < now),
             "lon": r["lon"], "lat": r["lat"],
             "distance_m": None if r["d"] is None else round(float(r["d"]), 1)} for r in rows]


def _with_distance(task: dict[str, Any], lon: float | None, lat: float | None
                   ) -> dict[str, Any]:
    """A visit with the task keys of a case and its distance (haversine) from the phone."""
    out = {"task": "visit", "address": None, **task}
    if lon is None or lat is None or task.get("lon") is None:
        return {**out, "distance_m": None}
    p1, p2 = np.radians([lat, task["lat"]])
    dl = np.radians(task["lon"] - lon)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return {**out, "distance_m": round(float(2 * 6_371_008.8 * np.arcsin(np.sqrt(h))), 1)}
