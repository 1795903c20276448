"""Anomaly alerts on a schedule: compute, store new ones, tell the area's people, acknowledge.

:func:`run_alerts` runs the analytics' anomaly test
(``api.analytics.service.anomaly_report``: this period's count of each grid
against its own past, ``gis_core.anomalies``) and stores each rising alert
once per grid, period and category; a new alert is notified (``anomaly``,
urgent) to the responsible people of the grid's community
(``api.notify.outbox.notify_area``) in the same transaction. Running it again
in the same period stores and sends nothing new. One run per database at a
time (a transaction-level advisory lock).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.analytics.hotspots import anomaly_report
from api.audit.service import Actor, record
from api.notify.outbox import notify_area
from gis_core.errors import Conflict, NotFound

#: the advisory lock of a run (one per database)
LOCK_KEY = 0x616C7274  # "alrt"

_STORE = text("""
INSERT INTO anomaly_alerts (layer, grid_code, period, category, area_code, count, expected,
                            severity)
SELECT CAST(:layer AS text), a.grid, a.period, a.category,
       (SELECT g.community_code FROM grids g JOIN grid_layers l ON l.id = g.layer_id
        WHERE l.name = CAST(:layer AS text) AND g.code = a.grid AND g.valid_to IS NULL LIMIT 1),
       a.count, a.expected, a.severity
FROM jsonb_to_recordset(CAST(:alerts AS jsonb))
     AS a(grid text, period text, category text, count int, expected float, severity text)
ON CONFLICT ON CONSTRAINT uq_anomaly_alerts_key DO NOTHING
RETURNING id, grid_code, period, category, area_code, count, expected, severity,
          (SELECT name FROM admin_areas WHERE code = area_code) AS area_name
""")


def run_alerts(session: Session, *, layer: str = "basic", period: str = "week",
               method: str = "robust_z") -> list[dict[str, Any]]:
    """Store and notify the new rising alerts of the latest period; the caller commits.

    Returns the alerts stored by this run (none when another run holds the lock).
    """
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                           {"k": LOCK_KEY}).scalar():
        return []
    try:
        report = anomaly_report(session.connection(), layer, period, None, method, False, None)
    except NotFound:  # no events in the layer yet
        return []
    rising = [{"grid": a["grid"], "period": str(a["period"]), "category": a.get("category"),
               "count": int(a["count"]), "expected": float(a["expected"]),
               "severity": a["severity"]}
              for a in report["alerts"] if a.get("direction", "up") == "up"]
    if not rising:
        return []
    stored = [dict(r) for r in session.execute(_STORE, {
        "layer": layer, "alerts": json.dumps(rising, ensure_ascii=False)}).mappings()]
    for a in stored:
        notify_area(session, "anomaly", a["area_code"], {
            "area": a["area_name"] or a["area_code"] or "-", "grid": a["grid_code"],
            "count": a["count"], "expected": round(a["expected"], 1), "window": a["period"],
            "alert_id": a["id"]})
    return stored


def list_alerts(session: Session, acknowledged: bool | None, limit: int) -> list[dict[str, Any]]:
    """Stored alerts, newest first; only open ones with ``acknowledged=False``."""
    rows = session.execute(text("""
        SELECT * FROM anomaly_alerts
        WHERE CAST(:ack AS boolean) IS NULL OR (acknowledged_at IS NOT NULL) = :ack
        ORDER BY id DESC LIMIT :limit"""), {"ack": acknowledged, "limit": limit}).mappings()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


def acknowledge(session: Session, alert_id: int, by: Actor, now: datetime) -> None:
    """Mark an alert seen (404 ``alert_not_found``; 409 ``alert_acknowledged``); audited."""
    found = session.execute(text(
        "SELECT acknowledged_at FROM anomaly_alerts WHERE id = :id FOR UPDATE"),
        {"id": alert_id}).first()
    if found is None:
        raise NotFound(f"no anomaly alert {alert_id}", code="alert_not_found")
    if found[0] is not None:
        raise Conflict(f"anomaly alert {alert_id} was acknowledged already",
                       code="alert_acknowledged")
    session.execute(text("UPDATE anomaly_alerts SET acknowledged_at = :now, "
                         "acknowledged_by = :by WHERE id = :id"),
                    {"now": now, "by": by.name, "id": alert_id})
    record(session, actor=by, action="alerts.acknowledge", object_type="anomaly_alert",
           object_id=alert_id)
