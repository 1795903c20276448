"""The leader role (领导): a street's leader reads the big screen, the dashboard and the
reports of that street only (403 for another street's report), cannot act on a case
(403 on dispatch, on the workbench's changes), and ``gridgov user create --role leader``
makes one who signs in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli
from api.db.models import Event
from api.main import create_app
from api.settings import Settings
from tests.api.events_support import basic_grids, bearer, token_for

STREET = "440307003"  # 平湖街道 of the sample town
OTHER_STREET = "440307006"


def _street_of(session: Session, grid: dict[str, Any]) -> str:
    return str(session.execute(text("SELECT parent_code FROM admin_areas WHERE code = :c"),
                               {"c": grid["community_code"]}).scalar_one())


def _grid_in(session: Session, street: str, *, inside: bool = True) -> dict[str, Any]:
    return next(g for g in basic_grids(session) if (_street_of(session, g) == street) == inside)


def _reported_now(session: Session, grid: dict[str, Any], n: int) -> list[int]:
    """``n`` registered events reported a minute ago in ``grid``; their ids."""
    cat = session.execute(text("SELECT id FROM event_categories WHERE code = '0101'")).scalar_one()
    reported = datetime.now(UTC) - timedelta(minutes=1)
    events = [Event(public_token=f"ld-{uuid.uuid4().hex[:16]}", category_id=cat,
                    status="registered", channel="app",
                    geom=WKTElement(f"POINT({grid['lon']} {grid['lat']})", srid=4326),
                    grids={"basic": grid["code"]}, community_code=grid["community_code"],
                    street_code=_street_of(session, grid), reported_at=reported,
                    registered_at=reported) for _ in range(n)]
    session.add_all(events)
    session.flush()
    return [e.id for e in events]


def _reported_today(client: TestClient, headers: dict[str, str]) -> int:
    resp = client.get("/api/v1/screen/summary", headers=headers)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["today"]["reported"])


@pytest.fixture()
def leader(session: Session) -> dict[str, str]:
    """The leader of one street."""
    return bearer(token_for(session, "leader", "平湖街道领导", areas=[STREET]))


def test_a_leader_reads_the_screen_of_their_street_only(
        client: TestClient, session: Session, leader: dict[str, str]) -> None:
    admin = bearer(token_for(session, "admin", "ld-admin"))
    before, everyone = _reported_today(client, leader), _reported_today(client, admin)
    _reported_now(session, _grid_in(session, STREET), 2)
    _reported_now(session, _grid_in(session, STREET, inside=False), 3)
    assert _reported_today(client, leader) == before + 2
    assert _reported_today(client, admin) == everyone + 5
    dashboard = client.get("/api/v1/web/dashboard", headers=leader)
    assert dashboard.status_code == 200, dashboard.text


def test_a_leader_reads_their_streets_report_not_anothers(
        client: TestClient, leader: dict[str, str]) -> None:
    own = client.get("/api/v1/reports", headers=leader,
                     params={"street": STREET, "month": "2026-10", "format": "xlsx"})
    assert own.status_code == 200, own.text
    other = client.get("/api/v1/reports", headers=leader,
                       params={"street": OTHER_STREET, "month": "2026-10", "format": "xlsx"})
    assert other.status_code == 403
    assert other.json()["code"] == "out_of_scope"


def test_a_leader_cannot_act_on_a_case(client: TestClient, session: Session,
                                       leader: dict[str, str]) -> None:
    event_id = _reported_now(session, _grid_in(session, STREET), 1)[0]
    session.commit()  # a savepoint: each refused request rolls the session back to here
    dispatch = client.post(f"/api/v1/events/{event_id}/actions", headers=leader,
                           json={"action": "dispatch", "department": "CGJ", "note": "去处理"})
    assert dispatch.status_code == 403
    assert dispatch.json()["code"] == "forbidden"
    desk = client.post(f"/api/v1/workbench/cases/{event_id}/actions", headers=leader,
                       json={"action": "dispatch", "department": "CGJ"})
    assert desk.status_code == 403
    supervise = client.post(f"/api/v1/workbench/cases/{event_id}/supervise", headers=leader,
                            json={"supervised": True})
    assert supervise.status_code == 403
    status = session.execute(text("SELECT status FROM events WHERE id = :i"),
                             {"i": event_id}).scalar_one()
    assert status == "registered"


def test_the_command_line_creates_a_leader(empty_database_url: str) -> None:
    made = CliRunner().invoke(cli, ["user", "create", "--name", "区领导", "--role", "leader"],
                              env={"DATABASE_URL": empty_database_url})
    assert made.exit_code == 0, made.stderr
    settings = Settings()
    settings.db.database_url = empty_database_url
    with TestClient(create_app(settings)) as api:
        me = api.get("/api/v1/auth/me", headers=bearer(made.stdout.strip()))
        assert me.status_code == 200 and me.json()["role"] == "leader"
        screen = api.get("/api/v1/screen/summary", headers=bearer(made.stdout.strip()))
        assert screen.status_code == 200
