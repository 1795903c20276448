"""Per-worker KPIs of a period.

Cases found, handled, verified, on time; patrol hours and km; coverage of the
worker's own grids; check-ins:

- ``found``: events reported on channel ``patrol`` by the worker (the history's
  ``register`` row names them);
- ``handled`` / ``verified``: the worker's ``handle`` / ``verify`` actions;
  ``on_time``: handled ones whose ``handled_at`` is not after ``due_at``;
- ``patrol_hours`` / ``patrol_km``: time and length of the track's segments
  (no gap is counted, :func:`gis_core.tracks.segments`);
- ``coverage``: the share of the road length of the worker's grids within 20 m
  of their tracks of the period (``None`` when their grids have no roads);
- ``checkins`` and ``checkins_flagged``.

Workers listed: grid workers with a grid the caller's scope holds (every grid
worker for whoever sees everything).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.field.scope import audit_track_read, grid_scope_sql, load_points
from api.field.supervision import grids_and_roads, metric_of
from api.personal.cipher import PersonalCipher
from api.settings import FieldSettings
from gis_core.track_coverage import road_coverage, road_pieces
from gis_core.tracks import Segments, segments

_WORKERS = """
SELECT u.id, u.name, u.grid_codes FROM users u
WHERE u.role = 'grid_worker' AND u.active
  AND EXISTS (SELECT 1 FROM unnest(COALESCE(u.grid_codes, CAST('{{}}' AS text[]))) AS w(code)
              WHERE {scope})
ORDER BY u.id"""

_CASES = text("""
SELECT h.actor,
       count(*) FILTER (WHERE h.action = 'register' AND e.channel = 'patrol') AS found,
       count(*) FILTER (WHERE h.action = 'handle') AS handled,
       count(*) FILTER (WHERE h.action = 'verify') AS verified,
       count(*) FILTER (WHERE h.action = 'handle' AND e.due_at IS NOT NULL
                        AND h.at <= e.due_at) AS on_time
FROM event_history h JOIN events e ON e.id = h.event_id
WHERE h.at >= :start AND h.at < :end AND h.actor = ANY(CAST(:names AS text[]))
  AND h.action IN ('register', 'handle', 'verify')
GROUP BY h.actor""")

_CHECKINS = text("""
SELECT worker_id, count(*) AS n, count(*) FILTER (WHERE flagged) AS flagged
FROM field_checkins WHERE at >= :start AND at < :end AND worker_id = ANY(CAST(:ids AS int[]))
GROUP BY worker_id""")


def worker_kpis(session: Session, cipher: PersonalCipher, principal: Principal,
                settings: FieldSettings,
                start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One row of KPIs per grid worker in the caller's scope, for ``start`` to ``end``."""
    scope, params = grid_scope_sql(principal, "w.code")
    workers = session.execute(text(_WORKERS.format(scope=scope)), params).mappings().all()
    if not workers:
        return []
    names = [w["name"] for w in workers]
    ids = [w["id"] for w in workers]
    cases = {r["actor"]: r for r in session.execute(
        _CASES, {"start": start, "end": end, "names": names}).mappings()}
    checkins = {r["worker_id"]: r for r in session.execute(
        _CHECKINS, {"start": start, "end": end, "ids": ids}).mappings()}
    patrol = _patrol(session, cipher, principal, settings, start, end, workers)
    audit_track_read(session, principal, None, "kpi",
                     {"start": start.isoformat(), "end": end.isoformat(), "workers": ids})
    session.commit()
    out = []
    for w in workers:
        c: Any = cases.get(w["name"], {})
        k: Any = checkins.get(w["id"], {})
        out.append({"worker_id": w["id"], "name": w["name"], "grids": list(w["grid_codes"]),
                    **{key: int(c.get(key, 0)) for key in ("found", "handled", "verified",
                                                           "on_time")},
                    **patrol.get(w["id"], {"patrol_hours": 0.0, "patrol_km": 0.0,
                                           "coverage": None}),
                    "checkins": int(k.get("n", 0)), "checkins_flagged": int(k.get("flagged", 0))})
    return out


def _patrol(session: Session, cipher: PersonalCipher, principal: Principal,
            settings: FieldSettings, start: datetime,
            end: datetime, workers: Any) -> dict[int, dict[str, Any]]:
    rows = load_points(session, cipher, principal, start, end)
    if not len(rows):
        return {}
    crs, x, y = metric_of(rows)
    segs = segments(rows.shift, rows.t, x, y, settings.track_max_gap_s)
    worker_of_shift = dict(zip(rows.shift.tolist(), rows.worker.tolist(), strict=False))
    owner = np.array([worker_of_shift[s] for s in segs.group], dtype=np.int64)
    frame = pd.DataFrame({"worker": owner, "m": shapely.length(segs.lines),
                          "s": segs.t1 - segs.t0}).groupby("worker").sum()
    own = {w["id"]: set(w["grid_codes"] or ()) for w in workers}
    codes = sorted(set().union(*own.values()))
    grids, names, roads = grids_and_roads(session, settings.field_grid_layer, codes, crs)
    pieces = road_pieces(roads, grids, names)
    by_worker = Segments(segs.lines, owner.astype(object), segs.t0, segs.t1)
    covered = road_coverage(pieces, by_worker)
    road_m = pieces.road_length()
    out: dict[int, dict[str, Any]] = {}
    for worker, row in frame.iterrows():
        mine = own.get(int(worker), set())
        total = float(road_m[road_m.index.isin(mine)].sum())
        done = float(covered[(covered["group"] == worker) & covered["grid"].isin(mine)]
                     ["covered_m"].sum())
        out[int(worker)] = {"patrol_hours": round(float(row["s"]) / 3600, 3),
                            "patrol_km": round(float(row["m"]) / 1000, 3),
                            "coverage": round(done / total, 4) if total else None}
    return out
