"""Detections from cameras: a case on channel camera, the review queue, repeats, the sweep."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.camera_feed.detections import sweep_offline
from api.settings import Settings
from tests.api.events_support import bearer, event_settings, token_for
from tests.api.test_edge import image_bytes

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Snapshots under the test's directory; no sweep running by itself."""
    settings = event_settings(database_url, tmp_path / "photos")
    settings.camera.sweep_interval_seconds = 0
    return settings


@pytest.fixture()
def camera(client: TestClient, session: Session) -> dict[str, Any]:
    """A fixed online camera inside a grid, its key, and a detection type ``smoke``."""
    row = session.execute(text("""
        SELECT c.code, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.heading, c.hfov, c.range_m
        FROM cameras c WHERE c.kind = 'fixed' AND c.status = 'online'
          AND EXISTS (SELECT 1 FROM grids g WHERE ST_Covers(g.geom, ST_Buffer(c.geom, 0.001)))
        ORDER BY c.code LIMIT 1""")).mappings().one()
    admin = bearer(token_for(session, "admin", "cam-admin"))
    key = client.post(f"/api/v1/cameras/{row['code']}/key", headers=admin).json()["key"]
    category = session.execute(text("SELECT code FROM event_categories ORDER BY code LIMIT 1")
                               ).scalar_one()
    put = client.put("/api/v1/camera-detection-types/smoke", headers=admin,
                     json={"category": category, "threshold": 0.7})
    assert put.status_code == 200, put.text
    return {**row, "key": key, "admin": admin, "category": category}


def _post(client: TestClient, cam: dict[str, Any], confidence: float, at: datetime,
          snapshot: bytes | None = None, key: str | None = None, **extra: Any) -> Any:
    data = {"type": "smoke", "confidence": str(confidence), "detected_at": at.isoformat(),
            **{k: str(v) for k, v in extra.items()}}
    files = {"snapshot": ("s.jpg", snapshot or image_bytes("JPEG"), "image/jpeg")}
    return client.post(f"/api/v1/cameras/{cam['code']}/detections", data=data, files=files,
                       headers={"X-Camera-Key": key or cam["key"]})


def _azimuth_and_distance(session: Session, cam: dict[str, Any], lon: float, lat: float
                          ) -> tuple[float, float]:
    az, dist = session.execute(text(
        "SELECT degrees(ST_Azimuth(ST_Point(:x0, :y0, 4326)::geography, "
        "ST_Point(:x, :y, 4326)::geography)), ST_Distance(ST_Point(:x0, :y0, 4326)::geography, "
        "ST_Point(:x, :y, 4326)::geography)"),
        {"x0": cam["lon"], "y0": cam["lat"], "x": lon, "y": lat}).one()
    return float(az), float(dist)


def _camera_events(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM events WHERE channel = 'camera'"))
               .scalar_one())


def test_a_confident_detection_opens_a_case_and_its_repeats_are_linked_to_it(
        client: TestClient, session: Session, camera: dict[str, Any]) -> None:
    before = _camera_events(session)
    jpeg = image_bytes("JPEG", (16, 12))
    first = _post(client, camera, 0.93, T0, snapshot=jpeg)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "registered" and body["event_id"]
    # with no bearing, the middle of what the camera sees: inside its sector and range
    az, dist = _azimuth_and_distance(session, camera, **body["location"])
    off = (az - camera["heading"] + 180) % 360 - 180
    assert abs(off) <= camera["hfov"] / 2 and 0 < dist <= camera["range_m"]
    event = session.execute(text("SELECT channel, c.code, ST_X(e.geom), ST_Y(e.geom) "
                                 "FROM events e JOIN event_categories c ON c.id = e.category_id "
                                 "WHERE e.id = :id"), {"id": body["event_id"]}).one()
    assert event[:2] == ("camera", camera["category"])
    assert event[2:] == pytest.approx((body["location"]["lon"], body["location"]["lat"]))
    detail = client.get(f"/api/v1/events/{body['event_id']}", headers=camera["admin"]).json()
    photo = client.get(detail["photos"][0]["url"], headers=camera["admin"])
    assert photo.content == jpeg
    repeat = _post(client, camera, 0.95, T0 + timedelta(minutes=5))
    assert repeat.status_code == 201, repeat.text
    assert repeat.json()["status"] == "duplicate"
    assert repeat.json()["duplicate_of"] == body["id"]
    assert repeat.json()["event_id"] == body["event_id"]
    assert _camera_events(session) == before + 1
    later = _post(client, camera, 0.95, T0 + timedelta(minutes=11))  # past the cool-down
    assert later.json()["status"] == "registered" and _camera_events(session) == before + 2


def test_bearing_and_distance_place_the_detection(
        client: TestClient, session: Session, camera: dict[str, Any]) -> None:
    resp = _post(client, camera, 0.9, T0, bearing=camera["heading"], distance_m=20)
    assert resp.status_code == 201, resp.text
    az, dist = _azimuth_and_distance(session, camera, **resp.json()["location"])
    assert dist == pytest.approx(20, abs=0.01)
    assert math.isclose(az % 360, camera["heading"] % 360, abs_tol=0.01)


