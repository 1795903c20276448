"""POST /api/v1/assign and the server's in-memory grid index (issue 3, in the server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.grids.lookup import IndexedGridLookup, PostGISGridLookup
from gis_core.crs import from_wgs84
from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def _inside_points(engine: Engine, n: int = 5) -> list[tuple[str, float, float]]:
    """Interior points of current basic grids with their codes, from PostGIS."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT g.code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) p "
            "FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
            "WHERE l.name = 'basic' AND g.valid_to IS NULL ORDER BY code LIMIT :n) g"),
            {"n": n}).all()
    return [(r[0], float(r[1]), float(r[2])) for r in rows]


def _bounds(engine: Engine) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) e FROM grids) s")).one()
    return tuple(float(v) for v in row)  # type: ignore[return-value]


def test_points_land_in_their_grid_in_every_layer(client: TestClient, engine: Engine) -> None:
    points = _inside_points(engine)
    resp = client.post("/api/v1/assign",
                       json={"points": [[x, y] for _, x, y in points]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["count"] == len(points)
    assert {layer["name"]: layer["exclusive"] for layer in body["layers"]} == {
        "basic": True, "functional": False}
    assert [r["basic"] for r in body["results"]] == [code for code, _, _ in points]
    assert body["outside"] == []
    for result in body["results"]:
        assert result["functional"] is None or result["functional"] == sorted(
            result["functional"])


def test_index_answers_like_postgis_on_random_points(engine: Engine) -> None:
    x0, y0, x1, y1 = _bounds(engine)
    rng = np.random.default_rng(3)
    lon = rng.uniform(x0 - 0.002, x1 + 0.002, 3000)
    lat = rng.uniform(y0 - 0.002, y1 + 0.002, 3000)
    ours = IndexedGridLookup(engine).assign(lon, lat)
    reference = PostGISGridLookup(engine).assign(lon, lat)
    assert list(ours.columns) == list(reference.columns)
    assert ours.to_dict("list") == reference.to_dict("list")
    assert ours["basic"].notna().sum() > 1000  # most points are inside the town


@pytest.mark.parametrize("crs", ["GCJ02", "BD09", "EPSG:4490", "EPSG:4547", "EPSG:3857"])
def test_any_chinese_crs_gives_the_same_grids(client: TestClient, engine: Engine,
                                              crs: str) -> None:
    points = _inside_points(engine, 8)
    x, y = from_wgs84([p[1] for p in points], [p[2] for p in points], crs)
    resp = client.post("/api/v1/assign",
                       json={"crs": crs, "points": np.column_stack([x, y]).tolist()})
    assert resp.status_code == 200, resp.text
    assert [r["basic"] for r in resp.json()["results"]] == [p[0] for p in points]


def test_feature_collection_input(client: TestClient, engine: Engine) -> None:
    (code, x, y), = _inside_points(engine, 1)
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "EPSG:4326"}}, "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                             "coordinates": [x, y]}}]}
    resp = client.post("/api/v1/assign", json=fc)
    assert resp.status_code == 200, resp.text
    assert resp.json()["results"][0]["basic"] == code


def test_outside_and_swapped_points_are_named(client: TestClient, engine: Engine) -> None:
    (code, x, y), = _inside_points(engine, 1)
    resp = client.post("/api/v1/assign", json={"points": [[x, y], [y, x], [0.0, 0.0]]})
    body = resp.json()
    assert resp.status_code == 200
    assert body["results"][0]["basic"] == code
    assert body["results"][1] == {"basic": None, "functional": None}
    assert body["outside"] == [1, 2]
    assert body["swapped"] == [1]
    assert "swapped" in body["message"] and "longitude" in body["message"]


def test_empty_request_gives_an_empty_answer(client: TestClient) -> None:
    resp = client.post("/api/v1/assign", json={"points": []})
    assert resp.status_code == 200
    assert resp.json()["results"] == [] and resp.json()["outside"] == []


