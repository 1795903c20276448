"""KPIs on a constructed set of events whose figures are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Event
from tests.api.events_support import basic_grids, signed_in

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # before the sample's events: only ours in the window



@pytest.fixture()
def client(client: TestClient, session: Session) -> TestClient:
    """These routes are for staff: the tests call them signed in as an admin."""
    return signed_in(client, session)


def _h(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + timedelta(hours=hours)


@pytest.fixture()
def constructed(session: Session) -> dict[str, Any]:
    """Seven events in two grids of one category, with hand-picked timestamps."""
    grids = basic_grids(session)
    g1, g2 = grids[0], grids[1]
    cat, dep = session.execute(text(
        "SELECT id, department_id FROM event_categories WHERE code = '0101'")).one()
    #  grid, status, dispatched h, closed h, due h, satisfaction
    spec = [
        (g1, "evaluated", 1.0, 3.0, 4.0, 5),     # closed on time
        (g1, "closed", 2.0, 10.0, 4.0, None),    # closed late
        (g2, "in_progress", 3.0, None, 4.0, None),  # open past due -> overdue
        (g1, "rejected", None, None, 4.0, None),
        (g1, "duplicate", None, None, 4.0, None),
        (g1, "registered", None, None, 24 * 365 * 80, None),  # open, not yet due
        (g1, "evaluated", 0.5, 2.0, 4.0, 2),     # closed on time
    ]
    for i, (g, status, disp, closed, due, score) in enumerate(spec):
        session.add(Event(
            public_token=f"kpi-{i}", category_id=cat, status=status, channel="app",
            geom=WKTElement(f"POINT({g['lon']} {g['lat']})", srid=4326),
            grids={"basic": g["code"]}, community_code=g["community_code"],
            street_code=g["community_code"][:9], department_id=dep, reported_at=T0,
            registered_at=T0, dispatched_at=_h(disp), closed_at=_h(closed), due_at=_h(due),
            satisfaction=score))
    session.flush()
    return {"g1": g1["code"], "g2": g2["code"]}


def _stats(client: TestClient, group_by: str) -> dict[str, Any]:
    r = client.get("/api/v1/stats/events", params={
        "group_by": group_by, "from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_kpis_by_category_match_the_hand_count(client: TestClient,
                                               constructed: dict[str, Any]) -> None:
    body = _stats(client, "category")
    assert [g["key"] for g in body["groups"]] == ["0101"]
    figures = body["groups"][0]
    assert {k: v for k, v in figures.items() if k != "key"} == body["total"]
    assert figures["reported"] == 7
    assert figures["registered"] == 5          # not rejected, not duplicate
    assert figures["closed"] == 3              # closed or evaluated
    assert figures["closure_rate"] == pytest.approx(3 / 5)
    assert figures["on_time_closure_rate"] == pytest.approx(2 / 3)
    assert figures["overdue"] == 1             # the open one past due
    assert figures["closed_late"] == 1         # closed after its due time
    assert figures["median_hours_to_dispatch"] == pytest.approx(1.5)   # 0.5, 1, 2, 3
    assert figures["median_hours_to_close"] == pytest.approx(3.0)      # 2, 3, 10
    assert figures["mean_satisfaction"] == pytest.approx(3.5)          # 5, 2


def test_dashboard_and_stats_mean_the_same_overdue(client: TestClient,
                                                  constructed: dict[str, Any]) -> None:
    stats = client.get("/api/v1/stats/events", params={"group_by": "category"})
    dashboard = client.get("/api/v1/web/dashboard")
    assert stats.status_code == dashboard.status_code == 200
    assert stats.json()["total"]["overdue"] == dashboard.json()["overdue"] > 0


def test_kpis_by_grid(client: TestClient, constructed: dict[str, Any]) -> None:
    groups = {g["key"]: g for g in _stats(client, "grid")["groups"]}
    assert set(groups) == {constructed["g1"], constructed["g2"]}
    second = groups[constructed["g2"]]
    assert (second["reported"], second["registered"], second["closed"], second["overdue"]) \
        == (1, 1, 0, 1)
    assert second["closure_rate"] == 0.0
    assert second["on_time_closure_rate"] is None
    assert groups[constructed["g1"]]["reported"] == 6


def test_definitions_are_in_the_openapi_description(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    text_ = spec["paths"]["/api/v1/stats/events"]["get"]["description"]
    for word in ("closure_rate", "on_time_closure_rate", "overdue", "percentile_cont",
                 "mean_satisfaction"):
        assert word in text_


def test_unknown_group_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/stats/events", params={"group_by": "planet"})
    assert r.status_code == 422
    assert "group_by" in r.json()["message"]
