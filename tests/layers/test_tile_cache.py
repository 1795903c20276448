"""The tile cache is never stale: committed edits show in the next tile, from any process."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from api.tiles.cache import (
    CachedTile,
    TileCache,
    etag_of,
    tile_bounds,
)
from api.tiles.service import TileService, make_tile_engine
from testkit.tiles import tile_of

Z = 16


def _features(client: TestClient, path: str) -> dict[int, dict[str, object]]:
    resp = client.get(path)
    assert resp.status_code in (200, 204), resp.text
    if resp.status_code == 204:
        return {}
    layers = mapbox_vector_tile.decode(resp.content)
    return {int(f["id"]): f for layer in layers.values() for f in layer["features"]}


def _service(client: TestClient) -> TileService:
    return client.app.state.gridgov.tiles  # type: ignore[attr-defined]


def _lonlat(pg: psycopg.Connection, sql: str, *params: object) -> tuple[int, float, float]:
    row = pg.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


def test_moved_building_leaves_its_old_tile_and_joins_the_new(
        tiles_client: TestClient, pg: psycopg.Connection) -> None:
    bid, lon, lat = _lonlat(pg, "SELECT id, ST_X(c), ST_Y(c) FROM (SELECT id, "
                                "ST_Centroid(geom) c FROM buildings ORDER BY id LIMIT 1) s")
    x, y = tile_of(lon, lat, Z)
    old_path = f"/tiles/buildings/{Z}/{x}/{y}.mvt"
    assert bid in _features(tiles_client, old_path)
    service = _service(tiles_client)
    hits = service.cache.hits
    assert bid in _features(tiles_client, old_path)
    assert service.cache.hits == hits + 1  # served from the cache
    # a tile far away is cached too and must survive the edit
    far_id, flon, flat = _lonlat(pg, "SELECT id, ST_X(c), ST_Y(c) FROM (SELECT id, "
                                     "ST_Centroid(geom) c FROM buildings ORDER BY "
                                     "ST_Distance(geom, %s::geometry) DESC LIMIT 1) s",
                                 f"SRID=4326;POINT({lon} {lat})")
    fx, fy = tile_of(flon, flat, Z)
    assert (fx, fy) != (x, y)
    far_path = f"/tiles/buildings/{Z}/{fx}/{fy}.mvt"
    assert far_id in _features(tiles_client, far_path)

    pg.execute("UPDATE buildings SET geom = ST_Translate(geom, 0.01, 0) WHERE id = %s", (bid,))
    nx, ny = tile_of(lon + 0.01, lat, Z)
    assert bid not in _features(tiles_client, old_path)
    assert bid in _features(tiles_client, f"/tiles/buildings/{Z}/{nx}/{ny}.mvt")
    hits = service.cache.hits
    assert far_id in _features(tiles_client, far_path)
    assert service.cache.hits == hits + 1  # the untouched tile was not evicted

    pg.execute("UPDATE buildings SET geom = ST_Translate(geom, -0.01, 0), floors = 99 "
               "WHERE id = %s", (bid,))
    back = _features(tiles_client, old_path)
    assert back[bid]["properties"]["floors"] == 99  # type: ignore[index]


def test_closed_event_changes_every_zoom(tiles_client: TestClient,
                                         pg: psycopg.Connection) -> None:
    eid, lon, lat = _lonlat(pg, "SELECT id, ST_X(geom), ST_Y(geom) FROM events WHERE status "
                                "<> 'closed' AND closed_at IS NULL ORDER BY id LIMIT 1")
    paths = []
    for z in (12, 14, 17):
        x, y = tile_of(lon, lat, z)
        paths.append(f"/tiles/events/{z}/{x}/{y}.mvt")
        assert _features(tiles_client, paths[-1])[eid]["properties"]["status"] != "closed"  # type: ignore[index]
    x, y = tile_of(lon, lat, 14)
    open_only = f"/tiles/events/14/{x}/{y}.mvt?status=registered,dispatched,in_progress,handled"
    before_open = _features(tiles_client, open_only)

    pg.execute("UPDATE events SET status = 'closed', closed_at = now() WHERE id = %s", (eid,))
    for path in paths:
        assert _features(tiles_client, path)[eid]["properties"]["status"] == "closed"  # type: ignore[index]
    assert eid not in _features(tiles_client, open_only)
    assert len(before_open) - (eid in before_open) == len(_features(tiles_client, open_only))


def test_redrawn_grid_is_drawn_anew(tiles_client: TestClient, pg: psycopg.Connection) -> None:
    gid, lon, lat = _lonlat(pg, "SELECT g.id, ST_X(c), ST_Y(c) FROM (SELECT id, layer_id, "
                                "ST_PointOnSurface(geom) c FROM grids) g JOIN grid_layers l "
                                "ON l.id = g.layer_id WHERE l.name = 'basic' ORDER BY g.id "
                                "LIMIT 1")
    x, y = tile_of(lon, lat, 14)
    path = f"/tiles/grids-basic/14/{x}/{y}.mvt"
    before = _features(tiles_client, path)[gid]
    pg.execute("UPDATE grids SET geom = ST_Multi(ST_Buffer(ST_PointOnSurface(geom), 0.0005, 2)),"
               " name = 'redrawn' WHERE id = %s", (gid,))
    after = _features(tiles_client, path)[gid]
    assert after["properties"]["name"] == "redrawn"  # type: ignore[index]
    assert after["geometry"] != before["geometry"]


def test_change_from_another_process_is_seen(tiles_client: TestClient, tiles_db: str,
                                             pg: psycopg.Connection) -> None:
    rid, lon, lat = _lonlat(pg, "SELECT id, ST_X(ST_PointN(ST_GeometryN(geom, 1), 1)), "
                                "ST_Y(ST_PointN(ST_GeometryN(geom, 1), 1)) FROM roads "
                                "ORDER BY id LIMIT 1")
    x, y = tile_of(lon, lat, Z)
    path = f"/tiles/roads/{Z}/{x}/{y}.mvt"
    assert rid in _features(tiles_client, path)
    plain = make_url(tiles_db).set(drivername="postgresql").render_as_string(hide_password=False)
    script = ("import psycopg, sys\n"
              "with psycopg.connect(sys.argv[1]) as c:\n"
              "    c.execute(\"UPDATE roads SET name = 'renamed by CLI' WHERE id = %s\", "
              "(int(sys.argv[2]),))\n")
    # our own interpreter and script, with the test database URL
    subprocess.run([sys.executable, "-c", script, plain, str(rid)], check=True, timeout=60)  # noqa: S603
    assert _features(tiles_client, path)[rid]["properties"]["name"] == "renamed by CLI"  # type: ignore[index]


def test_new_grid_layer_appears_and_camera_view_follows_its_camera(
        tiles_client: TestClient, pg: psycopg.Connection) -> None:
    pg.execute("INSERT INTO grid_layers (name, kind, exclusive) VALUES ('patrol', 'special', "
               "false)")
    try:
        assert tiles_client.get("/tiles/grids-patrol.json").status_code == 200
    finally:
        pg.execute("DELETE FROM grid_layers WHERE name = 'patrol'")
    assert tiles_client.get("/tiles/grids-patrol.json").status_code == 404
    cid, lon, lat = _lonlat(pg, "SELECT id, ST_X(geom), ST_Y(geom) FROM cameras "
                                "WHERE kind = 'fixed' ORDER BY id LIMIT 1")
    x, y = tile_of(lon, lat, Z)
    path = f"/tiles/camera-views/{Z}/{x}/{y}.mvt"
    before = _features(tiles_client, path)[cid]["geometry"]
    pg.execute("UPDATE cameras SET heading = heading + 90 WHERE id = %s", (cid,))
    assert _features(tiles_client, path)[cid]["geometry"] != before


def test_event_tile_expires_when_an_open_event_falls_due(
        tiles_client: TestClient, pg: psycopg.Connection) -> None:
    eid, lon, lat = _lonlat(pg, "SELECT id, ST_X(geom), ST_Y(geom) FROM events WHERE "
                                "closed_at IS NULL AND status NOT IN ('closed', 'evaluated', "
                                "'cancelled', 'duplicate', 'rejected') ORDER BY id LIMIT 1")
    pg.execute("UPDATE events SET due_at = now() + interval '1.5 seconds' WHERE id = %s", (eid,))
    x, y = tile_of(lon, lat, 17)
    path = f"/tiles/events/17/{x}/{y}.mvt"
    assert _features(tiles_client, path)[eid]["properties"]["overdue"] is False  # type: ignore[index]
    time.sleep(2.0)
    assert _features(tiles_client, path)[eid]["properties"]["overdue"] is True  # type: ignore[index]


def test_density_raster_changes_when_events_arrive(tiles_client: TestClient,
                                                   pg: psycopg.Connection) -> None:
    _, lon, lat = _lonlat(pg, "SELECT 0, ST_X(ST_Centroid(ST_Extent(geom))), "
                              "ST_Y(ST_Centroid(ST_Extent(geom))) FROM buildings")
    x, y = tile_of(lon, lat, 15)
    path = f"/tiles/raster/event-density/15/{x}/{y}.png"
    first = tiles_client.get(path)
    assert tiles_client.get(path).content == first.content
    pg.execute("INSERT INTO events (public_token, category_id, status, channel, geom) SELECT "
               "'tiles-test-' || i, (SELECT min(id) FROM event_categories), 'registered', 'app',"
               " ST_SetSRID(ST_MakePoint(%s, %s), 4326) FROM generate_series(1, 40) i",
               (lon, lat))
    try:
        # the in-memory copy of the positions is now stale: the tile is drawn from its
        # own rows while the copy is read again, and the two ways draw the same tile
        rasters = tiles_client.app.state.gridgov.rasters  # type: ignore[attr-defined]
        rasters.refresh_interval = 0.0  # the stale copy is read again at once
        changed = tiles_client.get(path).content
        assert changed != first.content
        rasters.wait_for_reload()
        assert rasters._points is not None
        assert len(rasters._points[1]) >= 40  # the copy holds the new events
        rasters.tiles.cache.clear()
        assert tiles_client.get(path).content == changed
    finally:
        rasters.refresh_interval = type(rasters).refresh_interval
        pg.execute("DELETE FROM events WHERE public_token LIKE 'tiles-test-%%'")


def test_cache_budget_and_stale_puts() -> None:
    cache = TileCache(max_bytes=3000)
    cache._known = {"buildings": 5}
    bounds = tile_bounds(10, 1, 1)
    for i in range(10):
        entry = CachedTile(bytes(1000), etag_of(bytes(i)), bounds, None)
        assert cache.put(("buildings", 10, i, 1, ()), entry, ("buildings",), {"buildings": 5})
        assert cache.size <= 3000
    assert len(cache) == 2
    assert cache.get(("buildings", 10, 9, 1, ())) is not None
    assert cache.get(("buildings", 10, 0, 1, ())) is None  # least recently used went first
    # a tile built from an older snapshot than the cache knows is served but not stored
    old = CachedTile(b"x", etag_of(b"x"), bounds, None)
    assert not cache.put(("buildings", 10, 0, 2, ()), old, ("buildings",), {"buildings": 4})
    expired = CachedTile(b"y", etag_of(b"y"), bounds, datetime.now(UTC) - timedelta(seconds=1))
    assert cache.put(("buildings", 10, 0, 3, ()), expired, ("buildings",), {"buildings": 5})
    assert cache.get(("buildings", 10, 0, 3, ())) is None


@pytest.mark.parametrize("box", [(0.0, 0.0, 1.0, 1.0), None])
def test_eviction_by_box_at_every_zoom(box: tuple[float, float, float, float] | None) -> None:
    cache = TileCache(max_bytes=10**6)
    cache._known = {"roads": 1}
    keys = []
    for z in (2, 8, 14):
        for lon in (0.5, 100.0):
            x, y = tile_of(lon, 0.5, z)
            key = ("roads", z, x, y, ())
            entry = CachedTile(b"t", etag_of(b"t"), tile_bounds(z, x, y), None)
            assert cache.put(key, entry, ("roads",), {"roads": 1})
            keys.append((lon, key))
    row = ("roads", *(box or (None, None, None, None)))
    cache.evict_changes([row], ["roads"])
    for lon, key in keys:
        near = lon < 50 or box is None
        assert (cache.get(key) is None) == near, key


def test_tile_connections_are_tuned_reused_and_replaced_after_a_failure(tiles_db: str) -> None:
    from api.tiles.service import TileConnections

    url = make_url(tiles_db).set(drivername="postgresql").render_as_string(hide_password=False)
    conns = TileConnections(url, size=1)
    try:
        show = ("SELECT current_setting('max_parallel_workers_per_gather'), "
                "current_setting('jit'), current_setting('plan_cache_mode'), pg_backend_pid()")
        *options, pid = conns.fetch(show, {})
        assert options == ["0", "off", "force_generic_plan"]
        assert conns.fetch(show, {})[3] == pid  # reused
        data = conns.fetch("SELECT decode('00ff10', 'hex')", {})[0]
        assert bytes(data) == b"\x00\xff\x10"  # binary results, no hex text
        with pytest.raises(psycopg.errors.DivisionByZero):
            conns.fetch("SELECT 1 / %(zero)s", {"zero": 0})
        pid_after = conns.fetch(show, {})[3]
        assert pid_after != pid  # the failed connection was not reused
        # a backend gone while idle (PostgreSQL restarted) is replaced without an error
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid_after,))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with psycopg.connect(url, autocommit=True) as admin:
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                    (pid_after,)).fetchone()
            if row is not None and row[0] == 0:
                break
            time.sleep(0.05)
        assert conns.fetch(show, {})[3] not in (pid, pid_after)
    finally:
        conns.close()


REFERENCE_TILE = """
SELECT ST_AsMVT(q, 'buildings', 4096, 'geom', 'fid') FROM (
  SELECT t.id AS fid, t.code AS "code", t.name AS "name", t.address AS "address",
         t.floors AS "floors", t.height AS "height", t.use AS "use",
         t.community_code AS "community_code", t.status AS "status",
         ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                      4096, 64, true) AS geom
  FROM buildings AS t
  WHERE ST_Transform(t.geom, 3857) && ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096)
) AS q"""


def test_buildings_tiles_equal_the_plain_st_asmvtgeom_tile_at_every_zoom(
        tiles_client: TestClient, pg: psycopg.Connection) -> None:
    """Stored EPSG:3857 footprints and footprints pre-drawn per zoom change nothing."""
    row = pg.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) c "
                     "FROM buildings) s").fetchone()
    assert row is not None
    compared = translated = 0
    for z in (13, 14, 15, 16, 17):
        cx, cy = tile_of(float(row[0]), float(row[1]), z)
        for x, y in ((cx, cy), (cx + 1, cy), (cx, cy + 1)):
            served = _features(tiles_client, f"/tiles/buildings/{z}/{x}/{y}.mvt")
            mvt = pg.execute(REFERENCE_TILE, {"z": z, "x": x, "y": y}).fetchone()
            assert mvt is not None
            expected = ({int(f["id"]): f for f in mapbox_vector_tile.decode(bytes(mvt[0]))
                         ["buildings"]["features"]} if mvt[0] else {})
            assert served == expected, (z, x, y)
            compared += len(served)
            if z <= 16:  # features wholly inside the tile took the pre-drawn path
                # z is the loop's own integer; the rest is bound
                translated += pg.execute(
                    f"SELECT count(*) FROM buildings WHERE tile_px{z} @ ST_MakeEnvelope("  # noqa: S608
                    "%(x)s * 4096.0 - 64, %(y)s * 4096.0 - 64, %(x)s * 4096.0 + 4160, "
                    "%(y)s * 4096.0 + 4160)", {"x": x, "y": y}).fetchone()[0]  # type: ignore[index]
    assert compared > 100
    assert translated > 50


def test_tile_engine_options(tiles_db: str) -> None:
    engine = make_tile_engine(tiles_db, pool_size=1)
    try:
        with engine.connect() as conn:
            from sqlalchemy import text

            got = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                   for name in ("max_parallel_workers_per_gather", "jit", "plan_cache_mode")}
    finally:
        engine.dispose()
    assert got == {"max_parallel_workers_per_gather": "0", "jit": "off",
                   "plan_cache_mode": "force_generic_plan"}