def test_below_the_threshold_a_dispatcher_accepts_or_rejects(
        client: TestClient, session: Session, camera: dict[str, Any]) -> None:
    dispatcher = bearer(token_for(session, "dispatcher", "cam-dispatcher"))
    before = _camera_events(session)
    low = _post(client, camera, 0.4, T0).json()
    repeat = _post(client, camera, 0.5, T0 + timedelta(minutes=1)).json()
    assert (low["status"], low["event_id"]) == ("review", None)
    assert (repeat["status"], repeat["duplicate_of"]) == ("duplicate", low["id"])
    queue = client.get("/api/v1/camera-detections", headers=dispatcher).json()
    assert [d["id"] for d in queue] == [low["id"]]
    snap = client.get(queue[0]["snapshot"], headers=dispatcher)
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    accepted = client.post(f"/api/v1/camera-detections/{low['id']}/accept", headers=dispatcher)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["event_id"]
    assert _camera_events(session) == before + 1
    linked = session.execute(text("SELECT event_id FROM camera_detections WHERE id = :id"),
                             {"id": repeat["id"]}).scalar_one()
    assert linked == accepted.json()["event_id"]
    again = client.post(f"/api/v1/camera-detections/{low['id']}/accept", headers=dispatcher)
    assert again.status_code == 409 and again.json()["code"] == "detection_reviewed"
    other = _post(client, camera, 0.3, T0 + timedelta(hours=1)).json()
    rejected = client.post(f"/api/v1/camera-detections/{other['id']}/reject",
                           headers=dispatcher)
    assert rejected.json()["status"] == "rejected"
    assert client.get("/api/v1/camera-detections", headers=dispatcher).json() == []
    assert _camera_events(session) == before + 1
    actions = session.execute(text("SELECT action FROM audit_log WHERE object_type = "
                                   "'camera_detection' ORDER BY id")).scalars().all()
    assert actions == ["camera_detection.accept", "camera_detection.reject"]


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"key": "cam_wrong"}, 401, "invalid_camera_key"),
    ({"snapshot": b"GIF89a" + b"\0" * 20}, 415, "unsupported_media_type"),
    ({"bearing": 10}, 422, "invalid_parameter"),
    ({"bearing": 10, "distance_m": 5000}, 422, "beyond_camera_range"),
    ({"at": datetime(2026, 11, 30, 9, 0)}, 422, "invalid_parameter"),
])
def test_a_refused_detection_stores_nothing(
        client: TestClient, session: Session, camera: dict[str, Any], app_settings: Settings,
        change: dict[str, Any], status: int, code: str) -> None:
    at = change.pop("at", T0)
    resp = _post(client, camera, 0.9, at, **change)
    assert resp.status_code == status, resp.text
    assert resp.json()["code"] == code
    assert session.execute(text("SELECT count(*) FROM camera_detections")).scalar_one() == 0
    folder = app_settings.events.photo_dir
    assert folder is not None and not (folder.exists() and any(folder.iterdir()))


def test_an_unknown_detection_type_is_refused(client: TestClient, session: Session,
                                              camera: dict[str, Any]) -> None:
    resp = client.post(f"/api/v1/cameras/{camera['code']}/detections",
                       data={"type": "ufo", "confidence": "0.9",
                             "detected_at": T0.isoformat()},
                       files={"snapshot": ("s.png", image_bytes("PNG"), "image/png")},
                       headers={"X-Camera-Key": camera["key"]})
    assert resp.status_code == 422 and resp.json()["code"] == "unknown_detection_type"
    bad = client.put("/api/v1/camera-detection-types/ufo", headers=camera["admin"],
                     json={"category": "NOPE"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_category"
    types = client.get("/api/v1/camera-detection-types", headers=camera["admin"]).json()
    assert types == [{"type": "smoke", "category": camera["category"], "threshold": 0.7}]


def test_the_sweep_marks_offline_the_cameras_whose_heartbeats_stopped(
        client: TestClient, session: Session, camera: dict[str, Any]) -> None:
    code = camera["code"]
    beat = client.post(f"/api/v1/cameras/{code}/heartbeat",
                       headers={"X-Camera-Key": camera["key"]})
    assert beat.status_code == 204
    now = datetime.now(UTC)
    assert sweep_offline(session, now, 300) == []
    assert sweep_offline(session, now + timedelta(seconds=301), 300) == [code]
    status = session.execute(text("SELECT status FROM cameras WHERE code = :c"),
                             {"c": code}).scalar_one()
    assert status == "offline"
    client.post(f"/api/v1/cameras/{code}/heartbeat", headers={"X-Camera-Key": camera["key"]})
    assert session.execute(text("SELECT status FROM cameras WHERE code = :c"),
                           {"c": code}).scalar_one() == "online"


def test_a_scoped_dispatcher_reviews_only_the_detections_of_their_grids(
        client: TestClient, session: Session, camera: dict[str, Any]) -> None:
    low = _post(client, camera, 0.4, T0).json()
    grids = session.execute(text("""
        SELECT g.code, ST_Covers(g.geom, d.geom) FROM grids g
        JOIN grid_layers l ON l.id = g.layer_id, camera_detections d
        WHERE l.name = 'basic' AND g.valid_to IS NULL AND d.id = :id
        ORDER BY 2 DESC, g.code"""), {"id": low["id"]}).all()
    (mine, covers), (other, _) = grids[0], grids[-1]
    assert covers
    inside = bearer(token_for(session, "dispatcher", "cam-in", grids=[mine]))
    outside = bearer(token_for(session, "dispatcher", "cam-out", grids=[other]))
    assert client.get("/api/v1/camera-detections", headers=outside).json() == []
    refused = client.get(f"/api/v1/camera-detections/{low['id']}/snapshot", headers=outside)
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    refused = client.post(f"/api/v1/camera-detections/{low['id']}/reject", headers=outside)
    assert refused.status_code == 403 and refused.json()["code"] == "out_of_scope"
    seen = client.get("/api/v1/camera-detections", headers=inside).json()
    assert [d["id"] for d in seen] == [low["id"]]
    done = client.post(f"/api/v1/camera-detections/{low['id']}/reject", headers=inside)
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    missing = client.post("/api/v1/camera-detections/999999/reject", headers=inside)
    assert missing.status_code == 404 and missing.json()["code"] == "detection_not_found"
