"""A camera's key and heartbeats: its status follows them, and coverage counts it only online."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.analytics.reading import read_cameras
from tests.api.events_support import bearer, token_for


def _counted(session: Session) -> set[str]:
    return set(read_cameras(session.connection())["code"])


def test_heartbeats_set_the_status_and_coverage_counts_only_online_cameras(
        client: TestClient, session: Session) -> None:
    code = session.execute(text("SELECT code FROM cameras WHERE status = 'online' "
                                "ORDER BY code LIMIT 1")).scalar_one()
    offline = set(session.execute(text("SELECT code FROM cameras WHERE status <> 'online'"))
                  .scalars())
    assert offline and not offline & _counted(session)  # the sample's offline ones
    admin = bearer(token_for(session, "admin", "camera-admin"))
    issued = client.post(f"/api/v1/cameras/{code}/key", headers=admin)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    url = f"/api/v1/cameras/{code}/heartbeat"
    for headers in ({}, {"X-Camera-Key": "cam_wrong"}):
        refused = client.post(url, headers=headers, json={"status": "offline"})
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_camera_key"
    assert code in _counted(session)
    assert client.post(url, headers={"X-Camera-Key": key},
                       json={"status": "fault"}).status_code == 204
    assert code not in _counted(session)
    assert client.post(url, headers={"X-Camera-Key": key}).status_code == 204  # online
    assert code in _counted(session)
    seen = session.execute(text("SELECT l.last_heartbeat_at IS NOT NULL FROM camera_links l "
                                "JOIN cameras c ON c.id = l.camera_id WHERE c.code = :c"),
                           {"c": code}).scalar()
    assert seen
    # a new key replaces the old one
    client.post(f"/api/v1/cameras/{code}/key", headers=admin)
    assert client.post(url, headers={"X-Camera-Key": key}).status_code == 401
    assert client.post("/api/v1/cameras/NOPE/heartbeat",
                       headers={"X-Camera-Key": key}).status_code == 404
    bad = client.post(url, headers={"X-Camera-Key": key}, json={"status": "asleep"})
    assert bad.status_code == 422
