"""The read endpoints of the foundation, on the small sample town in PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def test_healthz_reports_database_and_postgis_versions(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"]["postgresql"].startswith(("15", "16", "17", "14"))
    assert body["database"]["postgis"].startswith("3.")


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/grids" in paths and "/api/v1/buildings/{code}" in paths


def test_grids_of_a_layer_come_back_as_geojson_pages(client: TestClient,
                                                     connection: Connection) -> None:
    n_basic = connection.execute(text(
        "SELECT count(*) FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
        "WHERE l.name = 'basic' AND g.valid_to IS NULL")).scalar_one()
    page = client.get("/api/v1/grids", params={"layer": "basic", "limit": 10}).json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == n_basic
    assert page["numberReturned"] == 10
    assert {f["properties"]["layer"] for f in page["features"]} == {"basic"}
    assert all(len(f["properties"]["code"]) == 15 for f in page["features"])
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(nxt).json()
    assert not {f["id"] for f in second["features"]} & {f["id"] for f in page["features"]}


def test_grids_bbox_returns_only_grids_touching_the_box(client: TestClient) -> None:
    first = client.get("/api/v1/grids", params={"layer": "basic", "limit": 1}).json()
    c = shape(first["features"][0]["geometry"]).representative_point()
    bbox = (c.x - 0.001, c.y - 0.001, c.x + 0.001, c.y + 0.001)
    page = client.get("/api/v1/grids", params={
        "layer": "basic", "bbox": ",".join(map(str, bbox)), "limit": 1000}).json()
    assert 1 <= page["numberMatched"] < first["numberMatched"]
    assert all(shape(f["geometry"]).intersects(box(*bbox).buffer(1e-9))
               for f in page["features"])


def test_grid_by_code_and_unknown_code(client: TestClient) -> None:
    code = client.get("/api/v1/grids", params={"limit": 1}).json()["features"][0]["id"]
    grid = client.get(f"/api/v1/grids/{code}")
    assert grid.status_code == 200 and grid.json()["properties"]["code"] == code
    missing = client.get("/api/v1/grids/999999999999999")
    assert missing.status_code == 404
    assert missing.json()["code"] == "grid_not_found"
    assert "999999999999999" in missing.json()["message"]


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,10,0,0", "0,0,200,1", "nan,0,1,1"])
def test_bad_bbox_is_a_422_naming_the_parameter(client: TestClient, bbox: str) -> None:
    r = client.get("/api/v1/buildings", params={"bbox": bbox})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_parameter" and "bbox" in r.json()["message"]


def test_bad_limit_and_unknown_layer_are_422s(client: TestClient) -> None:
    r = client.get("/api/v1/grids", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.json()["message"]
    r = client.get("/api/v1/grids", params={"layer": "nope"})
    assert r.status_code == 422 and "layer" in r.json()["message"]


def test_building_record_has_rooms_and_footprint(client: TestClient,
                                                 connection: Connection) -> None:
    code, n_rooms = connection.execute(text(
        "SELECT b.code, count(r.id) FROM buildings b JOIN rooms r ON r.building_id = b.id "
        "GROUP BY b.code ORDER BY b.code LIMIT 1")).one()
    body = client.get(f"/api/v1/buildings/{code}").json()
    assert body["properties"]["code"] == code
    assert len(body["properties"]["rooms"]) == n_rooms
    assert body["geometry"]["type"] == "MultiPolygon"
    assert client.get("/api/v1/buildings/NOPE").json()["code"] == "building_not_found"


def test_buildings_and_cameras_by_bbox(client: TestClient, connection: Connection) -> None:
    minx, miny, maxx, maxy = connection.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom)::geometry AS e FROM buildings) s")).one()
    mid = (minx + maxx) / 2
    left = client.get("/api/v1/buildings", params={"bbox": f"{minx},{miny},{mid},{maxy}"}).json()
    total = client.get("/api/v1/buildings").json()["numberMatched"]
    assert 0 < left["numberMatched"] < total
    cams: dict[str, Any] = client.get("/api/v1/cameras", params={"limit": 5}).json()
    props = cams["features"][0]["properties"]
    assert cams["features"][0]["geometry"]["type"] == "Point"
    assert {"heading", "hfov", "range_m", "kind"} <= set(props)


def test_categories_grouped_by_major_with_department_and_limit(client: TestClient) -> None:
    majors = client.get("/api/v1/categories").json()
    assert len(majors) >= 10
    minors = [c for m in majors for c in m["categories"]]
    assert len(minors) >= 100
    assert all(c["department"] and c["time_limit_hours"] > 0 for c in minors)
    assert all(c["name"] and c["name_en"] for c in minors)
