"""Lifecycle, roles, escalation, evaluation and personal data, end to end on the sample town."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Event
from api.events.lifecycle import escalate_overdue
from api.settings import Settings
from tests.api.events_support import basic_grids, bearer, event_settings, token_for

PHONE = "13800138000"


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings with photos under the test's temporary directory."""
    return event_settings(database_url, tmp_path / "photos")


@pytest.fixture()
def grids(session: Session) -> list[dict[str, Any]]:
    """Interior points of the basic grids."""
    return basic_grids(session)


@pytest.fixture()
def staff(session: Session, grids: list[dict[str, Any]]) -> dict[str, str]:
    """Bearer tokens of one user per role (the grid worker has the first grid)."""
    return {
        "admin": token_for(session, "admin", "root"),
        "dispatcher": token_for(session, "dispatcher", "disp"),
        "handler": token_for(session, "handler", "cgj-1", department="CGJ"),
        "other_handler": token_for(session, "handler", "swj-1", department="SWJ"),
        "worker": token_for(session, "grid_worker", "worker-1", grids=[grids[0]["code"]]),
        "other_worker": token_for(session, "grid_worker", "worker-2", grids=[grids[1]["code"]]),
        "analyst": token_for(session, "analyst", "ana"),
    }


def _report(client: TestClient, g: dict[str, Any], category: str = "0101") -> dict[str, Any]:
    r = client.post("/api/v1/events", json={
        "category": category, "description": "路边垃圾",
        "location": {"x": g["lon"], "y": g["lat"]},
        "reporter": {"name": "王小明", "phone": PHONE, "email": "wxm@example.com"}})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _act(client: TestClient, event_id: int, token: str, action: str, **extra: Any) -> Any:
    return client.post(f"/api/v1/events/{event_id}/actions",
                       json={"action": action, **extra}, headers=bearer(token))


