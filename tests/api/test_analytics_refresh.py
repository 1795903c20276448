"""The map's hot spots and blind spots, computed on a schedule; the one-map says when."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.analytics.scheduled import REFRESH_LOCK_KEY, map_analyses_status, refresh_map_analyses
from api.analytics.service import ResultCache
from api.settings import AnalyticsSettings

#: the sample's year of events ends on 2026-11-01 (tests/conftest.py)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions inside the test's transaction (their commits are savepoints)."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


def _counts(session: Session) -> tuple[int, int, int]:
    return tuple(session.execute(text(
        "SELECT (SELECT count(*) FROM hotspot_cells WHERE method = 'gi_star:h3:10'), "
        "(SELECT count(*) FROM hotspot_cells WHERE hot_class <> 0), "
        "(SELECT count(*) FROM blind_spots)")).one())


def test_a_refresh_stores_both_layers_and_the_one_map_config_says_when(
        connection: Connection, engine: Engine, session: Session, client: TestClient) -> None:
    session.execute(text("DELETE FROM hotspot_cells; DELETE FROM blind_spots"))
    settings = AnalyticsSettings(refresh_cell="h3:10", refresh_window_days=366)
    before = map_analyses_status(session, settings)
    assert before["hotspots"]["computed_at"] is None
    assert before["blind-spots"] == {"computed_at": None, "features": 0, "significant": 0,
                                     "method": None, "refresh_hours": 6.0}

    done = refresh_map_analyses(_sessions(connection), engine, ResultCache(), settings, NOW)

    cells, significant, holes = _counts(session)
    assert cells > 0
    assert significant > 0  # markets and schools stand out at H3 resolution 10
    assert holes > 0
    assert sum(done["hotspots"].values()) == cells  # every cell stored, with its class
    assert sum(n for k, n in done["hotspots"].items() if k != "0") == significant
    assert done["blind-spots"] == holes
    status = client.get("/api/v1/web/config").json()["analyses"]
    assert status["hotspots"]["features"] == cells
    assert status["hotspots"]["significant"] == significant
    assert status["hotspots"]["method"] == "gi_star:h3:10"
    assert status["blind-spots"]["features"] == holes
    assert status["hotspots"]["computed_at"] is not None
    assert status["blind-spots"]["computed_at"] is not None


def test_a_refresh_another_process_is_running_is_skipped(
        connection: Connection, engine: Engine, session: Session) -> None:
    session.execute(text("DELETE FROM hotspot_cells; DELETE FROM blind_spots"))
    with engine.connect() as other, other.begin():
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK_KEY})
        done = refresh_map_analyses(_sessions(connection), engine, ResultCache(),
                                    AnalyticsSettings(), NOW)
    assert done == {}
    assert _counts(session) == (0, 0, 0)


def test_without_a_schedule_the_map_says_an_analyst_computes_it(session: Session) -> None:
    session.execute(text("DELETE FROM hotspot_cells"))
    status = map_analyses_status(session, AnalyticsSettings(refresh_interval_seconds=0))
    assert status["hotspots"]["computed_at"] is None
    assert status["hotspots"]["refresh_hours"] is None
