"""Event intake end to end on the sample town: locations, routing, idempotency, duplicates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.events.intake import create_event
from api.events.lifecycle import TRANSITIONS
from api.grids.lookup import PostGISGridLookup
from api.settings import EventSettings, Settings
from gis_core.crs import from_wgs84
from tests.api.events_support import basic_grids, bearer, event_settings, token_for


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings with photos under the test's temporary directory."""
    return event_settings(database_url, tmp_path / "photos")


@pytest.fixture()
def grids(session: Session) -> list[dict[str, Any]]:
    """Interior points of the basic grids."""
    found = basic_grids(session)
    assert len(found) >= 4
    return found


def _report(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/api/v1/events", json=body, headers=headers)


def test_gcj02_location_lands_in_the_grid_of_its_true_position(
        client: TestClient, session: Session, grids: list[dict[str, Any]]) -> None:
    g = grids[0]
    x, y = from_wgs84(g["lon"], g["lat"], "GCJ02")
    # GCJ-02 is shifted by hundreds of metres: the raw numbers would be elsewhere
    assert abs(float(x) - g["lon"]) > 1e-3
    r = _report(client, {"category": "0101", "description": "垃圾",
                         "location": {"x": float(x), "y": float(y), "crs": "GCJ02"}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["grids"]["basic"] == g["code"]
    assert body["community_code"] == g["community_code"]
    assert body["street_code"] == g["community_code"][:9]
    assert body["location"]["lon"] == pytest.approx(g["lon"], abs=1e-6)
    assert body["location"]["lat"] == pytest.approx(g["lat"], abs=1e-6)
    assert body["department"]["code"] == "CGJ"  # the category's default department
    assert body["status"] == "dispatched"
    assert body["public_token"]
    reported = datetime.fromisoformat(body["reported_at"])
    assert datetime.fromisoformat(body["due_at"]) - reported == timedelta(hours=4)
    stored = session.execute(text(
        "SELECT e.status, e.grids->>'basic', count(h.id) FROM events e "
        "JOIN event_history h ON h.event_id = e.id WHERE e.id = :id GROUP BY e.id"),
        {"id": body["id"]}).one()
    assert stored == ("dispatched", g["code"], 2)


def test_building_code_and_address_resolve_to_the_building(
        client: TestClient, session: Session) -> None:
    code, address, community = session.execute(text(
        "SELECT code, address, community_code FROM buildings WHERE address IS NOT NULL "
        "ORDER BY code LIMIT 1")).one()
    by_code = _report(client, {"category": "0406", "building_code": code})
    assert by_code.status_code == 201, by_code.text
    assert by_code.json()["building_code"] == code
    assert by_code.json()["community_code"] == community
    # normalised exact match: spaces and punctuation do not matter
    spaced = " " + address[:3] + " " + address[3:] + "。"
    by_address = _report(client, {"category": "0102", "address": spaced})
    assert by_address.status_code == 201, by_address.text
    assert by_address.json()["building_code"] == code
    missing = _report(client, {"category": "0102", "address": address + "99"})
    assert missing.status_code == 422
    assert missing.json()["code"] == "address_not_found"
    assert address in missing.json()["details"]["suggestions"]


def test_point_in_a_footprint_gets_the_building(client: TestClient, session: Session) -> None:
    code, lon, lat = session.execute(text(
        "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
        "FROM buildings ORDER BY code DESC LIMIT 1")).one()
    r = _report(client, {"category": "0101", "location": {"x": lon, "y": lat}})
    assert r.status_code == 201
    assert r.json()["building_code"] == code


def test_idempotency_key_never_creates_a_second_event(
        client: TestClient, session: Session, grids: list[dict[str, Any]]) -> None:
    g = grids[1]
    before = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    body = {"category": "0103", "location": {"x": g["lon"], "y": g["lat"]}}
    first = _report(client, body, **{"Idempotency-Key": "retry-1"})
    again = _report(client, body, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = _report(client, {**body, "category": "0104"}, **{"Idempotency-Key": "retry-2"})
    assert other.json()["id"] != first.json()["id"]
    after = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert after == before + 2


def test_outside_jurisdiction_stores_nothing(client: TestClient, session: Session) -> None:
    before = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    r = _report(client, {"category": "0101", "location": {"x": 116.39, "y": 39.9}})
    assert r.status_code == 422
    assert r.json()["code"] == "outside_jurisdiction"
    assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "0101", "location": {"x": "NaN", "y": 22.7}}, "location.x"),
    ({"category": "0101", "location": {"x": 114.2, "y": "Infinity"}}, "location.y"),
    ({"category": "0101", "location": {"x": 1, "y": 2, "crs": "EPSG:999999"}}, "location"),
    ({"category": "9999", "location": {"x": 114.2, "y": 22.7}}, "category"),
    ({"category": "0101"}, "location"),
    ({"category": "0101", "location": {"x": 114.2, "y": 22.7}, "channel": "fax"}, "channel"),
    ({"category": "0101", "location": {"x": 114.2, "y": 22.7}, "description": "a\u0000b"},
     "description"),
])
def test_bad_reports_are_422_naming_the_field(client: TestClient, body: dict[str, Any],
                                              field: str) -> None:
    r = _report(client, body)
    assert r.status_code == 422
    assert f"'{field}'" in r.json()["message"]


