"""Anomaly alerts on a schedule: a grid with a burst of reports this week is alerted once,
its community's people are told, and a dispatcher acknowledges the alert."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.alerts.service import run_alerts
from tests.api.events_support import bearer, token_for


def _burst(session: Session, count: int = 12) -> tuple[str, str]:
    """``count`` reports now in the grid of the sample's first event; its grid and community."""
    grid, community = session.execute(text(
        "SELECT grids ->> 'basic', community_code FROM events "
        "WHERE community_code IS NOT NULL AND grids ? 'basic' ORDER BY id LIMIT 1")).one()
    session.execute(text("""
        INSERT INTO events (public_token, category_id, status, channel, geom, grids,
                            community_code, street_code, reported_at)
        SELECT 'burst' || n, e.category_id, 'registered', e.channel, e.geom, e.grids,
               e.community_code, e.street_code, now()
        FROM events e, generate_series(1, :n) AS n
        WHERE e.id = (SELECT min(id) FROM events WHERE grids ->> 'basic' = :g)"""),
        {"n": count, "g": grid})
    return str(grid), str(community)


def test_a_burst_is_alerted_once_to_its_community_and_acknowledged(
        client: TestClient, session: Session) -> None:
    grid, community = _burst(session)
    head = token_for(session, "dispatcher", "alert-head", areas=[community])
    token_for(session, "dispatcher", "alert-centre")  # the centre: not this area's head
    session.execute(text("INSERT INTO user_channels (user_id, channel, address) SELECT id, "
                         "'sms', '13900000030' FROM users WHERE name LIKE 'alert-%'"))
    stored = run_alerts(session)
    assert [a["grid_code"] for a in stored] == [grid]
    assert stored[0]["area_code"] == community and stored[0]["count"] >= 12
    told = list(session.execute(text(
        "SELECT u.name FROM notifications n JOIN user_channels c ON c.id = n.user_channel_id "
        "JOIN users u ON u.id = c.user_id WHERE n.kind = 'anomaly'")).scalars())
    assert told == ["alert-head"]
    assert run_alerts(session) == []  # the same period again: nothing new stored or sent
    assert session.execute(text("SELECT count(*) FROM notifications WHERE kind = 'anomaly'")
                           ).scalar() == 1
    me = bearer(head)
    open_ = client.get("/api/v1/alerts", params={"acknowledged": "false"}, headers=me).json()
    assert [a["grid_code"] for a in open_] == [grid]
    url = f"/api/v1/alerts/{open_[0]['id']}/acknowledge"
    assert client.post(url, headers=me).status_code == 204
    again = client.post(url, headers=me)
    assert again.status_code == 409 and again.json()["code"] == "alert_acknowledged"
    assert client.get("/api/v1/alerts", params={"acknowledged": "false"},
                      headers=me).json() == []
    missing = client.post("/api/v1/alerts/999999/acknowledge", headers=me)
    assert missing.status_code == 404 and missing.json()["code"] == "alert_not_found"
    [acked] = client.get("/api/v1/alerts", headers=me).json()
    assert acked["acknowledged_by"] == "alert-head"
