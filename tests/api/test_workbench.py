"""The staff workbench's API on the sample town: the queue by tab with filters, sorting,
paging and counts in the caller's scope; the case page's data; actions with photos;
supervision (督办), re-routing and re-categorising; the 10-minute dispatch rate."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.settings import Settings
from tests.api.events_support import basic_grids, bearer, event_settings, token_for

OPEN = "e.status IN ('registered','dispatched','in_progress','handled','verified','returned')"


@pytest.fixture()
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings with photos under the test's temporary directory."""
    return event_settings(database_url, tmp_path / "photos")


def _count(session: Session, where: str, **params: Any) -> int:
    return int(session.execute(text(
        f"SELECT count(*) FROM events e WHERE {OPEN} AND {where}"), params).scalar_one())


def _queue(client: TestClient, token: str, **params: Any) -> dict[str, Any]:
    resp = client.get("/api/v1/workbench/queue", params=params, headers=bearer(token))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _street(session: Session) -> str:
    return str(session.execute(text(
        f"SELECT street_code FROM events e WHERE {OPEN} AND street_code IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar_one())


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buf, format="PNG")
    return buf.getvalue()


def test_a_street_dispatcher_counts_every_tab_of_their_street_only(
        client: TestClient, session: Session) -> None:
    street = _street(session)
    token = token_for(session, "dispatcher", "d-queue", areas=[street])
    body = _queue(client, token, limit=200)
    here = "e.street_code = :s"
    assert body["counts"]["all"] == _count(session, here, s=street) > 0
    assert body["counts"]["new"] == _count(session, f"{here} AND e.status = 'registered'",
                                           s=street)
    assert body["counts"]["verify"] == _count(session, f"{here} AND e.status = 'handled'",
                                              s=street)
    assert body["counts"]["overdue"] == _count(session, f"{here} AND e.due_at < now()", s=street)
    assert body["counts"]["escalated"] == _count(
        session, f"{here} AND coalesce((e.attributes->>'escalation_level')::int, 0) > 0",
        s=street)
    assert {r["street_code"] for r in body["items"]} == {street}
    assert body["total"] == body["counts"]["all"]


def test_tabs_sorting_and_paging(client: TestClient, session: Session) -> None:
    token = token_for(session, "dispatcher", "d-sort")
    first = _queue(client, token, tab="overdue", sort="due_at", limit=5)
    dues = [r["due_at"] for r in first["items"]]
    assert len(dues) == 5 and dues == sorted(dues) and all(r["overdue"] for r in first["items"])
    second = _queue(client, token, tab="overdue", sort="due_at", limit=5, offset=5)
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    assert second["items"][0]["due_at"] >= dues[-1]
    newest = _queue(client, token, limit=3)["items"]
    assert [r["reported_at"] for r in newest] == sorted((r["reported_at"] for r in newest),
                                                        reverse=True)


def test_filters_narrow_the_queue_and_its_counts(client: TestClient, session: Session) -> None:
    token = token_for(session, "dispatcher", "d-filter")
    category, channel = session.execute(text(
        f"SELECT c.code, e.channel FROM events e JOIN event_categories c ON c.id = e.category_id "
        f"WHERE {OPEN} GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1")).one()
    body = _queue(client, token, category=category, channel=channel, limit=200)
    expected = _count(session, "e.channel = :ch AND e.category_id = (SELECT id FROM "
                      "event_categories WHERE code = :c)", ch=channel, c=category)
    assert body["counts"]["all"] == expected > 0
    assert {(r["category"], r["channel"]) for r in body["items"]} == {(category, channel)}
    one = body["items"][0]
    by_number = _queue(client, token, q=str(one["id"]))
    assert [r["id"] for r in by_number["items"]] == [one["id"]]
    closed = _queue(client, token, status="closed,evaluated", limit=5)
    assert closed["items"] and {r["status"] for r in closed["items"]} <= {"closed", "evaluated"}


@pytest.mark.parametrize(("params", "name"), [
    ({"tab": "later"}, "tab"), ({"sort": "colour"}, "sort"), ({"status": "open"}, "status")])
def test_bad_parameters_are_422_naming_the_parameter(client: TestClient, session: Session,
                                                     params: dict[str, str], name: str) -> None:
    token = token_for(session, "dispatcher", "d-bad")
    resp = client.get("/api/v1/workbench/queue", params=params, headers=bearer(token))
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_parameter"
    assert f"'{name}'" in resp.json()["message"]


def test_a_handler_inbox_is_their_department_overdue_first(client: TestClient,
                                                          session: Session) -> None:
    token = token_for(session, "handler", "h-inbox", department="CGJ")
    body = _queue(client, token, sort="overdue", limit=200)
    cgj = "e.department_id = (SELECT id FROM departments WHERE code = 'CGJ')"
    assert body["counts"]["all"] == _count(session, cgj) > 0
    assert {r["department"] for r in body["items"]} == {"CGJ"}
    flags = [r["overdue"] for r in body["items"]]
    assert True in flags and flags == sorted(flags, reverse=True)


def _new_case(client: TestClient, session: Session) -> int:
    g = basic_grids(session)[0]
    resp = client.post("/api/v1/events", json={
        "category": "0101", "description": "人行道上堆满建筑垃圾",
        "location": {"x": g["lon"], "y": g["lat"]},
        "reporter": {"name": "李四", "phone": "13900139000"}})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def test_the_case_page_data_with_reporter_read_audited(client: TestClient,
                                                       session: Session) -> None:
    event_id = _new_case(client, session)
    disp = token_for(session, "dispatcher", "d-case")
    resp = client.get(f"/api/v1/workbench/cases/{event_id}", headers=bearer(disp))
    assert resp.status_code == 200, resp.text
    case = resp.json()
    assert case["reporter"]["phone"] != "13900139000" and case["reporter"]["phone"]
    assert [h["action"] for h in case["history"]][0] == "register"
    assert "dispatch" not in case["allowed_actions"] or case["status"] == "registered"
    assert case["minutes_to_dispatch"] is None or case["minutes_to_dispatch"] < 1
    assert case["dispatch_target_minutes"] == 10
    audited = session.execute(text(
        "SELECT count(*) FROM audit_log WHERE actor = 'd-case' AND object_id = :id"),
        {"id": str(event_id)}).scalar_one()
    assert audited >= 1
    analyst = token_for(session, "analyst", "a-case")
    assert "reporter" not in client.get(f"/api/v1/workbench/cases/{event_id}",
                                        headers=bearer(analyst)).json()


def test_handle_with_an_after_photo_then_verify(client: TestClient, session: Session) -> None:
    event_id = _new_case(client, session)
    disp = bearer(token_for(session, "dispatcher", "d-flow"))
    status = client.get(f"/api/v1/workbench/cases/{event_id}", headers=disp).json()["status"]
    if status == "registered":
        resp = client.post(f"/api/v1/workbench/cases/{event_id}/actions", headers=disp,
                           json={"action": "dispatch", "department": "CGJ", "note": "请尽快处理"})
        assert resp.status_code == 200, resp.text
    else:
        client.post(f"/api/v1/workbench/cases/{event_id}/route", headers=disp,
                    json={"department": "CGJ"})
    handler = bearer(token_for(session, "handler", "h-flow", department="CGJ"))
    assert client.post(f"/api/v1/workbench/cases/{event_id}/actions", headers=handler,
                       json={"action": "accept"}).status_code == 200
    resp = client.post(f"/api/v1/workbench/cases/{event_id}/actions", headers=handler,
                       data={"action": "handle", "note": "已清运"},
                       files=[("photos", ("after.png", _png(), "image/png"))])
    assert resp.status_code == 200, resp.text
    case = resp.json()
    assert case["status"] == "handled"
    assert [p["stage"] for p in case["photos"]] == ["after"]
    assert client.get(case["photos"][0]["url"], headers=handler).status_code == 200
    assert {"actor": "h-flow", "note": "已清运"}.items() <= case["history"][-1].items()
    wrong = client.post(f"/api/v1/workbench/cases/{event_id}/actions", headers=handler,
                        json={"action": "close"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"
    assert "verify" in client.get(f"/api/v1/workbench/cases/{event_id}",
                                  headers=disp).json()["allowed_actions"]


def test_supervise_reroute_and_recategorise(client: TestClient, session: Session) -> None:
    event_id = _new_case(client, session)
    disp = bearer(token_for(session, "dispatcher", "d-super"))
    before = _queue(client, disp["Authorization"][7:], tab="supervised")["counts"]["supervised"]
    resp = client.post(f"/api/v1/workbench/cases/{event_id}/supervise", headers=disp,
                       json={"note": "领导督办"})
    assert resp.status_code == 200 and resp.json()["supervised"] is True
    after = _queue(client, disp["Authorization"][7:], tab="supervised")
    assert after["counts"]["supervised"] == before + 1
    assert event_id in {r["id"] for r in after["items"]}
    routed = client.post(f"/api/v1/workbench/cases/{event_id}/route", headers=disp,
                         json={"department": "SWJ", "note": "转水务"}).json()
    assert routed["department"]["code"] == "SWJ"
    assert routed["history"][-1]["action"] == "reroute"
    other = session.execute(text("SELECT code FROM event_categories WHERE code <> '0101' "
                                 "ORDER BY code LIMIT 1")).scalar_one()
    recat = client.post(f"/api/v1/workbench/cases/{event_id}/category", headers=disp,
                        json={"category": other, "route": False}).json()
    assert recat["category"] == other and recat["department"]["code"] == "SWJ"
    unknown = client.post(f"/api/v1/workbench/cases/{event_id}/route", headers=disp,
                          json={"department": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_department"
    handler = bearer(token_for(session, "handler", "h-super", department="SWJ"))
    refused = client.post(f"/api/v1/workbench/cases/{event_id}/supervise", headers=handler,
                          json={})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_the_stats_carry_the_ten_minute_dispatch_rate(client: TestClient,
                                                      session: Session) -> None:
    admin = bearer(token_for(session, "admin", "a-stats"))
    total = client.get("/api/v1/stats/events", params={"group_by": "street"},
                       headers=admin).json()["total"]
    dispatched, on_target = session.execute(text(
        "SELECT count(dispatched_at), count(*) FILTER (WHERE dispatched_at - reported_at "
        "<= interval '10 minutes') FROM events")).one()
    assert total["dispatched"] == dispatched > 0
    assert total["dispatch_on_target_rate"] == pytest.approx(on_target / dispatched)
