"""Visit cycles with real dates: the shortest cycle of a person's tags, the last visit's day in
the server's time zone, due and overdue, the KPIs by grid and by worker, the field app's list."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.people.visits import visit_kpis, visit_tasks
from tests.api.people_support import World, make_world

TZ = "Asia/Shanghai"
ADMIN = Principal(1, "admin", "admin")


@pytest.fixture()
def tagged(client: TestClient, session: Session) -> World:
    """The first person: elderly living alone (level 1, 7 days) and low income (level 2, 30)."""
    world = make_world(client, session)
    pid = world.persons[0]
    for tag, level in (("elderly_alone", 1), ("low_income", 2)):
        resp = client.post(f"/api/v1/people/persons/{pid}/tags", headers=world.as_("admin"),
                           json={"tag": tag, "level": level, "since": "2026-01-01"})
        assert resp.status_code == 201, resp.text
    return world


def _status(session: Session, world: World, today: str, horizon: int = 7) -> str | None:
    tasks = visit_tasks(session, ADMIN, today=date.fromisoformat(today), tz=TZ,
                        horizon_days=horizon, statuses=("overdue", "due", "scheduled"))
    found = [t for t in tasks if t["person_id"] == world.persons[0]]
    return found[0]["status"] if found else None


def test_never_visited_the_person_is_due_a_cycle_after_being_tagged(session: Session,
                                                                     tagged: World) -> None:
    assert _status(session, tagged, "2026-01-02") == "due"  # due 01-08, within 7 days
    assert _status(session, tagged, "2026-01-02", horizon=3) == "scheduled"
    assert _status(session, tagged, "2026-01-08") == "due"
    assert _status(session, tagged, "2026-01-09") == "overdue"  # the 7-day cycle governs


def test_a_visit_counts_on_its_local_day(client: TestClient, session: Session,
                                         tagged: World) -> None:
    # 16:30 UTC on 5 January is 00:30 on 6 January in Shanghai: due on 13 January
    resp = client.post(f"/api/v1/people/persons/{tagged.persons[0]}/visits",
                       headers=tagged.as_("grid_worker"),
                       json={"visited_at": "2026-01-05T16:30:00Z", "notes": "独居，身体尚可"})
    assert resp.status_code == 201, resp.text
    tasks = visit_tasks(session, ADMIN, today=date(2026, 1, 13), tz=TZ)
    mine = [t for t in tasks if t["person_id"] == tagged.persons[0]]
    assert mine[0]["last_visit"] == "2026-01-06" and mine[0]["due_date"] == "2026-01-13"
    assert mine[0]["status"] == "due" and mine[0]["tags"] == ["elderly_alone", "low_income"]
    assert _status(session, tagged, "2026-01-14") == "overdue"


def test_the_kpis_count_due_done_and_overdue_by_grid_and_worker(
        client: TestClient, session: Session, tagged: World) -> None:
    client.post(f"/api/v1/people/persons/{tagged.persons[0]}/visits",
                headers=tagged.as_("grid_worker"), json={"visited_at": "2026-01-05T16:30:00Z"})
    by_grid = visit_kpis(session, ADMIN, by="grid", start=date(2026, 1, 1),
                         end=date(2026, 1, 15), tz=TZ)
    assert {"grid": tagged.grids[0], "due": 1, "done": 1, "overdue": 1} in by_grid
    by_worker = visit_kpis(session, ADMIN, by="worker", start=date(2026, 1, 1),
                           end=date(2026, 1, 15), tz=TZ)
    assert {"worker": "people-grid_worker", "due": 1, "done": 1, "overdue": 1} in by_worker
    later = visit_kpis(session, ADMIN, by="grid", start=date(2026, 1, 1),
                       end=date(2026, 1, 13), tz=TZ)
    assert {"grid": tagged.grids[0], "due": 1, "done": 1, "overdue": 0} in later


def test_the_workers_due_list_holds_the_overdue_person(client: TestClient,
                                                       tagged: World) -> None:
    due = client.get("/api/v1/people/visits/due", headers=tagged.as_("grid_worker")).json()
    assert [(t["person_id"], t["status"]) for t in due["items"]] == [
        (tagged.persons[0], "overdue")]
    assert due["items"][0]["room"] == tagged.rooms[0]
    other = client.get("/api/v1/people/visits/due", params={"grid": tagged.grids[1]},
                       headers=tagged.as_("admin")).json()
    assert other["count"] == 0


def test_configuring_a_tag_changes_the_cycle(client: TestClient, session: Session,
                                             tagged: World) -> None:
    resp = client.put("/api/v1/people/special-tags/elderly_alone", headers=tagged.as_("admin"),
                      json={"name": "独居老人", "levels": {"1": 3, "2": 15, "3": 30}})
    assert resp.status_code == 200, resp.text
    assert _status(session, tagged, "2026-01-05") == "overdue"  # 3 days after 01-01
    dropping = client.put("/api/v1/people/special-tags/elderly_alone",
                          headers=tagged.as_("admin"), json={"name": "独居老人",
                                                             "levels": {"2": 15}})
    assert dropping.status_code == 409 and dropping.json()["code"] == "level_in_use"


def test_the_field_apps_tasks_list_the_overdue_visit_at_its_building(client: TestClient,
                                                                      tagged: World) -> None:
    tasks = client.get("/api/v1/field/tasks", headers=tagged.as_("grid_worker")).json()
    visits = [t for t in tasks["tasks"] if t["kind"] == "visit"]
    assert [(v["id"], v["status"], v["task"]) for v in visits] == [
        (tagged.persons[0], "overdue", "visit")]
    assert visits[0]["room"] == tagged.rooms[0] and visits[0]["lon"] is not None
    assert "elderly_alone" in visits[0]["tags"] and tasks["counts"]["visit"] == 1
    assert "独居老人" in visits[0]["title"]  # the tags' names, not their codes


def test_a_visit_sent_again_with_its_key_is_recorded_once(
        client: TestClient, session: Session, tagged: World) -> None:
    worker = {**tagged.as_("grid_worker"), "Idempotency-Key": "visit-outbox-1"}
    body = {"visited_at": "2026-01-05T08:00:00Z", "lon": 114.2, "lat": 22.7,
            "notes": "再次发送"}
    first = client.post(f"/api/v1/people/persons/{tagged.persons[0]}/visits",
                        headers=worker, json=body)
    again = client.post(f"/api/v1/people/persons/{tagged.persons[0]}/visits",
                        headers=worker, json=body)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json() and first.json()["distance_m"] is not None
    stored = session.execute(text("SELECT count(*) FROM visits WHERE client_key = "
                                  "'visit-outbox-1'")).scalar_one()
    audited = session.execute(text(
        "SELECT count(*) FROM audit_log WHERE action = 'visit.create' AND "
        "details->>'visit' = :v"), {"v": str(first.json()["id"])}).scalar_one()
    assert (stored, audited) == (1, 1)
    admin = {**tagged.as_("admin"), "Idempotency-Key": "visit-outbox-1"}
    theirs = client.post(f"/api/v1/people/persons/{tagged.persons[0]}/visits",
                         headers=admin, json=body)
    assert theirs.status_code == 201  # a key is its worker's own: another user's is new
    reused = client.post(f"/api/v1/people/persons/{tagged.persons[1]}/visits",
                         headers=admin, json=body)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
