"""Helpers shared by the batch analytics tests: what one process finds, what is stored."""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Engine, text

from api.events.bulk_import import assign_grids, grids_json


def single_process_grids(engine: Engine) -> pd.Series:
    """events.grids of every event as one process assigns them (event_import)."""
    with engine.connect() as conn:
        ev = pd.read_sql(text("SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, reported_at "
                              "FROM events WHERE geom IS NOT NULL ORDER BY id"), conn)
        reported = pd.to_datetime(ev["reported_at"], utc=True)
        found, layers, _ = assign_grids(conn, ev["lon"].to_numpy(), ev["lat"].to_numpy(),
                                        reported)
    return pd.Series(grids_json(found, layers).map(json.loads).to_numpy(), index=ev["id"])


def stored_grids(engine: Engine) -> pd.Series:
    """events.grids of every located event, by id."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, grids FROM events WHERE geom IS NOT NULL "
                                 "ORDER BY id")).all()
    return pd.Series([r[1] for r in rows], index=[r[0] for r in rows])


def restore_grids(engine: Engine, grids: pd.Series, ids: list[int]) -> None:
    """Write back ``grids`` of the events ``ids`` (after a test wiped them)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE events e SET grids = CAST(t.g AS jsonb) FROM unnest("
                          "CAST(:i AS bigint[]), CAST(:g AS text[])) AS t(i, g) "
                          "WHERE e.id = t.i"),
                     {"i": ids, "g": [json.dumps(grids[i]) for i in ids]})


def stored_hotspots(engine: Engine) -> pd.DataFrame:
    """The stored Gi* cells, by cell."""
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT method, cell, value, z, p, hot_class FROM hotspot_cells "
                                "WHERE method LIKE 'gi_star:%' ORDER BY cell"), conn)
