"""Population aggregates: exact within a scope, "<5" for readers without one; no personal
field in the aggregates, the map layers, OGC features or Open311."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.personal.mask import mask
from tests.api.people_support import World, make_world


@pytest.fixture()
def world(client: TestClient, session: Session) -> World:
    return make_world(client, session)


def _by_key(resp: dict[str, Any], key: str) -> dict[str, Any]:
    return {i[key]: i for i in resp["items"]}


def test_counts_are_exact_in_scope_and_small_ones_hidden_from_analysts(
        client: TestClient, world: World) -> None:
    admin = _by_key(client.get("/api/v1/people/stats", headers=world.as_("admin")).json(),
                    "grid")
    assert admin[world.grids[0]]["residents"] == 1
    analyst = client.get("/api/v1/people/stats", headers=world.as_("analyst")).json()
    assert analyst["suppressed"] is True
    assert _by_key(analyst, "grid")[world.grids[0]]["residents"] == "<5"
    worker = _by_key(client.get("/api/v1/people/stats", headers=world.as_("grid_worker"))
                     .json(), "grid")
    assert world.grids[1] not in worker and worker[world.grids[0]]["residents"] == 1
    building = _by_key(client.get("/api/v1/people/stats", params={"by": "building"},
                                  headers=world.as_("admin")).json(), "building")
    assert building[world.buildings[1]]["residents"] == 1
    handler = client.get("/api/v1/people/stats", headers=world.as_("handler"))
    assert handler.status_code == 403


@pytest.mark.parametrize("url", [
    "/api/v1/people/stats", "/api/v1/people/stats?by=building", "/tiles",
    "/ogc/collections", "/ogc/collections/buildings/items?limit=1000",
    "/open311/v2/requests.json", "/api/v1/buildings?limit=1000",
])
def test_no_personal_field_leaves_through_aggregates_maps_ogc_or_open311(
        client: TestClient, world: World, url: str) -> None:
    resp = client.get(url, headers=world.as_("analyst"))
    body = resp.text
    for person in world.bodies:
        for value in (person["name"], person["id_number"], person["phone"],
                      mask("id_number", person["id_number"]), mask("phone", person["phone"]),
                      mask("name", person["name"])):
            assert value not in body, (url, value)
    assert "id_number" not in body and "persons" not in body
