"""Hand-over to a neighbour: a second gridgov server on loopback holds the next territory.

The neighbour serves the same sample town moved east by its own width, so its
territory touches ours. A report on its side is forwarded to it over Open311
(both ids kept) and its status comes back when polled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.open311.keys import create_key
from testkit.databases import sample_database
from testkit.servers import start_server
from tests.api.events_support import bearer, token_for


def _width(conn: Any) -> float:
    return float(conn.execute(text(
        "SELECT ST_XMax(e) - ST_XMin(e) FROM (SELECT ST_Extent(geom)::geometry AS e "
        "FROM grids) t")).scalar_one())


@pytest.fixture(scope="module")
def neighbour(server_url: str, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[dict[str, Any]]:
    """A gridgov server whose territory is the sample moved east by its width."""
    with sample_database(server_url, sample_dir, "gridgov_nb") as (url, engine):
        with Session(engine) as session:
            dx = _width(session)
            for table in ("grids", "admin_areas", "buildings"):
                session.execute(text(f"UPDATE {table} SET geom = ST_Translate(geom, :dx, 0)"),
                                {"dx": dx})
            _, key = create_key(session, "neighbour hand-over")
            session.commit()
        proc, base = start_server(url, tmp_path_factory.mktemp("neighbour"))
        try:
            yield {"endpoint": f"{base}/open311/v2", "key": key, "dx": dx, "engine": engine}
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _their_event(neighbour: dict[str, Any], event_id: str) -> tuple[str, str, str]:
    with neighbour["engine"].connect() as conn:
        row = conn.execute(text("SELECT e.channel, c.code, e.status FROM events e JOIN "
                                "event_categories c ON c.id = e.category_id WHERE e.id = :id"),
                           {"id": int(event_id)}).one()
    return row[0], row[1], row[2]


def test_a_report_on_the_neighbours_side_is_forwarded_and_its_status_comes_back(
        client: TestClient, session: Session, neighbour: dict[str, Any]) -> None:
    admin = bearer(token_for(session, "admin", "nb-admin"))
    dx = neighbour["dx"]
    territory, lon, lat, category = session.execute(text("""
        SELECT ST_AsGeoJSON(ST_Translate(ST_Union(g.geom), :dx, 0)),
               ST_X(p.pt) + :dx, ST_Y(p.pt), (SELECT code FROM event_categories ORDER BY code
                                              LIMIT 1)
        FROM grids g JOIN grid_layers l ON l.id = g.layer_id,
             (SELECT ST_PointOnSurface(g2.geom) AS pt FROM grids g2 JOIN grid_layers l2
              ON l2.id = g2.layer_id WHERE l2.name = 'basic' AND g2.valid_to IS NULL
              ORDER BY ST_XMin(g2.geom) LIMIT 1) p
        WHERE l.name = 'basic' AND g.valid_to IS NULL GROUP BY p.pt"""), {"dx": dx}).one()
    put = client.put("/api/v1/neighbours/east", headers=admin, json={
        "name": "East town", "territory": json.loads(territory),
        "endpoint": neighbour["endpoint"], "api_key": neighbour["key"]})
    assert put.status_code == 200, put.text
    stored = session.execute(text("SELECT api_key FROM neighbours WHERE code = 'east'")
                             ).scalar_one()
    assert neighbour["key"] not in stored  # sealed with the personal-data key
    report = {"category": category, "location": {"x": lon, "y": lat, "crs": "EPSG:4326"},
              "description": "across the border"}
    sent = client.post("/api/v1/events", json=report)
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert body["neighbour"] == "east" and "East town" in body["message"]
    assert _their_event(neighbour, body["neighbour_request_id"])[:2] == ("open311", category)
    listed = client.get("/api/v1/handovers", headers=admin).json()
    assert [(h["id"], h["their_id"], h["their_status"]) for h in listed] == [
        (body["handover_id"], body["neighbour_request_id"], "open")]
    far = {**report, "location": {"x": lon + 3 * dx, "y": lat, "crs": "EPSG:4326"}}
    refused = client.post("/api/v1/events", json=far)
    assert refused.status_code == 422 and refused.json()["code"] == "outside_jurisdiction"
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 0}
    with neighbour["engine"].begin() as conn:
        conn.execute(text("UPDATE events SET status = 'closed' WHERE id = :id"),
                     {"id": int(body["neighbour_request_id"])})
    assert client.post("/api/v1/handovers/poll", headers=admin).json() == {"changed": 1}
    listed = client.get("/api/v1/handovers", headers=admin).json()
    assert listed[0]["their_status"] == "closed"


def test_an_unreachable_neighbour_stores_nothing(client: TestClient, session: Session) -> None:
    admin = bearer(token_for(session, "admin", "nb-admin2"))
    box = {"type": "Polygon", "coordinates": [[[170, 10], [171, 10], [171, 11], [170, 10]]]}
    client.put("/api/v1/neighbours/gone", headers=admin, json={
        "name": "Gone", "territory": box, "endpoint": "http://127.0.0.1:9/open311/v2",
        "api_key": "k"})
    category = session.execute(text("SELECT code FROM event_categories LIMIT 1")).scalar_one()
    resp = client.post("/api/v1/events", json={
        "category": category, "location": {"x": 170.8, "y": 10.2, "crs": "EPSG:4326"}})
    assert resp.status_code == 502 and resp.json()["code"] == "neighbour_unavailable"
    assert session.execute(text("SELECT count(*) FROM handovers")).scalar_one() == 0
    bad = client.put("/api/v1/neighbours/bad", headers=admin, json={
        "name": "Bad", "territory": {"type": "Point", "coordinates": [1, 2]},
        "endpoint": "http://127.0.0.1:9", "api_key": "k"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_geometry"