@pytest.mark.parametrize(("body", "status", "code", "names"), [
    ('{"points": [[114.25, NaN]]}', 422, "invalid_coordinates", "points[0]"),
    ('{"points": [[114.25, 22.7], [Infinity, 22.7]]}', 422, "invalid_coordinates", "points[1]"),
    ('{"points": [[114.25, "x"]]}', 422, "invalid_coordinates", "points[0]"),
    ('{"points": [[114.25, 22.7]], "crs": "EPSG:999999"}', 422, "unknown_crs", "crs"),
    ('{"points": [[114.25, 22.7]], "at": "yesterday"}', 422, "invalid_parameter", "at"),
    ('{"type": "FeatureCollection", "features": [{"geometry": {"type": "LineString"}}]}',
     422, "invalid_geometry", "features[0]"),
    ('{"nothing": 1}', 422, "invalid_parameter", "points"),
    ('not json', 422, "invalid_json", "JSON"),
])
def test_bad_input_is_a_clear_422(client: TestClient, body: str, status: int, code: str,
                                  names: str) -> None:
    resp = client.post("/api/v1/assign", content=body,
                       headers={"content-type": "application/json"})
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code
    assert names in resp.json()["message"]


def test_more_than_100k_points_is_refused(client: TestClient) -> None:
    body = json.dumps({"points": [[114.25, 22.72]] * 100_001})
    resp = client.post("/api/v1/assign", content=body,
                       headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["code"] == "too_many_points"
    assert "100,000" in resp.json()["message"]


@pytest.fixture()
def redrawn_grid(engine: Engine) -> Iterator[tuple[str, str, float, float, datetime]]:
    """A basic grid redrawn (committed, then undone): its old version ends at ``cut``."""
    (code, x, y), = _inside_points(engine, 1)
    cut = datetime.now(UTC) - timedelta(days=1)
    new_code = code[:-3] + "999"
    with engine.begin() as conn:
        conn.execute(text("UPDATE grids SET valid_to = :cut WHERE code = :code "
                          "AND valid_to IS NULL"), {"cut": cut, "code": code})
        conn.execute(text(
            "INSERT INTO grids (layer_id, code, name, community_code, geom, valid_from, "
            "attributes) SELECT layer_id, :new, name, community_code, geom, :cut, attributes "
            "FROM grids WHERE code = :code AND valid_to = :cut"),
            {"new": new_code, "cut": cut, "code": code})
    try:
        yield code, new_code, x, y, cut
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM grids WHERE code = :new"), {"new": new_code})
            conn.execute(text("UPDATE grids SET valid_to = NULL WHERE code = :code "
                              "AND valid_to = :cut"), {"code": code, "cut": cut})


def test_a_redrawn_grid_is_used_at_once_and_history_keeps_the_old(
        client: TestClient, redrawn_grid: tuple[str, str, float, float, datetime]) -> None:
    old, new, x, y, cut = redrawn_grid
    now = client.post("/api/v1/assign", json={"points": [[x, y]]}).json()
    assert now["results"][0]["basic"] == new
    before = client.post("/api/v1/assign", json={
        "points": [[x, y]], "at": (cut - timedelta(hours=1)).isoformat()}).json()
    assert before["results"][0]["basic"] == old
    lookup = client.app.state.gridgov.grid_lookup  # type: ignore[attr-defined]
    builds = lookup.builds
    client.post("/api/v1/assign", json={"points": [[x, y]]})
    assert lookup.builds == builds, "an unchanged database does not rebuild the index"


def test_cameras_and_buildings_carry_their_grids(client: TestClient, engine: Engine) -> None:
    cams = client.get("/api/v1/cameras", params={"limit": 50}).json()["features"]
    points = [f["geometry"]["coordinates"] for f in cams]
    expected = client.post("/api/v1/assign", json={"points": points}).json()["results"]
    assert [f["properties"]["grids"]["basic"] for f in cams] == [e["basic"] for e in expected]
    with engine.connect() as conn:
        code, best = conn.execute(text(
            "SELECT b.code, (SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id"
            " WHERE l.name = 'basic' AND g.valid_to IS NULL AND ST_Intersects(g.geom, b.geom)"
            " ORDER BY ST_Area(ST_Intersection(g.geom, b.geom)) DESC LIMIT 1) "
            "FROM buildings b ORDER BY b.id LIMIT 1")).one()
    record = client.get(f"/api/v1/buildings/{code}").json()
    assert record["properties"]["attributes"]["grids"]["basic"] == best