def test_happy_path_to_evaluation(client: TestClient, staff: dict[str, str],
                                  grids: list[dict[str, Any]]) -> None:
    ev = _report(client, grids[0])
    eid = ev["id"]
    assert ev["status"] == "dispatched"
    steps = [("handler", "accept", "in_progress"), ("handler", "handle", "handled"),
             ("worker", "verify", "verified"), ("dispatcher", "close", "closed")]
    for who, action, status in steps:
        r = _act(client, eid, staff[who], action, note=f"{action} done")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    r = client.post(f"/api/v1/track/{ev['public_token']}/evaluation",
                    json={"satisfaction": 5, "comment": "很快"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "evaluated"
    assert r.json()["satisfaction"] == 5
    detail = client.get(f"/api/v1/events/{eid}", headers=bearer(staff["admin"])).json()
    assert [h["action"] for h in detail["history"]] == [
        "register", "dispatch", "accept", "handle", "verify", "close", "evaluate"]
    assert [h["actor"] for h in detail["history"]] == [
        "public", "system", "cgj-1", "cgj-1", "worker-1", "disp", "resident"]
    assert all(h["at"] for h in detail["history"])
    assert detail["closed_at"] and detail["handled_at"] and detail["evaluated_at"]


def test_refused_transition_lists_the_allowed_actions(
        client: TestClient, staff: dict[str, str], grids: list[dict[str, Any]]) -> None:
    eid = _report(client, grids[0])["id"]
    r = _act(client, eid, staff["admin"], "close")
    assert r.status_code == 409
    assert r.json()["code"] == "transition_not_allowed"
    assert r.json()["details"]["allowed"] == [
        "accept", "cancel", "escalate", "mark_duplicate", "return"]
    assert client.get(f"/api/v1/events/{eid}",
                      headers=bearer(staff["admin"])).json()["status"] == "dispatched"
    unknown = _act(client, eid, staff["admin"], "teleport")
    assert unknown.status_code == 422


def test_roles_and_scopes(client: TestClient, staff: dict[str, str],
                          grids: list[dict[str, Any]]) -> None:
    eid = _report(client, grids[0])["id"]
    assert client.post(f"/api/v1/events/{eid}/actions",
                       json={"action": "accept"}).status_code == 401
    assert _act(client, eid, "gg_not-a-token", "accept").status_code == 401
    assert _act(client, eid, staff["analyst"], "accept").status_code == 403
    assert _act(client, eid, staff["other_handler"], "accept").status_code == 403
    assert _act(client, eid, staff["dispatcher"], "accept").status_code == 403
    assert _act(client, eid, staff["handler"], "accept").status_code == 200
    # a grid worker acts only on events of their grids
    assert _act(client, eid, staff["other_worker"], "escalate").status_code == 403
    assert _act(client, eid, staff["worker"], "escalate").status_code == 200
    other = _report(client, grids[1])["id"]
    assert _act(client, other, staff["worker"], "escalate").status_code == 403
    assert _act(client, other, staff["other_worker"], "escalate").status_code == 200


def test_personal_data_only_for_roles_that_need_it(
        client: TestClient, staff: dict[str, str], grids: list[dict[str, Any]]) -> None:
    ev = _report(client, grids[0])
    eid = ev["id"]
    for anonymous in (client.get(f"/api/v1/events/{eid}"),
                      client.get("/api/v1/events", params={"grid": grids[0]["code"]}),
                      client.get("/api/v1/stats/events", params={"group_by": "grid"})):
        assert anonymous.status_code == 401
    # another department's handler: not in their scope at all
    assert client.get(f"/api/v1/events/{eid}",
                      headers=bearer(staff["other_handler"])).status_code == 403
    without = [
        client.get(f"/api/v1/track/{ev['public_token']}"),
        client.get("/api/v1/events", params={"grid": grids[0]["code"]},
                   headers=bearer(staff["worker"])),
        client.get("/api/v1/stats/events", params={"group_by": "grid"},
                   headers=bearer(staff["analyst"])),
        client.get(f"/api/v1/events/{eid}", headers=bearer(staff["analyst"])),
        client.get(f"/api/v1/events/{eid}", headers=bearer(staff["worker"])),
    ]
    assert ev["public_token"] not in without[1].text
    for r in without:
        assert r.status_code == 200
        assert PHONE not in r.text and "王小明" not in r.text and "wxm@" not in r.text
    listed = without[1].json()["features"]
    assert eid in [f["id"] for f in listed]
    for who in ("admin", "dispatcher", "handler"):  # masked on the case page
        seen = client.get(f"/api/v1/events/{eid}", headers=bearer(staff[who])).json()
        assert seen["reporter"] == {"name": "王**", "phone": "138****8000",
                                    "email": "w***@example.com"}
        clear = client.get(f"/api/v1/events/{eid}/reporter", headers=bearer(staff[who]))
        assert clear.json()["reporter"] == {"name": "王小明", "phone": PHONE,
                                            "email": "wxm@example.com"}
    for who in ("analyst", "worker", "other_handler"):
        assert client.get(f"/api/v1/events/{eid}/reporter",
                          headers=bearer(staff[who])).status_code == 403


def test_escalation_community_street_district_city(
        client: TestClient, session: Session, staff: dict[str, str],
        grids: list[dict[str, Any]]) -> None:
    ev = _report(client, grids[0])  # 0101: 4 hours to handle
    due = datetime.fromisoformat(ev["due_at"])
    day = timedelta(hours=24)
    # sample events are old and open ones long overdue: only look at ours
    assert ev["id"] not in escalate_overdue(session, due + day - timedelta(minutes=1), day)
    assert ev["id"] in escalate_overdue(session, due + day, day)
    assert ev["id"] not in escalate_overdue(session, due + day, day)  # nothing new
    assert ev["id"] in escalate_overdue(session, due + 2 * day + timedelta(hours=1), day)
    detail = client.get(f"/api/v1/events/{ev['id']}", headers=bearer(staff["admin"])).json()
    assert (detail["escalation_level"], detail["escalated_to"]) == (2, "district")
    assert [h["action"] for h in detail["history"]][-2:] == ["escalate", "escalate"]
    # by hand, one more step; the top is the city
    r = _act(client, ev["id"], staff["dispatcher"], "escalate", note="urgent")
    assert r.json()["escalated_to"] == "city"
    assert ev["id"] not in escalate_overdue(session, due + 30 * day, day)
    closed = session.get(Event, ev["id"])
    assert closed is not None and closed.status == "dispatched"


def test_escalation_ignores_closed_events(session: Session, client: TestClient,
                                          staff: dict[str, str],
                                          grids: list[dict[str, Any]]) -> None:
    ev = _report(client, grids[2], "0102")
    session.execute(text("UPDATE events SET status = 'closed', closed_at = now() "
                         "WHERE id = :id"), {"id": ev["id"]})
    later = datetime.now(UTC) + timedelta(days=30)
    assert ev["id"] not in escalate_overdue(session, later, timedelta(hours=24))


def test_evaluation_needs_a_closed_event_and_a_valid_score(
        client: TestClient, grids: list[dict[str, Any]]) -> None:
    ev = _report(client, grids[0])
    early = client.post(f"/api/v1/track/{ev['public_token']}/evaluation",
                        json={"satisfaction": 4})
    assert early.status_code == 409
    bad = client.post(f"/api/v1/track/{ev['public_token']}/evaluation",
                      json={"satisfaction": 7})
    assert bad.status_code == 422
    assert client.post("/api/v1/track/nope/evaluation",
                       json={"satisfaction": 4}).status_code == 404
