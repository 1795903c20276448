"""Joint handling: a lead and assisting departments, each with its sub-task, one case.

A dispatcher shares a fresh report (category 0101, 4 hours to handle) between
CGJ (lead) and ZJJ, JTJ (assisting, JTJ with 8 hours); each department's
handler sees and handles only its own part; the case is handled when the last
part is, not before; the KPIs count the lead's and the assisting work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.events_support import basic_grids, bearer, token_for


def _case(client: TestClient, session: Session) -> int:
    [grid] = basic_grids(session)[1:2]
    resp = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": grid["lon"], "y": grid["lat"]}})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _staff(session: Session) -> dict[str, dict[str, str]]:
    who = {"dispatcher": token_for(session, "dispatcher", "joint-dispatcher")}
    for dept in ("CGJ", "ZJJ", "JTJ", "JJDD"):
        who[dept] = token_for(session, "handler", f"joint-{dept}", department=dept)
    return {k: bearer(v) for k, v in who.items()}


SHARE = {"lead": "CGJ", "assisting": ["ZJJ", "JTJ"], "hours": {"JTJ": 8},
         "tasks": {"ZJJ": "检查违建", "JTJ": "疏导交通"}}


def test_a_joint_case_is_handled_when_every_department_has_handled_its_part(
        client: TestClient, session: Session) -> None:
    event_id = _case(client, session)
    staff = _staff(session)
    resp = client.post(f"/api/v1/events/{event_id}/joint", json=SHARE,
                       headers=staff["dispatcher"])
    assert resp.status_code == 201, resp.text
    parts = {p["department"]: p for p in resp.json()}
    assert [(p["department"], p["role"]) for p in resp.json()] == [
        ("CGJ", "lead"), ("JTJ", "assist"), ("ZJJ", "assist")]
    assert parts["ZJJ"]["task"] == "检查违建"
    due = {k: datetime.fromisoformat(p["due_at"]) for k, p in parts.items()}
    assert due["JTJ"] > due["CGJ"] == due["ZJJ"]  # its own 8 hours against the category's 4
    # each assisting department's handlers see the case's parts; another department does not
    assert client.get(f"/api/v1/events/{event_id}/subtasks",
                      headers=staff["ZJJ"]).status_code == 200
    assert client.get(f"/api/v1/events/{event_id}/subtasks",
                      headers=staff["JJDD"]).status_code == 403
    # a handler handles for their own department only
    other = client.post(f"/api/v1/events/{event_id}/subtasks/CGJ/handle",
                        json={"handling": "x"}, headers=staff["ZJJ"])
    assert other.status_code == 403
    for dept in ("ZJJ", "CGJ"):
        done = client.post(f"/api/v1/events/{event_id}/subtasks/{dept}/handle",
                           json={"handling": f"{dept} 已处置"}, headers=staff[dept])
        assert done.status_code == 200, done.text
        assert _status(session, event_id) == "dispatched"  # JTJ still works on it
    # the lead cannot close the case by hand while a part is open
    early = client.post(f"/api/v1/events/{event_id}/actions", headers=staff["CGJ"],
                        json={"action": "accept"})
    assert early.status_code == 200, early.text
    refused = client.post(f"/api/v1/events/{event_id}/actions", headers=staff["CGJ"],
                          json={"action": "handle"})
    assert refused.status_code == 409 and refused.json()["code"] == "subtasks_open"
    assert "JTJ" in refused.json()["message"]
    last = client.post(f"/api/v1/events/{event_id}/subtasks/JTJ/handle",
                       json={"handling": "已疏导"}, headers=staff["JTJ"])
    assert last.status_code == 200, last.text
    assert _status(session, event_id) == "handled"
    again = client.post(f"/api/v1/events/{event_id}/subtasks/JTJ/handle",
                        json={"handling": "again"}, headers=staff["JTJ"])
    assert again.status_code == 409 and again.json()["code"] == "subtask_handled"


def _status(session: Session, event_id: int) -> str:
    session.expire_all()
    return str(session.execute(text("SELECT status FROM events WHERE id = :id"),
                               {"id": event_id}).scalar())


def test_the_kpis_count_lead_and_assisting_work(client: TestClient, session: Session) -> None:
    event_id = _case(client, session)
    staff = _staff(session)
    client.post(f"/api/v1/events/{event_id}/joint", json=SHARE, headers=staff["dispatcher"])
    client.post(f"/api/v1/events/{event_id}/subtasks/ZJJ/handle", json={"handling": "ok"},
                headers=staff["ZJJ"])
    now = datetime.now(UTC)
    resp = client.get("/api/v1/joint/kpis", headers=staff["dispatcher"], params={
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat()})
    assert resp.status_code == 200, resp.text
    got: dict[str, Any] = {r["department"]: r for r in resp.json()}
    assert got["CGJ"]["lead"]["total"] == 1 and got["CGJ"]["assist"]["total"] == 0
    assert got["ZJJ"]["assist"] == {"total": 1, "handled": 1, "on_time": 1, "overdue": 0}
    assert got["JTJ"]["assist"]["handled"] == 0


def test_a_bad_share_is_refused_whole_and_the_handlers_are_told(
        client: TestClient, session: Session) -> None:
    event_id = _case(client, session)
    staff = _staff(session)
    for body, status, code in [
        ({**SHARE, "assisting": ["CGJ"]}, 422, "duplicate_department"),
        ({**SHARE, "assisting": ["NOPE"]}, 422, "unknown_department"),
        ({**SHARE, "assisting": []}, 422, "invalid_parameter"),
    ]:
        resp = client.post(f"/api/v1/events/{event_id}/joint", json=body,
                           headers=staff["dispatcher"])
        assert (resp.status_code, resp.json()["code"]) == (status, code), body
    assert client.get(f"/api/v1/events/{event_id}/subtasks",
                      headers=staff["dispatcher"]).json() == []
    session.execute(text("INSERT INTO user_channels (user_id, channel, address) "
                         "SELECT id, 'sms', '13900000020' FROM users WHERE name LIKE 'joint-%' "
                         "AND role = 'handler'"))
    assert client.post(f"/api/v1/events/{event_id}/joint", json=SHARE,
                       headers=staff["dispatcher"]).status_code == 201
    told = set(session.execute(text(
        "SELECT u.name FROM notifications n JOIN user_channels c ON c.id = n.user_channel_id "
        "JOIN users u ON u.id = c.user_id WHERE n.event_id = :id AND n.kind = 'subtask'"),
        {"id": event_id}).scalars())
    assert told == {"joint-CGJ", "joint-ZJJ", "joint-JTJ"}
    twice = client.post(f"/api/v1/events/{event_id}/joint", json=SHARE,
                        headers=staff["dispatcher"])
    assert twice.status_code == 409 and twice.json()["code"] == "already_joint"
