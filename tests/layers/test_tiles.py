"""Vector and raster tiles over HTTP: the right features, headers, filters and errors."""

from __future__ import annotations

import io
from typing import Any

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
import rasterio
from fastapi.testclient import TestClient

from testkit.tiles import tile_of

MVT = "application/vnd.mapbox-vector-tile"
Z = 15


@pytest.fixture(scope="module")
def centre(tiles_db: str) -> tuple[float, float]:
    """A point in the middle of the sample's buildings."""
    from sqlalchemy import make_url

    plain = make_url(tiles_db).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        row = conn.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) "
                           "AS c FROM buildings) s").fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def _decode(content: bytes) -> dict[str, list[dict[str, object]]]:
    tile = mapbox_vector_tile.decode(content)
    return {name: layer["features"] for name, layer in tile.items()}


def _ids_in_tile(pg: psycopg.Connection, sql_from: str, z: int, x: int, y: int,
                 where: str = "TRUE", params: tuple[object, ...] = ()) -> set[int]:
    # the oracle: sql_from and where are written in the tests, values are bound
    rows = pg.execute(
        f"SELECT t.id FROM {sql_from} WHERE ST_Intersects(ST_Transform(t.geom, 3857), "  # noqa: S608
        f"ST_TileEnvelope(%s, %s, %s, margin => 64.0 / 4096)) AND {where}",
        (z, x, y, *params)).fetchall()
    return {int(r[0]) for r in rows}


def test_buildings_tile_holds_exactly_the_buildings_there(
        tiles_client: TestClient, pg: psycopg.Connection, centre: tuple[float, float]) -> None:
    x, y = tile_of(*centre, Z)
    resp = tiles_client.get(f"/tiles/buildings/{Z}/{x}/{y}.mvt")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == MVT
    features = _decode(resp.content)["buildings"]
    expected = _ids_in_tile(pg, "buildings t", Z, x, y)
    assert expected
    assert {f["id"] for f in features} == expected
    rows: dict[Any, Any] = dict(pg.execute("SELECT id, code FROM buildings WHERE id = ANY(%s)",
                           (list(expected),)).fetchall())
    floors: dict[Any, Any] = dict(pg.execute("SELECT id, floors FROM buildings WHERE id = ANY(%s)",
                             (list(expected),)).fetchall())
    for f in features:
        props = f["properties"]
        assert isinstance(props, dict)
        assert props["code"] == rows[f["id"]]
        assert props.get("floors") == floors[f["id"]]
        assert not {"reporter_phone", "attributes"} & set(props)


def test_empty_tile_is_204(tiles_client: TestClient) -> None:
    resp = tiles_client.get("/tiles/buildings/15/0/0.mvt")
    assert resp.status_code == 204
    assert resp.content == b""
    assert tiles_client.get("/tiles/buildings/3/1/1.mvt").status_code == 204  # below minzoom


