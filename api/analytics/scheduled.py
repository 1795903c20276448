"""The one-map's hot spot and blind spot layers, kept fresh on a schedule.

Every ``GRIDGOV_ANALYTICS_REFRESH_INTERVAL_SECONDS`` (0: only when an analyst
asks) the app state runs :func:`refresh_map_analyses`: the Gi* hot spots of the
last ``GRIDGOV_ANALYTICS_REFRESH_WINDOW_DAYS`` of events and the blind spots of
the cameras, each stored in its own transaction exactly as the analytics routes
store them (``hotspot_cells``, ``blind_spots``). It goes through the app's
:class:`~api.analytics.service.ResultCache`, so it never runs beside an
analyst's computation of the same kind, and under an advisory lock, so one API
process per database does it. :func:`map_analyses_status` tells the one-map
when each layer was computed and how many features it holds, so an empty layer
says why.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.analytics import hotspots
from api.analytics.service import AnalysisBusy, ResultCache, coverage_report
from api.nodes.locks import try_transaction_lock
from api.settings import AnalyticsSettings

logger = logging.getLogger("gridgov.analytics")

#: the advisory lock of the refresh ("maps")
REFRESH_LOCK_KEY = 0x6D617073

#: the stored layers and their tables (one SQL statement reads both statuses)
_STATUS_SQL = """
SELECT 'hotspots' AS layer, max(computed_at) AS computed_at, count(*) AS features,
       count(*) FILTER (WHERE hot_class <> 0) AS significant, min(method) AS method
FROM hotspot_cells WHERE method LIKE 'gi_star:%'
UNION ALL
SELECT 'blind-spots', max(computed_at), count(*), count(*), NULL FROM blind_spots
"""


def refresh_map_analyses(sessions: sessionmaker[Session], engine: Engine, cache: ResultCache,
                         settings: AnalyticsSettings, now: datetime | None = None
                         ) -> dict[str, Any]:
    """Compute and store the hot spots and blind spots once; what each run gave.

    A kind an analyst is computing right now is skipped (``"busy"``), as is the
    whole run when another process holds the refresh's lock (``{}``).
    """
    at = now or datetime.now(UTC)
    start = at - timedelta(days=settings.refresh_window_days)
    done: dict[str, Any] = {}
    with sessions() as session:
        if not try_transaction_lock(session, REFRESH_LOCK_KEY):  # another process
            return done
        conn = session.connection()
        try:
            params = {"cell": settings.refresh_cell, "from": start, "to": at,
                      "category": None, "alpha": 0.05}
            report = cache.get_or_compute(engine, "hotspots", params, lambda: (
                hotspots.hotspot_report(conn, settings.refresh_cell, start, at, None, 0.05)))
            done["hotspots"] = report["classes"]
            params = {"layer": settings.refresh_layer, "grid": None,
                      "min_area_m2": settings.refresh_min_area_m2}
            report = cache.get_or_compute(engine, "coverage", params, lambda: coverage_report(
                conn, settings.refresh_layer, None, settings.refresh_min_area_m2))
            done["blind-spots"] = len(report["blind_spots"]["features"])
        except AnalysisBusy as exc:
            done[exc.name] = "busy"
        session.commit()
    logger.info("map analyses refreshed: %s", done)
    return done


def map_analyses_status(session: Session, settings: AnalyticsSettings) -> dict[str, Any]:
    """For each stored layer: when it was computed, its features, and the schedule."""
    every = settings.refresh_interval_seconds
    out: dict[str, Any] = {}
    for row in session.execute(text(_STATUS_SQL)).mappings():
        computed = row["computed_at"]
        out[row["layer"]] = {
            "computed_at": computed.astimezone(UTC).isoformat() if computed else None,
            "features": int(row["features"]), "significant": int(row["significant"]),
            "method": row["method"], "refresh_hours": every / 3600 if every > 0 else None}
    return out
