"""Escalation reaches a person: each level's queue holds the case, its trail shows the climb.

Dispatchers scoped to the event's community, street and district and the
command centre (no scope; the sample territory has no city) each get a channel;
a case escalated step by step (by hand, then by the overdue run) must sit in
exactly the queue of the level it reached, and its trail must name each level's
area and the people told at each step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Event
from api.events.lifecycle import apply_action, escalate_overdue
from api.notify.models import UserChannel
from tests.api.events_support import basic_grids, bearer, token_for


def _areas(session: Session, event_id: int) -> dict[str, str]:
    row = session.execute(text(
        "SELECT e.community_code, e.street_code, s.parent_code FROM events e "
        "JOIN admin_areas s ON s.code = e.street_code WHERE e.id = :id"),
        {"id": event_id}).one()
    return {"community": row[0], "street": row[1], "district": row[2]}


def _people(session: Session, areas: dict[str, str]) -> dict[str, dict[str, Any]]:
    """A dispatcher per level (and one of another street), each with a token and a channel."""
    other = session.execute(text("SELECT code FROM admin_areas WHERE level = 'street' "
                                 "AND code <> :s LIMIT 1"), {"s": areas["street"]}).scalar()
    scopes: dict[str, list[str]] = {**{k: [v] for k, v in areas.items()}, "centre": [],
                                    "other": [str(other)]}
    people: dict[str, dict[str, Any]] = {}
    for level, codes in scopes.items():
        name = f"esc-{level}"
        token = token_for(session, "dispatcher", name, areas=codes)
        user_id = session.execute(text("SELECT id FROM users WHERE name = :n"),
                                  {"n": name}).scalar_one()
        session.add(UserChannel(user_id=user_id, channel="sms", address="13900000010"))
        people[level] = {"name": name, "headers": bearer(token)}
    session.flush()
    return people


def _event(client: TestClient, session: Session) -> Event:
    """A fresh report of the sample's first grid, due now (a month later: overdue)."""
    [grid] = basic_grids(session)[:1]
    resp = client.post("/api/v1/events", json={
        "category": "0101", "location": {"x": grid["lon"], "y": grid["lat"]}})
    assert resp.status_code == 201, resp.text
    event = session.get(Event, resp.json()["id"])
    assert event is not None and event.status == "dispatched"
    event.due_at = datetime.now(UTC)
    return event


def _queues(client: TestClient, people: dict[str, Any], event_id: int) -> set[str]:
    holding = set()
    for level, who in people.items():
        resp = client.get("/api/v1/escalation/queue", headers=who["headers"])
        assert resp.status_code == 200, resp.text
        if event_id in {r["id"] for r in resp.json()}:
            holding.add(level)
    return holding


def test_a_case_climbs_from_queue_to_queue_and_its_trail_shows_every_step(
        client: TestClient, session: Session) -> None:
    event = _event(client, session)
    areas = _areas(session, event.id)
    people = _people(session, areas)
    assert _queues(client, people, event.id) == set()  # not escalated: in no one's queue
    for expected in ("street", "district"):
        apply_action(session, event, "escalate", actor="esc-community", now=datetime.now(UTC))
        session.flush()
        assert _queues(client, people, event.id) == {expected}
    escalate_overdue(session, datetime.now(UTC) + timedelta(days=30), timedelta(hours=24))
    assert _queues(client, people, event.id) == {"centre"}
    resp = client.get(f"/api/v1/events/{event.id}/escalation", headers=people["centre"]["headers"])
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["level"], got["level_name"], got["area_code"]) == (3, "city", None)
    steps = [(s["from_level"], s["to_level"], s["reason"], s["area_code"], s["notified"])
             for s in got["steps"]]
    assert steps == [
        (0, 1, "manual", areas["street"], ["esc-street"]),
        (1, 2, "manual", areas["district"], ["esc-district"]),
        (2, 3, "overdue", None, ["esc-centre"])]
    assert [s["actor"] for s in got["steps"]] == ["esc-community", "esc-community", "system"]


def test_the_trail_is_refused_outside_your_scope_and_the_queue_to_other_roles(
        client: TestClient, session: Session) -> None:
    event = _event(client, session)
    areas = _areas(session, event.id)
    other = session.execute(text("SELECT code FROM admin_areas WHERE level = 'street' "
                                 "AND code <> :s LIMIT 1"), {"s": areas["street"]}).scalar()
    outsider = bearer(token_for(session, "dispatcher", "esc-outsider", areas=[str(other)]))
    resp = client.get(f"/api/v1/events/{event.id}/escalation", headers=outsider)
    assert resp.status_code == 403 and resp.json()["code"] == "out_of_scope"
    assert client.get("/api/v1/events/999999999/escalation",
                      headers=outsider).status_code == 404
    grid = session.execute(text("SELECT code FROM grids LIMIT 1")).scalar()
    worker = bearer(token_for(session, "grid_worker", "esc-worker", grids=[str(grid)]))
    assert client.get("/api/v1/escalation/queue", headers=worker).status_code == 403
