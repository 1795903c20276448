"""Analytics over the API on the small sample: coverage, placement, hot spots, anomalies."""

from __future__ import annotations

import io
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis_core.hotspots import aggregate_h3, gi_star
from tests.api.events_support import signed_in


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def test_coverage_per_grid_and_blind_spots(client: TestClient, session: Session) -> None:
    resp = client.get("/api/v1/analytics/coverage", params={"layer": "basic",
                                                            "min_area_m2": 200})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    grids = {g["code"]: g for g in body["grids"]}
    assert grids and all(0 <= g["covered_share"] <= 1 for g in grids.values())
    assert any(g["covered_share"] > 0 for g in grids.values())
    holes = body["blind_spots"]["features"]
    assert holes
    geoms: dict[Any, Any] = dict(session.execute(text(
        "SELECT code, ST_AsText(geom) FROM grids WHERE valid_to IS NULL")).all())
    from shapely import wkt
    for hole in holes[:20]:
        grid = wkt.loads(geoms[hole["properties"]["code"]])
        poly = shape(hole["geometry"])
        assert hole["properties"]["area_m2"] >= 200
        assert grid.buffer(1e-7).covers(poly)
    stored = session.execute(text("SELECT count(*) FROM blind_spots")).scalar_one()
    assert stored == len(holes)


def test_a_blind_spot_is_not_seen_by_any_camera(client: TestClient, session: Session) -> None:
    body = client.get("/api/v1/analytics/coverage", params={"min_area_m2": 500}).json()
    hole = shape(body["blind_spots"]["features"][0]["geometry"])
    inside = hole.representative_point()
    seen_by = session.execute(text(
        "SELECT count(*) FROM cameras WHERE ST_DWithin(geom::geography, "
        "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, range_m * 0.5) "
        "AND (kind IN ('dome') OR pan_min IS NOT NULL)"),
        {"x": inside.x, "y": inside.y}).scalar_one()
    assert seen_by == 0  # no all-round camera has it well inside its range


def test_repeats_are_cached_until_the_data_change(client: TestClient, engine: Engine) -> None:
    first = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:8"}).json()
    cache = client.app.state.gridgov.analytics_cache  # type: ignore[attr-defined]
    again = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:8"}).json()
    assert again == first and cache.hits == 1
    x, y = first["cells"]["features"][0]["geometry"]["coordinates"][0][0]
    with engine.begin() as conn:  # a committed new event changes the answer
        new = conn.execute(text(
            "INSERT INTO events (public_token, category_id, status, channel, geom, reported_at) "
            "SELECT 'analytics-test', id, 'registered', 'app', "
            "ST_SetSRID(ST_MakePoint(:x, :y), 4326), now() FROM event_categories LIMIT 1 "
            "RETURNING id"), {"x": x, "y": y}).scalar_one()
    try:
        third = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:8"}).json()
        assert cache.misses == 2
        assert third["events"] == first["events"] + 1
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE id = :i"), {"i": new})


def test_hotspot_z_equals_the_engine_on_the_same_counts(client: TestClient,
                                                        session: Session) -> None:
    body = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:9"}).json()
    feats = body["cells"]["features"]
    rows = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM events")).all()
    events = gpd.GeoDataFrame(geometry=gpd.points_from_xy([r[0] for r in rows],
                                                          [r[1] for r in rows]), crs=4326)
    cells = aggregate_h3(events, 9)
    expected = gi_star(cells["count"].to_numpy(), cells["cell"].tolist(), method="contiguity")
    z = {f["properties"]["cell"]: f["properties"]["z"] for f in feats}
    assert len(z) == len(cells)
    ours = np.array([z[c] for c in cells["cell"]], dtype=float)
    assert np.allclose(ours, expected["z"].to_numpy(), equal_nan=True)
    classes = {f["properties"]["class"] for f in feats}
    assert classes <= {-3, -2, -1, 0, 1, 2, 3}
    stored = session.execute(text("SELECT count(*) FROM hotspot_cells")).scalar_one()
    assert stored == len(feats)
    fine = client.get("/api/v1/analytics/hotspots", params={"cell": "h3:10"}).json()
    assert fine["classes"].get("3", 0) > 0, fine["classes"]  # markets and schools stand out


def test_hotspots_on_grids(client: TestClient) -> None:
    body = client.get("/api/v1/analytics/hotspots", params={"cell": "grid:basic"}).json()
    assert body["cells"]["features"]
    assert sum(f["properties"]["count"] for f in body["cells"]["features"]) == body["events"]


def test_emerging_hotspots_and_anomalies(client: TestClient) -> None:
    body = client.get("/api/v1/analytics/emerging-hotspots",
                      params={"resolution": 8, "step": "2W"}).json()
    assert body["time_steps"] and body["cells"]["features"]
    assert sum(body["patterns"].values()) == len(body["cells"]["features"])
    alerts = client.get("/api/v1/analytics/anomalies", params={"period": "week"})
    assert alerts.status_code == 200, alerts.text
    for alert in alerts.json()["alerts"]:
        assert alert["grid"] and alert["count"] >= 0


def test_camera_placement_adds_gain_where_demand_is_uncovered(client: TestClient) -> None:
    resp = client.post("/api/v1/analytics/camera-placement", json={"k": 3, "demand": "area"})
    assert resp.status_code == 200, resp.text
    sites = resp.json()["sites"]["features"]
    assert 1 <= len(sites) <= 3
    gains = [s["properties"]["gain"] for s in sites]
    assert gains[0] > 0 and gains == sorted(gains, reverse=True)
    by_events = client.post("/api/v1/analytics/camera-placement", json={"k": 2})
    assert by_events.status_code == 200, by_events.text
    assert by_events.json()["sites"]["features"][0]["properties"]["gain"] >= 1


def test_geotiffs_open_in_rasterio(client: TestClient) -> None:
    tif = client.get("/api/v1/analytics/density.tif", params={"cell_size_m": 100})
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    with rasterio.open(io.BytesIO(tif.content)) as src:
        assert src.crs.is_projected and src.read(1).max() > 0
    cov = client.get("/api/v1/analytics/coverage.tif", params={"cell_size_m": 10})
    assert cov.status_code == 200
    with rasterio.open(io.BytesIO(cov.content)) as src:
        band = src.read(1)
        assert src.crs.is_projected and band.max() >= 1 and band.min() == 0


@pytest.mark.parametrize(("path", "params", "name"), [
    ("/api/v1/analytics/coverage", {"layer": "nope"}, "layer"),
    ("/api/v1/analytics/coverage", {"grid": "nope"}, "grid"),
    ("/api/v1/analytics/hotspots", {"cell": "h3:99"}, "cell"),
    ("/api/v1/analytics/hotspots", {"cell": "square"}, "cell"),
    ("/api/v1/analytics/hotspots", {"from": "2026-01-02", "to": "2026-01-01"}, "from"),
    ("/api/v1/analytics/emerging-hotspots", {"step": "fortnight"}, "step"),
    ("/api/v1/analytics/anomalies", {"period": "year"}, "period"),
])
def test_bad_parameters_are_named(client: TestClient, path: str, params: dict[str, str],
                                  name: str) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code in (404, 422), resp.text
    assert name in resp.json()["message"]


def test_bad_placement_body(client: TestClient) -> None:
    resp = client.post("/api/v1/analytics/camera-placement", json={"k": 0})
    assert resp.status_code == 422 and "k" in resp.json()["message"]