def test_routing_rules_most_specific_wins(client: TestClient, session: Session,
                                          grids: list[dict[str, Any]]) -> None:
    by_community: dict[str, list[dict[str, Any]]] = {}
    for g in grids:
        by_community.setdefault(g["community_code"], []).append(g)
    community, inside = next((c, gs) for c, gs in sorted(by_community.items()) if len(gs) >= 2)
    street = community[:9]
    sibling = next(g for c, gs in sorted(by_community.items()) for g in gs
                   if c != community and c[:9] == street)
    elsewhere = next(g for g in grids if g["community_code"][:9] != street)
    deps = {str(r[0]): int(r[1]) for r in session.execute(text("SELECT code, id FROM departments"))}
    session.execute(text(
        "INSERT INTO routing_rules (scope, scope_code, category_code, department_id) VALUES "
        "('street', :street, '01', :a), ('community', :community, '0101', :b), "
        "('grid', :grid, '01', :c)"),
        {"street": street, "community": community, "grid": inside[0]["code"],
         "a": deps["JDB"], "b": deps["SWJ"], "c": deps["STHJ"]})

    def department(g: dict[str, Any], category: str) -> str:
        r = _report(client, {"category": category, "location": {"x": g["lon"], "y": g["lat"]}})
        assert r.status_code == 201, r.text
        return str(r.json()["department"]["code"])

    assert department(inside[0], "0101") == "STHJ"   # grid rule beats the community rule
    assert department(inside[1], "0101") == "SWJ"    # community rule, minor category
    assert department(inside[1], "0103") == "JDB"    # only the street rule (major 01) fits
    assert department(sibling, "0102") == "JDB"      # street rule in another community
    assert department(elsewhere, "0101") == "CGJ"    # no rule: the category's default


def test_duplicate_within_50_m_and_24_h_is_linked(
        client: TestClient, session: Session, engine: Engine,
        grids: list[dict[str, Any]]) -> None:
    g = grids[2]
    first = _report(client, {"category": "0106", "location": {"x": g["lon"], "y": g["lat"]}})
    near = _report(client, {"category": "0106",  # ~30 m north
                            "location": {"x": g["lon"], "y": g["lat"] + 30 / 111_000}})
    far = _report(client, {"category": "0106",  # ~80 m north
                           "location": {"x": g["lon"], "y": g["lat"] + 80 / 111_000}})
    other = _report(client, {"category": "0101", "location": {"x": g["lon"], "y": g["lat"]}})
    assert near.json()["status"] == "duplicate"
    assert near.json()["duplicate"] is True
    assert near.json()["duplicate_of"] == first.json()["id"]
    for r in (first, far, other):
        assert r.json()["duplicate"] is False
        assert r.json()["status"] == "dispatched"
    # 25 hours later the same report opens a new case
    lookup = PostGISGridLookup(engine)
    later = create_event(session, lookup, category_code="0106", lon=g["lon"], lat=g["lat"],
                         settings=EventSettings(),
                         now=datetime.now(UTC) + timedelta(hours=25))
    assert later.status == "dispatched"


def test_intake_makes_only_transitions_the_lifecycle_allows(
        client: TestClient, session: Session, grids: list[dict[str, Any]]) -> None:
    g = grids[3]
    made = [_report(client, {"category": "0106", "location": {"x": g["lon"], "y": lat}})
            for lat in (g["lat"], g["lat"] + 20 / 111_000)]  # a case and its duplicate
    assert [r.json()["status"] for r in made] == ["dispatched", "duplicate"]
    rows = session.execute(text(
        "SELECT action, from_status, to_status FROM event_history WHERE event_id = ANY(:ids) "
        "ORDER BY id"), {"ids": [r.json()["id"] for r in made]}).all()
    assert len(rows) == 4  # register, then dispatch or mark_duplicate, for each
    for action, before, after in rows:
        if before is None:
            assert (action, after) == ("register", "registered")
        else:
            assert TRANSITIONS[before][action] == after, (action, before, after)


def test_multipart_with_photos(client: TestClient, tmp_path: Path, session: Session,
                               grids: list[dict[str, Any]]) -> None:
    g = grids[3]
    buf = io.BytesIO()  # a real JPEG: photos are checked from their bytes
    Image.new("RGB", (4, 3), (0, 128, 255)).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    r = client.post("/api/v1/events", data={
        "category": "0104", "x": str(g["lon"]), "y": str(g["lat"]), "channel": "qr",
        "reporter_phone": "13912345678"}, files=[("photos", ("a.jpg", jpeg, "image/jpeg"))])
    assert r.status_code == 201, r.text
    staff = bearer(token_for(session, "dispatcher", "d-photos"))
    detail = client.get(f"/api/v1/events/{r.json()['id']}", headers=staff).json()
    assert detail["channel"] == "qr"
    assert len(detail["photos"]) == 1
    assert client.get(detail["photos"][0]["url"]).status_code == 401  # photos are staff-only
    photo = client.get(detail["photos"][0]["url"], headers=staff)
    assert photo.status_code == 200
    assert photo.content == jpeg


def test_staff_channels_need_a_token(client: TestClient, session: Session,
                                     grids: list[dict[str, Any]]) -> None:
    g = grids[0]
    body = {"category": "0401", "channel": "patrol", "location": {"x": g["lon"], "y": g["lat"]}}
    assert _report(client, body).status_code == 401
    worker = token_for(session, "grid_worker", "w-patrol", grids=[g["code"]])
    analyst = token_for(session, "analyst", "a-patrol")
    assert _report(client, body, **bearer(analyst)).status_code == 403
    ok = _report(client, body, **bearer(worker))
    assert ok.status_code == 201
    history = client.get(f"/api/v1/events/{ok.json()['id']}",
                         headers=bearer(worker)).json()["history"]
    assert history[0]["actor"] == "w-patrol"
