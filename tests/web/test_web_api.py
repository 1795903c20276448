"""The one-map's own endpoints: page and assets from this server, config, live feed,
dashboard figures (checked against SQL), event actions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.main import create_app
from api.settings import Settings
from tests.api.events_support import bearer, signed_in, token_for


@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def test_page_and_maplibre_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/vendor/maplibre-gl/maplibre-gl.css" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    js = client.get("/vendor/maplibre-gl/maplibre-gl.mjs")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["etag"] and "max-age" in js.headers["cache-control"]
    # the module loads its worker from next to itself
    assert client.get("/vendor/maplibre-gl/maplibre-gl-worker.mjs").status_code == 200
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    main = client.get("/static/js/main.js")
    assert main.status_code == 200 and "/vendor/maplibre-gl/maplibre-gl.mjs" in main.text


@pytest.mark.parametrize("path", ["/vendor/maplibre-gl/../package.json",
                                  "/vendor/maplibre-gl/%2e%2e/package.json",
                                  "/vendor/left-pad/index.js", "/static/../routers/web.py",
                                  "/static/%2e%2e/routers/web.py", "/static/nothing.js"])
def test_nothing_outside_the_asset_folders_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_config_has_the_data_extent_and_no_basemap_by_default(client: TestClient,
                                                              connection: Connection) -> None:
    cfg = client.get("/api/v1/web/config").json()
    assert cfg["basemap"] is None
    minx, miny, maxx, maxy = connection.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM admin_areas) s")).one()
    assert cfg["extent"] == pytest.approx([minx, miny, maxx, maxy])


def test_an_external_basemap_is_configurable(engine: object, database_url: str) -> None:
    settings = Settings()
    settings.db.database_url = database_url
    settings.web.basemap_url = "https://t0.example.invalid/{z}/{x}/{y}.png"
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/v1/web/config").json()["basemap"]["url"] == \
            settings.web.basemap_url


def test_live_feed_returns_new_events_after_the_cursor(client: TestClient,
                                                       connection: Connection) -> None:
    head = client.get("/api/v1/web/live-events", params={"limit": 1}).json()
    cursor = head["last_id"]
    assert cursor == connection.execute(text("SELECT max(id) FROM events")).scalar_one()
    assert client.get("/api/v1/web/live-events",
                      params={"after_id": cursor}).json()["features"] == []
    new_ids = [connection.execute(text(
        "INSERT INTO events (public_token, category_id, status, channel, geom, reporter_phone) "
        "SELECT :tok, id, 'registered', 'app', ST_SetSRID(ST_MakePoint(114.25, 22.72), 4326), "
        "'13800000000' FROM event_categories ORDER BY id LIMIT 1 RETURNING id"),
        {"tok": uuid.uuid4().hex}).scalar_one() for _ in range(2)]
    feed = client.get("/api/v1/web/live-events", params={"after_id": cursor}).json()
    assert [f["id"] for f in feed["features"]] == new_ids
    assert feed["last_id"] == new_ids[-1]
    assert "13800000000" not in str(feed)  # no personal data in the feed
    assert feed["features"][0]["geometry"]["coordinates"] == [114.25, 22.72]


def test_dashboard_figures_match_the_events_table(client: TestClient,
                                                  connection: Connection) -> None:
    d = client.get("/api/v1/web/dashboard").json()
    by_status: dict[Any, Any] = dict(connection.execute(text(
        "SELECT status, count(*) FROM events GROUP BY status")).all())
    assert d["by_status"] == by_status and d["total"] == sum(by_status.values())
    registered = sum(n for s, n in by_status.items() if s not in ("rejected", "duplicate"))
    closed = by_status.get("closed", 0) + by_status.get("evaluated", 0)
    assert d["closure_rate"] == pytest.approx(closed / registered)
    overdue = connection.execute(text(
        "SELECT count(*) FROM events WHERE status IN ('registered', 'dispatched', "
        "'in_progress', 'handled', 'verified', 'returned') AND due_at < now()")).scalar_one()
    assert d["overdue"] == overdue
    assert len(d["overdue_list"]) == min(overdue, 20)
    assert len(d["trend"]) == 30
    assert d["top_categories"][0]["count"] >= d["top_categories"][-1]["count"]
    per_grid = connection.execute(text(
        "SELECT grids->>'basic', count(*) FROM events WHERE status NOT IN "
        "('rejected', 'duplicate') AND grids ? 'basic' GROUP BY 1")).all()
    assert d["grid_layer"] == "basic"
    assert {k: v["events"] for k, v in d["grids"].items()} == dict(per_grid)


def test_event_actions_depend_on_the_signed_in_role(client: TestClient, session: Session,
                                                    connection: Connection) -> None:
    event_id = connection.execute(text(
        "SELECT id FROM events WHERE status = 'in_progress' ORDER BY id LIMIT 1")).scalar_one()
    admin = client.get(f"/api/v1/web/event-actions/{event_id}").json()
    assert admin["role"] == "admin" and "handle" in admin["allowed"]
    analyst = client.get(f"/api/v1/web/event-actions/{event_id}",
                         headers=bearer(token_for(session, "analyst", "an-act"))).json()
    assert analyst["role"] == "analyst" and analyst["allowed"] == []
    assert "handle" in analyst["possible"]
    assert client.get("/api/v1/web/event-actions/999999999").status_code == 404
