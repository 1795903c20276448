"""The big screen's figures: today's KPIs as event_kpis counts them, in the caller's scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.models import Event
from api.events.kpi import event_kpis
from api.screen.service import today_bounds
from tests.api.events_support import basic_grids, bearer, token_for

SUMMARY = "/api/v1/screen/summary"


def _today(session: Session, grid: dict[str, Any], n: int, status: str = "registered",
           dispatched_minutes: float | None = None) -> None:
    """``n`` events reported a minute ago in ``grid``."""
    now = datetime.now(UTC)
    cat = session.execute(text("SELECT id FROM event_categories WHERE code = '0101'")).scalar_one()
    street = session.execute(text("SELECT parent_code FROM admin_areas WHERE code = :c"),
                             {"c": grid["community_code"]}).scalar_one()
    for _ in range(n):
        reported = now - timedelta(minutes=1)
        session.add(Event(
            public_token=f"sc-{uuid.uuid4().hex[:16]}", category_id=cat, status=status,
            channel="app", geom=WKTElement(f"POINT({grid['lon']} {grid['lat']})", srid=4326),
            grids={"basic": grid["code"]}, community_code=grid["community_code"],
            street_code=street, reported_at=reported, registered_at=reported,
            dispatched_at=(reported + timedelta(minutes=dispatched_minutes)
                           if dispatched_minutes is not None else None)))
    session.flush()


def _summary(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    resp = client.get(SUMMARY, headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture()
def admin(session: Session) -> dict[str, str]:
    return bearer(token_for(session, "admin", "sc-admin"))


def test_todays_figures_are_event_kpis_of_today(client: TestClient, session: Session,
                                                admin: dict[str, str]) -> None:
    grid = basic_grids(session)[0]
    before = _summary(client, admin)["today"]
    _today(session, grid, 3)
    _today(session, grid, 2, status="dispatched", dispatched_minutes=5)
    body = _summary(client, admin)
    start, end = today_bounds(datetime.fromisoformat(body["now"]), body["timezone"])
    kpis = event_kpis(session, group_by="category", now=datetime.fromisoformat(body["now"]),
                      start=start, end=end)
    assert body["today"] == kpis["total"]
    assert body["today"]["reported"] == before["reported"] + 5
    assert body["today"]["dispatched"] == before["dispatched"] + 2
    assert body["from"] == start.isoformat() and body["dispatch_target_minutes"] == 10
    top = {c["code"]: c for c in body["top_categories"]}
    assert top["0101"]["reported"] == next(g["reported"] for g in kpis["groups"]
                                           if g["key"] == "0101")
    assert top["0101"]["name"]
    assert len(body["events"]["features"]) == body["today"]["reported"]


def test_rankings_of_every_level_are_given(client: TestClient, session: Session,
                                          admin: dict[str, str]) -> None:
    grid = basic_grids(session)[0]
    _today(session, grid, 2, status="dispatched", dispatched_minutes=5)
    rankings = _summary(client, admin, top=100)["rankings"]
    for level in ("street", "community", "department", "grid_worker"):
        rows = rankings[level]
        assert len(rows) <= 100
        assert all({"key", "name", "score", "rank"} <= set(r) for r in rows)
        ranks = [r["rank"] for r in rows if r["rank"] is not None]
        assert ranks == sorted(ranks)
    assert grid["community_code"] in {r["key"] for r in rankings["community"]}
    assert len(rankings["grid_worker"]) == min(100, int(session.execute(text(
        "SELECT count(*) FROM users WHERE role = 'grid_worker' AND active "
        "AND cardinality(grid_codes) > 0")).scalar_one()))
    assert len(_summary(client, admin, top=1)["rankings"]["community"]) == 1


def test_a_grid_worker_sees_only_their_grid(client: TestClient, session: Session) -> None:
    mine, other = basic_grids(session)[:2]
    _today(session, mine, 2)
    _today(session, other, 4)
    worker = bearer(token_for(session, "grid_worker", "sc-worker", grids=[mine["code"]]))
    body = _summary(client, worker)
    start, end = today_bounds(datetime.fromisoformat(body["now"]), body["timezone"])
    in_grid = session.execute(text(
        "SELECT count(*) FROM events WHERE grids @> jsonb_build_object('basic', CAST(:g AS text)) "
        "AND reported_at >= :s AND reported_at < :e"),
        {"g": mine["code"], "s": start, "e": end}).scalar_one()
    assert body["today"]["reported"] == in_grid >= 2
    ids = [f["id"] for f in body["events"]["features"]]
    grids = session.execute(text("SELECT DISTINCT grids ->> 'basic' FROM events "
                                 "WHERE id = ANY(:ids)"), {"ids": ids}).scalars().all()
    assert grids == [mine["code"]]
    streets = {r["key"] for r in body["rankings"]["community"]}
    assert streets <= {mine["community_code"]}


def test_bad_parameters_are_refused_with_a_clear_message(client: TestClient,
                                                         admin: dict[str, str]) -> None:
    resp = client.get(SUMMARY, params={"rank_days": 0}, headers=admin)
    assert resp.status_code == 422
    assert "rank_days" in resp.json()["message"]
