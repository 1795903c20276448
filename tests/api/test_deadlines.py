"""Deadlines of events on real dates: intake, the steps of the lifecycle, the bulk import,
pauses and extensions, overdue KPIs and escalation, all on the working calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor
from api.calendar import pauses
from api.calendar.deadlines import deadline, step_deadlines
from api.calendar.models import DeadlineRequest
from api.db.models import Department, Event, EventCategory
from api.events.bulk_import import import_event_frame
from api.events.intake import create_event
from api.events.kpi import event_kpis
from api.events.lifecycle import apply_action, escalate_overdue
from api.grids.lookup import PostGISGridLookup
from api.io.importer import ImportOptions
from api.settings import EventSettings
from tests.api.events_support import bearer, token_for

CN = ZoneInfo("Asia/Shanghai")
DISPATCHER = Actor("disp", role="dispatcher")


def at(m: int, d: int, hh: int = 0, mm: int = 0, y: int = 2025) -> datetime:
    """A local time in China."""
    return datetime(y, m, d, hh, mm, tzinfo=CN)


@pytest.fixture()
def cats(session: Session) -> dict[str, EventCategory]:
    """T901: 4 working hours to handle, routed to CGJ; T902 (Baohe): 10 natural minutes
    to dispatch, 8 working hours to handle, 2 working hours to verify, no department."""
    cgj = session.execute(select(Department.id).where(Department.code == "CGJ")).scalar_one()
    common = {"major_code": "T9", "major_name": "测试", "major_name_en": "test"}
    out = {
        "T901": EventCategory(code="T901", name="工作时限", name_en="working", **common,
                              department_id=cgj, time_limit_hours=4, handling_working=True),
        "T902": EventCategory(code="T902", name="包河", name_en="Baohe", **common,
                              dispatch_limit_hours=10 / 60, dispatch_working=False,
                              time_limit_hours=8, handling_working=True,
                              verification_limit_hours=2, verification_working=True),
    }
    session.add_all(out.values())
    session.flush()
    return out


@pytest.fixture()
def place(session: Session) -> dict[str, float]:
    """A point in a basic grid that exists since 2024 (valid on the dates of these tests)."""
    row = session.execute(text("""
        SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM grids g
        JOIN grid_layers l ON l.id = g.layer_id, ST_PointOnSurface(g.geom) p
        WHERE l.name = 'basic' AND g.valid_to IS NULL AND g.valid_from < '2025-01-01'
          AND g.community_code IS NOT NULL
        ORDER BY g.code LIMIT 1""")).mappings().one()
    return dict(row)


@pytest.fixture()
def lookup(engine: Engine) -> PostGISGridLookup:
    return PostGISGridLookup(engine)


def report(session: Session, lookup: PostGISGridLookup, place: dict[str, float],
           category: str, now: datetime) -> Event:
    return create_event(session, lookup, category_code=category, lon=place["lon"],
                        lat=place["lat"], settings=EventSettings(), now=now)


def local(value: datetime | None) -> datetime | None:
    return value.astimezone(CN) if value else None


def test_intake_counts_a_working_time_limit_over_the_weekend(
        session: Session, lookup: PostGISGridLookup, place: dict[str, float],
        cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T901", at(11, 14, 16))  # Friday 16:00
    assert event.status == "dispatched"
    assert local(event.due_at) == at(11, 17, 11)  # 1.5 h on Friday, 2.5 h on Monday
    natural = report(session, lookup, place, "0101", at(11, 14, 16))  # 0101: 4 natural hours
    assert local(natural.due_at) == at(11, 14, 20)


def test_baohe_dispatches_in_ten_natural_minutes_then_handles_in_working_time(
        session: Session, lookup: PostGISGridLookup, place: dict[str, float],
        cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T902", at(11, 14, 17, 25))  # Friday 17:25
    assert event.status == "registered"
    assert local(event.due_at) == at(11, 14, 17, 35)  # not Monday: dispatch is natural time
    cgj = session.execute(select(Department.id).where(Department.code == "CGJ")).scalar_one()

    def act(action: str, when: datetime, **kw: Any) -> datetime | None:
        apply_action(session, event, action, actor="disp", now=when, **kw)
        return local(event.due_at)

    # dispatched at 17:30: 8 working hours from then, Monday (7 h) and Tuesday 08:30-09:30
    assert act("dispatch", at(11, 14, 17, 30), department_id=cgj) == at(11, 18, 9, 30)
    assert act("accept", at(11, 17, 9)) == at(11, 18, 9, 30)  # the same step: unchanged
    assert act("handle", at(11, 18, 9)) == at(11, 18, 11)  # verification: 2 working hours
    assert act("verify", at(11, 18, 10)) == at(11, 18, 11)
    assert act("close", at(11, 18, 10, 30)) == at(11, 18, 11)


def test_a_returned_case_gets_a_new_dispatch_limit_and_a_new_handling_limit(
        session: Session, lookup: PostGISGridLookup, place: dict[str, float],
        cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T902", at(9, 30, 15))
    cgj = session.execute(select(Department.id).where(Department.code == "CGJ")).scalar_one()
    apply_action(session, event, "dispatch", actor="d", now=at(9, 30, 15, 5), department_id=cgj)
    # 8 working hours from Tue 30 Sep 15:05: 2 h 25 min, National Day, then Thu 9 Oct
    assert local(event.due_at) == at(10, 9, 16, 5)
    apply_action(session, event, "return", actor="h", now=at(10, 9, 9))
    assert local(event.due_at) == at(10, 9, 9, 10)
    apply_action(session, event, "dispatch", actor="d", now=at(10, 10, 16), department_id=cgj)
    # Fri 10 Oct 16:00: 1.5 h, then Saturday 11 Oct is a make-up working day (6.5 h)
    assert local(event.due_at) == at(10, 11, 17)


def _pause(session: Session, event: Event, asked: datetime, approved: datetime) -> None:
    req = pauses.request(session, event, kind="pause", reason="等待业主回复", actor="cgj-1",
                         now=asked)
    pauses.decide(session, event, req, approve=True, actor=DISPATCHER, now=approved)


def _overdue(session: Session, event: Event, now: datetime) -> int:
    kpis = event_kpis(session, group_by="category", now=now,
                      scope=("e.id = :eid", {"eid": event.id}))
    return int(kpis["total"]["overdue"])


def test_a_pause_stops_the_clock_and_moves_the_deadline(
        session: Session, lookup: PostGISGridLookup, place: dict[str, float],
        cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T901", at(11, 14, 16))  # due Mon 17 Nov 11:00
    _pause(session, event, at(11, 14, 16, 30), at(11, 14, 17))  # 3 working hours were left
    assert event.due_at is None
    assert _overdue(session, event, at(11, 18, 9)) == 0
    assert event.id not in escalate_overdue(session, at(11, 19, 8), timedelta(hours=1))
    pauses.resume(session, event, actor="cgj-1", now=at(11, 19, 9))  # Wednesday 09:00
    assert local(event.due_at) == at(11, 19, 12)
    history = [(h.action, h.actor) for h in session.execute(text(
        "SELECT action, actor FROM event_history WHERE event_id = :id ORDER BY id"),
        {"id": event.id})]
    assert history[-3:] == [("request_pause", "cgj-1"), ("pause", "disp"),
                            ("resume", "cgj-1")]
    audit = session.execute(text(
        "SELECT actor, before, after FROM audit_log WHERE action = 'event.deadline.approve' "
        "AND object_id = :id"), {"id": str(event.id)}).one()
    assert audit.actor == "disp" and audit.after == {"due_at": None}
    assert datetime.fromisoformat(audit.before["due_at"]) == at(11, 17, 11)


def test_a_change_of_step_ends_a_pause(session: Session, lookup: PostGISGridLookup,
                                       place: dict[str, float],
                                       cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T902", at(11, 14, 9))
    cgj = session.execute(select(Department.id).where(Department.code == "CGJ")).scalar_one()
    apply_action(session, event, "dispatch", actor="d", now=at(11, 14, 9), department_id=cgj)
    _pause(session, event, at(11, 14, 10), at(11, 14, 10))  # 7 working hours left
    assert event.due_at is None
    apply_action(session, event, "accept", actor="h", now=at(11, 17, 9))
    assert local(event.due_at) == at(11, 18, 9)  # resumed: the 7 hours from Monday 09:00
    apply_action(session, event, "handle", actor="h", now=at(11, 17, 10))
    assert local(event.due_at) == at(11, 17, 12)  # verification: its own 2 hours
    assert pauses.list_requests(session, event.id)[-1]["paused"] is False


def test_an_extension_adds_working_hours(session: Session, lookup: PostGISGridLookup,
                                         place: dict[str, float],
                                         cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T901", at(11, 14, 16))  # due Mon 11:00
    req = pauses.request(session, event, kind="extension", reason="需要专业设备", hours=2,
                         actor="cgj-1", now=at(11, 17, 9))
    pauses.decide(session, event, req, approve=True, actor=DISPATCHER, now=at(11, 17, 10))
    assert local(event.due_at) == at(11, 17, 15)  # 11:00-12:00 and 14:00-15:00
    refused = pauses.request(session, event, kind="extension", reason="再延", hours=8,
                             actor="cgj-1", now=at(11, 17, 11))
    pauses.decide(session, event, refused, approve=False, actor=DISPATCHER,
                  now=at(11, 17, 11), note="不予延期")
    assert local(event.due_at) == at(11, 17, 15)
    # an extension of a paused event is kept for when it resumes
    _pause(session, event, at(11, 17, 14), at(11, 17, 14))  # 1 h left
    more = pauses.request(session, event, kind="extension", reason="材料未到", hours=1,
                          actor="cgj-1", now=at(11, 18, 9))
    pauses.decide(session, event, more, approve=True, actor=DISPATCHER, now=at(11, 18, 9))
    pauses.resume(session, event, actor="cgj-1", now=at(11, 20, 16))  # Thursday 16:00
    assert local(event.due_at) == at(11, 21, 9)  # 1.5 h on Thursday, 0.5 h on Friday


def test_overdue_and_escalation_honour_the_calendar(
        session: Session, lookup: PostGISGridLookup, place: dict[str, float],
        cats: dict[str, EventCategory]) -> None:
    event = report(session, lookup, place, "T901", at(11, 14, 16))  # due Mon 17 Nov 11:00
    assert _overdue(session, event, at(11, 15, 12)) == 0  # natural time: overdue Fri 20:00
    assert _overdue(session, event, at(11, 17, 11, 1)) == 1
    hour = timedelta(hours=1)
    assert event.id not in escalate_overdue(session, at(11, 17, 11, 59), hour)
    # 13:00 is 2 natural hours overdue, 1 working hour (11:00-12:00): level 1, street
    assert event.id in escalate_overdue(session, at(11, 17, 13), hour)
    session.expire(event)
    assert event.attributes["escalated_to"] == "street"
    # Monday 14:30: 1.5 working hours overdue (3.5 natural ones): still level 1
    assert event.id not in escalate_overdue(session, at(11, 17, 14, 30), hour)
    assert event.id in escalate_overdue(session, at(11, 17, 15), hour)  # 2 working hours
    session.expire(event)
    assert event.attributes["escalated_to"] == "district"


def test_the_bulk_import_uses_the_calendar(connection: Connection, session: Session,
                                           place: dict[str, float],
                                           cats: dict[str, EventCategory]) -> None:
    frame = gpd.GeoDataFrame({
        "category": ["T901", "T901", "0101"],
        "reported_at": ["2025-09-30 16:00+08:00", "2025-11-14 16:00+08:00",
                        "2025-11-14 16:00+08:00"],
        "external_id": ["a", "b", "c"],
    }, geometry=[shapely.Point(place["lon"], place["lat"])] * 3, crs="EPSG:4326")
    assert import_event_frame(connection, frame, ImportOptions()) == 3
    due: dict[Any, Any] = dict(session.execute(text(
        "SELECT attributes ->> 'external_id', due_at FROM events "
        "WHERE attributes ->> 'external_id' IN ('a', 'b', 'c')")).all())
    assert due["a"].astimezone(CN) == at(10, 9, 11)  # 1.5 h, National Day, 2.5 h
    assert due["b"].astimezone(CN) == at(11, 17, 11)
    assert due["c"].astimezone(CN) == at(11, 14, 20)  # natural


def test_pauses_and_extensions_through_the_api(client: TestClient, session: Session,
                                               place: dict[str, float],
                                               cats: dict[str, EventCategory]) -> None:
    handler = bearer(token_for(session, "handler", "cgj-api", department="CGJ"))
    disp = bearer(token_for(session, "dispatcher", "disp-api"))
    r = client.post("/api/v1/events", json={
        "category": "T901", "location": {"x": place["lon"], "y": place["lat"]}})
    eid, due = r.json()["id"], datetime.fromisoformat(r.json()["due_at"])
    base = f"/api/v1/events/{eid}/deadline-requests"
    assert client.post(base, json={"kind": "extension", "reason": "x"}, headers=handler
                       ).json()["code"] == "invalid_request"  # no hours
    asked = client.post(base, json={"kind": "extension", "reason": "设备", "hours": 3},
                        headers=handler)
    assert asked.status_code == 201, asked.text
    assert client.post(base, json={"kind": "pause", "reason": "再说"}, headers=handler
                       ).json()["code"] == "request_pending"
    decision = f"{base}/{asked.json()['id']}/decision"
    assert client.post(decision, json={"approve": True}, headers=handler).status_code == 403
    r = client.post(decision, json={"approve": True, "note": "同意"}, headers=disp)
    assert r.status_code == 200, r.text
    area = session.execute(text("SELECT coalesce(street_code, community_code) FROM events "
                                "WHERE id = :id"), {"id": eid}).scalar_one()
    extended = datetime.fromisoformat(r.json()["due_at"])
    assert extended == deadline(session, due, 3 * 3600, True, area) > due
    assert client.post(decision, json={"approve": False}, headers=disp
                       ).json()["code"] == "request_decided"
    pause = client.post(base, json={"kind": "pause", "reason": "等待配件"}, headers=handler)
    paused = client.post(f"{base}/{pause.json()['id']}/decision", json={"approve": True},
                         headers=disp)
    assert paused.json()["paused"] is True and paused.json()["due_at"] is None
    assert client.post(base, json={"kind": "pause", "reason": "again"}, headers=handler
                       ).json()["code"] == "already_paused"
    resumed = client.post(f"/api/v1/events/{eid}/resume", json={"note": "配件已到"},
                          headers=handler)
    assert resumed.status_code == 200, resumed.text
    stored = session.get(DeadlineRequest, pause.json()["id"])
    assert stored is not None and stored.resumed_at is not None
    assert datetime.fromisoformat(resumed.json()["due_at"]) == deadline(
        session, stored.resumed_at, float(stored.remaining_seconds or 0), True, area)
    assert client.post(f"/api/v1/events/{eid}/resume", json={}, headers=handler
                       ).json()["code"] == "not_paused"
    listed = client.get(base, headers=handler).json()
    assert [(x["kind"], x["status"]) for x in listed] == [("extension", "approved"),
                                                        ("pause", "approved")]
    detail = client.get(f"/api/v1/events/{eid}", headers=handler).json()
    assert [h["action"] for h in detail["history"]][-5:] == [
        "request_extension", "extend", "request_pause", "pause", "resume"]
    assert detail["due_at"] is not None


def test_a_closed_event_has_no_deadline_to_pause(client: TestClient, session: Session,
                                                 place: dict[str, float],
                                                 cats: dict[str, EventCategory]) -> None:
    handler = bearer(token_for(session, "handler", "cgj-c", department="CGJ"))
    eid = client.post("/api/v1/events", json={
        "category": "T901", "location": {"x": place["lon"], "y": place["lat"]}}).json()["id"]
    session.execute(text("UPDATE events SET status = 'closed' WHERE id = :id"), {"id": eid})
    r = client.post(f"/api/v1/events/{eid}/deadline-requests",
                    json={"kind": "pause", "reason": "x"}, headers=handler)
    assert (r.status_code, r.json()["code"]) == (409, "no_deadline")
    analyst = bearer(token_for(session, "analyst", "ana-c"))
    r = client.post(f"/api/v1/events/{eid}/deadline-requests",
                    json={"kind": "pause", "reason": "x"}, headers=analyst)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


def test_step_deadlines_preview_each_step_of_a_category(session: Session,
                                                        cats: dict[str, EventCategory]) -> None:
    rows = step_deadlines(session, "T902", at(11, 14, 17, 25))
    assert [(r["step"], r["working"]) for r in rows] == [
        ("dispatch", False), ("handling", True), ("verification", True)]
    # 10 natural minutes; 8 and 2 working hours of which 5 minutes on Friday
    assert [local(r["due_at"]) for r in rows] == [at(11, 14, 17, 35), at(11, 18, 9, 25),
                                                  at(11, 17, 10, 25)]
    assert [r["step"] for r in step_deadlines(session, "T901", at(11, 14, 16))
            if r["hours"] is None] == ["dispatch", "verification"]
