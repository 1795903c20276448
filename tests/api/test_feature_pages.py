"""The /api/v1 lists and the OGC items serialise a feature alike (one builder in layers)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from tests.api.events_support import bearer, token_for


def test_a_building_reads_the_same_in_the_list_and_in_ogc_items(
        client: TestClient, connection: Connection) -> None:
    code, row_id = connection.execute(text(
        "SELECT code, id FROM buildings ORDER BY code LIMIT 1")).one()
    listed = client.get("/api/v1/buildings", params={"limit": 1}).json()["features"][0]
    item = client.get(f"/ogc/collections/buildings/items/{row_id}").json()
    assert (listed["id"], item["id"]) == (code, row_id)
    assert listed["geometry"] == item["geometry"]  # the same 7 decimals
    shared = set(listed["properties"]) & set(item["properties"])
    assert shared >= {"code", "name", "address", "floors", "height", "status"}
    assert {k: listed["properties"][k] for k in shared} == {
        k: item["properties"][k] for k in shared}


def test_an_event_reads_the_same_in_the_staff_list_and_in_ogc_items(
        client: TestClient, session: Session) -> None:
    staff = bearer(token_for(session, "admin", "pages-admin"))
    listed = client.get("/api/v1/events", params={"limit": 1}, headers=staff
                        ).json()["features"][0]
    item = client.get(f"/ogc/collections/events/items/{listed['id']}").json()
    assert item["id"] == listed["id"]
    assert listed["geometry"] == item["geometry"]
    for key in ("status", "channel", "community_code", "reported_at", "due_at", "closed_at"):
        assert listed["properties"][key] == item["properties"][key], key
    assert listed["properties"]["category"] == item["properties"]["category_code"]
