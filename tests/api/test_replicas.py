"""Reads from a real streaming replica (``GRIDGOV_DATABASE_READ_URL``), lag included.

The replica is a hot standby of the test cluster made by ``pg_basebackup -R``
(testkit/replicas.py). Lag is made on purpose by pausing the standby's replay:
what is read there shows the past, while the tile cache and the analytics cache
answer with every commit made before the request, and reads that must see one's
writes (the tracking page) stay on the primary.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.db.migrate import upgrade
from api.db.session import make_engine
from api.deps import get_state
from api.io.samples import load_directory
from api.main import create_app
from api.replicas.routing import caught_up
from api.settings import Settings
from api.tiles.service import TileService
from testkit.databases import create_database, drop_database, plain
from testkit.replicas import streaming_replica, wait_for_replay
from testkit.tiles import tile_of


@pytest.fixture(scope="module")
def primary_url(server_url: str, sample_dir: Path) -> Iterator[str]:
    """A database of its own with the small sample, committed (so the replica gets it)."""
    name = f"gridgov_replica_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    upgrade(url)
    engine = make_engine(url, pool_size=1)
    load_directory(engine, sample_dir)
    engine.dispose()
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def replica_url(primary_url: str) -> Iterator[str]:
    """The same database on a streaming replica of the cluster, caught up."""
    with streaming_replica(primary_url) as url, \
            psycopg.connect(plain(primary_url), autocommit=True) as p, \
            psycopg.connect(plain(url), autocommit=True) as r:
        wait_for_replay(p, r)
        yield url


@pytest.fixture(scope="module")
def client(primary_url: str, replica_url: str) -> Iterator[TestClient]:
    """An app on the primary reading from the replica."""
    settings = Settings()
    settings.db.database_url = primary_url
    settings.db.database_read_url = replica_url
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture()
def pg(primary_url: str) -> Iterator[psycopg.Connection]:
    """Autocommit connection to the primary."""
    with psycopg.connect(plain(primary_url), autocommit=True) as conn:
        yield conn


@pytest.fixture()
def standby(replica_url: str, pg: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """Autocommit connection to the replica; its replay is resumed and caught up afterwards."""
    with psycopg.connect(plain(replica_url), autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
            wait_for_replay(pg, conn)


def _pause(standby: psycopg.Connection) -> None:
    standby.execute("SELECT pg_wal_replay_pause()")
    while standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
        pass


def _open_event(pg: psycopg.Connection) -> tuple[int, float, float]:
    row = pg.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM events WHERE status NOT IN "
                     "('closed', 'duplicate') ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


def _tile_status(client: TestClient, path: str, eid: int) -> Any:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    features = {int(f["id"]): f for layer in mapbox_vector_tile.decode(resp.content).values()
                for f in layer["features"]}
    return features[eid]["properties"]["status"]


def _ogc_status(client: TestClient, eid: int) -> Any:
    resp = client.get(f"/ogc/collections/events/items/{eid}", params={"f": "json"})
    assert resp.status_code == 200, resp.text
    return resp.json()["properties"]["status"]


def _service(client: TestClient) -> TileService:
    class _Req:
        app = client.app

    return get_state(_Req()).tiles  # type: ignore[arg-type]


def test_features_read_the_replica_and_tiles_stay_fresh_under_lag(
        client: TestClient, pg: psycopg.Connection, standby: psycopg.Connection) -> None:
    eid, lon, lat = _open_event(pg)
    x, y = tile_of(lon, lat, 15)
    path = f"/tiles/events/15/{x}/{y}.mvt"
    before = _tile_status(client, path, eid)
    assert _ogc_status(client, eid) == before
    service = _service(client)
    assert service.replicas and service.primary_fallbacks == 0  # built on the replica

    _pause(standby)
    pg.execute("UPDATE events SET status = 'closed', closed_at = now() WHERE id = %s", (eid,))
    # the features are read on the replica, which has not replayed the change yet ...
    assert _ogc_status(client, eid) == before
    # ... while the tile (cached before the change) is rebuilt, on the primary, at once
    assert _tile_status(client, path, eid) == "closed"
    assert service.primary_fallbacks == 1

    standby.execute("SELECT pg_wal_replay_resume()")
    wait_for_replay(pg, standby)
    assert _ogc_status(client, eid) == "closed"
    x2, y2 = tile_of(lon, lat, 16)
    assert _tile_status(client, f"/tiles/events/16/{x2}/{y2}.mvt", eid) == "closed"
    assert service.primary_fallbacks == 1  # a caught-up replica builds the tiles again


def test_a_new_report_is_tracked_on_the_primary_while_the_replica_lags(
        client: TestClient, pg: psycopg.Connection, standby: psycopg.Connection) -> None:
    _, lon, lat = _open_event(pg)
    _pause(standby)
    resp = client.post("/api/v1/events", json={"category": "0101", "description": "lag",
                                               "location": {"x": lon, "y": lat}})
    assert resp.status_code == 201, resp.text
    event = resp.json()
    track = client.get(f"/api/v1/track/{event['public_token']}")
    assert track.status_code == 200, track.text
    # the replica does not have it yet: OGC features say so, the tracking page did not care
    assert client.get(f"/ogc/collections/events/items/{event['id']}",
                      params={"f": "json"}).status_code == 404


def _replays_to_current(pg: psycopg.Connection, standby: psycopg.Connection,
                        replica: Engine, primary: Engine, timeout: float = 30.0) -> bool:
    """Whether the replica, once it has replayed, is current for ``events``.

    The app of the module's ``client`` keeps running its background loops
    (escalation, notifications), which may write to ``events`` between the
    replay and the check; the check is made again after the next replay.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait_for_replay(pg, standby)
        with replica.connect() as conn:
            if caught_up(conn, primary, ["events"]):
                return True
    return False


def test_analysis_results_are_computed_where_the_changes_are(
        primary_url: str, replica_url: str, pg: psycopg.Connection,
        standby: psycopg.Connection) -> None:
    engine = make_engine(primary_url, pool_size=1)
    replica = make_engine(replica_url, pool_size=1)
    try:
        assert _replays_to_current(pg, standby, replica, engine)
        _pause(standby)
        pg.execute("UPDATE events SET description = 'edited' WHERE id = "
                   "(SELECT min(id) FROM events)")
        with replica.connect() as conn:
            assert not caught_up(conn, engine, ["events"])
            assert caught_up(conn, engine, ["cameras"])  # untouched tables are current
    finally:
        engine.dispose()
        replica.dispose()