def test_etag_and_if_none_match(tiles_client: TestClient, centre: tuple[float, float]) -> None:
    x, y = tile_of(*centre, Z)
    first = tiles_client.get(f"/tiles/roads/{Z}/{x}/{y}.mvt")
    etag = first.headers["etag"]
    assert first.status_code == 200
    assert etag.startswith('"')
    assert first.headers["cache-control"]
    again = tiles_client.get(f"/tiles/roads/{Z}/{x}/{y}.mvt", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = tiles_client.get(f"/tiles/roads/{Z}/{x}/{y}.mvt", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200
    assert other.content == first.content


def test_multi_layer_tile_has_every_layer(tiles_client: TestClient,
                                          centre: tuple[float, float]) -> None:
    x, y = tile_of(*centre, Z)
    resp = tiles_client.get(f"/tiles/buildings,grids-basic,events/{Z}/{x}/{y}.mvt")
    assert resp.status_code == 200
    layers = _decode(resp.content)
    assert set(layers) == {"buildings", "grids-basic", "events"}
    single = _decode(tiles_client.get(f"/tiles/events/{Z}/{x}/{y}.mvt").content)
    assert len(layers["events"]) == len(single["events"])


@pytest.mark.parametrize(("query", "where", "params"), [
    ("status=closed,evaluated", "t.status = ANY(%s)", (["closed", "evaluated"],)),
    ("category=01", "t.category_id IN (SELECT id FROM event_categories WHERE major_code = %s "
                    "OR code = %s)", ("01", "01")),
    ("datetime=2026-03-01T00:00:00Z/2026-06-01T00:00:00Z", "t.reported_at BETWEEN %s AND %s",
     ("2026-03-01T00:00:00Z", "2026-06-01T00:00:00Z")),
    ("overdue=true", "t.closed_at IS NULL AND t.status NOT IN ('closed', 'evaluated', "
                     "'cancelled', 'duplicate', 'rejected') AND t.due_at < now()", ()),
])
def test_event_filters_select_the_right_events(
        tiles_client: TestClient, pg: psycopg.Connection, centre: tuple[float, float],
        query: str, where: str, params: tuple[object, ...]) -> None:
    z = 14
    x, y = tile_of(*centre, z)
    resp = tiles_client.get(f"/tiles/events/{z}/{x}/{y}.mvt?{query}")
    expected = _ids_in_tile(pg, "events t", z, x, y, where, params)
    everything = _ids_in_tile(pg, "events t", z, x, y)
    assert expected or query.startswith("overdue")  # the sample has some of each
    if not expected:
        assert resp.status_code == 204
        return
    assert resp.status_code == 200
    got = {f["id"] for f in _decode(resp.content)["events"]}
    assert got == expected
    assert len(got) < len(everything)


def test_invalid_requests_are_clear_errors(tiles_client: TestClient) -> None:
    cases = {
        "/tiles/events/14/1/1.mvt?status=bogus": (422, "status"),
        "/tiles/events/14/1/1.mvt?colour=red": (422, "colour"),
        "/tiles/buildings/14/1/1.mvt?status=closed": (422, "status"),
        "/tiles/buildings/14/16384/1.mvt": (422, "'x'"),
        "/tiles/buildings/2/0/4.mvt": (422, "'y'"),
        "/tiles/buildings/25/0/0.mvt": (422, "'z'"),
        "/tiles/buildings/a/0/0.mvt": (422, "'z'"),
        "/tiles/nowhere/1/0/0.mvt": (404, "nowhere"),
        "/tiles/nowhere.json": (404, "nowhere"),
        "/tiles/raster/nothing/1/0/0.png": (404, "nothing"),
        "/tiles/raster/event-density/14/1/1.png?vmax=-1": (422, "vmax"),
    }
    for path, (status, word) in cases.items():
        resp = tiles_client.get(path)
        assert resp.status_code == status, path
        body = resp.json()
        assert word in body["message"], path
        assert "SELECT" not in body["message"], path


def test_tilejson_of_layers(tiles_client: TestClient, centre: tuple[float, float]) -> None:
    doc = tiles_client.get("/tiles/buildings.json").json()
    assert doc["tilejson"] == "3.0.0"
    minx, miny, maxx, maxy = doc["bounds"]
    assert minx <= centre[0] <= maxx
    assert miny <= centre[1] <= maxy
    assert doc["tiles"][0].endswith("/tiles/buildings/{z}/{x}/{y}.mvt")
    multi = tiles_client.get("/tiles/grids-basic,events.json?status=closed").json()
    assert [v["id"] for v in multi["vector_layers"]] == ["grids-basic", "events"]
    assert multi["tiles"][0].endswith("/tiles/grids-basic,events/{z}/{x}/{y}.mvt?status=closed")
    index = tiles_client.get("/tiles").json()
    ids = [entry["id"] for entry in index["layers"]]
    assert {"grids-basic", "grids-functional", "buildings", "events"} <= set(ids)
    assert {r["name"] for r in index["rasters"]} == {"event-density", "camera-coverage"}


def _png(content: bytes) -> np.ndarray:
    with rasterio.MemoryFile(io.BytesIO(content)) as mem, mem.open() as src:
        return np.asarray(src.read())


def test_density_png_is_coloured_where_the_events_are(
        tiles_client: TestClient, pg: psycopg.Connection, centre: tuple[float, float]) -> None:
    x, y = tile_of(*centre, 14)
    resp = tiles_client.get(f"/tiles/raster/event-density/14/{x}/{y}.png")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/png"
    img = _png(resp.content)
    assert img.shape == (4, 256, 256)
    # the pixel of the densest spot (most events within 50 m) is coloured
    row = pg.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(a.geom, 3857) p, count(*) n FROM "
        "events a JOIN events b ON ST_DWithin(a.geom::geography, b.geom::geography, 50) "
        "GROUP BY a.id, a.geom ORDER BY n DESC LIMIT 1) s").fetchone()
    assert row is not None
    size = 2 * 20037508.342789244 / (1 << 14)
    col = int((row[0] + 20037508.342789244 - x * size) / size * 256)
    line = int((20037508.342789244 - row[1] - y * size) / size * 256)
    if 0 <= col < 256 and 0 <= line < 256:
        assert img[3, line, col] > 0
    assert (img[3] > 0).mean() > 0.05
    far = tiles_client.get("/tiles/raster/event-density/14/0/0.png")
    assert far.status_code == 204
    filtered = tiles_client.get(f"/tiles/raster/event-density/14/{x}/{y}.png?status=cancelled")
    assert filtered.status_code in (200, 204)
    assert filtered.content != resp.content


def test_coverage_png_is_coloured_in_front_of_a_camera(
        tiles_client: TestClient, pg: psycopg.Connection) -> None:
    row = pg.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Project(geom::geography, "
        "range_m / 2, radians(heading))::geometry, 3857) p FROM cameras WHERE kind = 'fixed' "
        "AND status <> 'offline' ORDER BY id LIMIT 1) s").fetchone()
    assert row is not None
    z = 17
    size = 2 * 20037508.342789244 / (1 << z)
    x, y = int((row[0] + 20037508.342789244) // size), int((20037508.342789244 - row[1]) // size)
    resp = tiles_client.get(f"/tiles/raster/camera-coverage/{z}/{x}/{y}.png")
    assert resp.status_code == 200
    img = _png(resp.content)
    col = int((row[0] + 20037508.342789244 - x * size) / size * 256)
    line = int((20037508.342789244 - row[1] - y * size) / size * 256)
    assert img[3, line, col] > 0
    assert img[1, line, col] > img[0, line, col]
