"""The field app's server: patrol shifts and tracks (noise, each point once, scoped and
audited reads, retention), plate check-ins, my tasks, coverage, KPIs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.field.scope import open_position
from api.field.tracks import purge_old_points
from gis_core.gcj02 import wgs84_to_gcj02
from tests.api.events_support import bearer, token_for
from tests.api.field_support import grid_with_roads, walk

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture()
def place(session: Session) -> dict[str, Any]:
    return grid_with_roads(session)


@pytest.fixture()
def worker(session: Session, place: dict[str, Any]) -> dict[str, str]:
    return bearer(token_for(session, "grid_worker", "worker-field", grids=[place["code"]]))


def _start(client: TestClient, worker: dict[str, str], at: datetime = MORNING) -> str:
    shift = str(uuid.uuid4())
    resp = client.post("/api/v1/field/shifts", json={"id": shift, "started_at": at.isoformat()},
                       headers=worker)
    assert resp.status_code == 201, resp.text
    return shift


def _worker_id(session: Session, name: str = "worker-field") -> int:
    return int(session.execute(text("SELECT id FROM users WHERE name = :n"), {"n": name})
               .scalar_one())


def test_points_are_stored_once_with_time_accuracy_and_grid_and_noise_dropped(
        client: TestClient, session: Session, place: dict[str, Any],
        worker: dict[str, str]) -> None:
    shift = _start(client, worker)
    points = walk(place["road"], MORNING)
    bad_fix = {**points[3], "t": (MORNING + timedelta(seconds=17)).isoformat(), "accuracy": 400}
    teleport = {**points[5], "t": (MORNING + timedelta(seconds=27)).isoformat(),
                "lon": points[5]["lon"] + 0.05}
    batch = {"points": [*points, bad_fix, teleport]}
    first = client.post(f"/api/v1/field/shifts/{shift}/points", json=batch, headers=worker)
    assert first.status_code == 200, first.text
    assert first.json() == {"shift": shift, "received": len(points) + 2, "stored": len(points),
                            "repeated": 0, "dropped": {"accuracy": 1, "speed": 1}}
    again = client.post(f"/api/v1/field/shifts/{shift}/points", json=batch, headers=worker)
    assert again.json()["stored"] == 0
    assert again.json()["repeated"] == len(points)
    rows = session.execute(text(
        "SELECT count(*), count(DISTINCT grid_code), min(grid_code), min(accuracy) "
        "FROM track_points WHERE shift_id = :s"), {"s": shift}).one()
    assert tuple(rows) == (len(points), 1, place["code"], 8.0)


def test_gcj02_positions_are_stored_in_wgs84(client: TestClient, session: Session,
                                             place: dict[str, Any],
                                             worker: dict[str, str]) -> None:
    shift = _start(client, worker)
    points = walk(place["road"], MORNING)[:5]
    lon, lat = wgs84_to_gcj02([p["lon"] for p in points], [p["lat"] for p in points])
    gcj = [{**p, "lon": float(x), "lat": float(y)} for p, x, y in zip(points, lon, lat,
                                                                      strict=True)]
    resp = client.post(f"/api/v1/field/shifts/{shift}/points",
                       json={"crs": "GCJ02", "points": gcj}, headers=worker)
    assert resp.json()["stored"] == 5
    stored = session.execute(text(
        "SELECT position FROM track_points WHERE shift_id = :s AND recorded_at = :t"),
        {"s": shift, "t": points[0]["t"]}).scalar_one()
    lon0, lat0 = open_position(client.app.state.gridgov.personal, stored)  # type: ignore[attr-defined]
    far = float(np.hypot((lon0 - points[0]["lon"]) * 102_600, (lat0 - points[0]["lat"]) * 110_900))
    assert far < 1.0  # GCJ-02 is 300-500 m off in Shenzhen: converted back


def test_track_positions_are_encrypted_at_rest(client: TestClient, session: Session,
                                               place: dict[str, Any],
                                               worker: dict[str, str]) -> None:
    shift = _start(client, worker)
    points = walk(place["road"], MORNING)[:3]
    client.post(f"/api/v1/field/shifts/{shift}/points", json={"points": points}, headers=worker)
    stored = session.execute(text("SELECT position FROM track_points WHERE shift_id = :s"),
                             {"s": shift}).scalars().all()
    assert len(stored) == 3 and all(v.startswith("v1:") for v in stored)
    assert not any(f"{p['lon']:.4f}" in v or f"{p['lat']:.4f}" in v
                   for p in points for v in stored)
    columns = session.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'track_points'"
    )).scalars().all()
    assert "geom" not in columns  # no clear copy of the position beside it


def test_shifts_belong_to_their_worker_and_bad_input_is_a_clear_4xx(
        client: TestClient, session: Session, place: dict[str, Any],
        worker: dict[str, str]) -> None:
    shift = _start(client, worker)
    other = bearer(token_for(session, "grid_worker", "worker-other", grids=[place["code"]]))
    point = walk(place["road"], MORNING)[:1]
    taken = client.post(f"/api/v1/field/shifts/{shift}/points", json={"points": point},
                        headers=other)
    assert (taken.status_code, taken.json()["code"]) == (409, "shift_taken")
    unknown = client.post(f"/api/v1/field/shifts/{uuid.uuid4()}/points",
                          json={"points": point}, headers=worker)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "shift_not_found")
    naive = client.post(f"/api/v1/field/shifts/{shift}/points", headers=worker,
                        json={"points": [{"t": "2026-11-30T09:00:00", "lon": 1, "lat": 2}]})
    assert naive.status_code == 422
    early = client.post(f"/api/v1/field/shifts/{shift}/stop", headers=worker,
                        json={"ended_at": (MORNING - timedelta(hours=1)).isoformat()})
    assert (early.status_code, early.json()["code"]) == (422, "invalid_shift_end")
    stop = {"ended_at": (MORNING + timedelta(hours=2)).isoformat()}
    ended = client.post(f"/api/v1/field/shifts/{shift}/stop", json=stop, headers=worker)
    assert datetime.fromisoformat(ended.json()["ended_at"]) == MORNING + timedelta(hours=2)
    later = {"ended_at": (MORNING + timedelta(hours=3)).isoformat()}
    assert client.post(f"/api/v1/field/shifts/{shift}/stop", json=later,
                       headers=worker).json() == ended.json()  # sent again: the first end


def _walked(client: TestClient, worker: dict[str, str], place: dict[str, Any]) -> str:
    shift = _start(client, worker)
    resp = client.post(f"/api/v1/field/shifts/{shift}/points", headers=worker,
                       json={"points": walk(place["road"], MORNING)})
    assert resp.status_code == 200, resp.text
    return shift


def test_supervisors_in_scope_replay_the_track_and_the_read_is_audited(
        client: TestClient, session: Session, place: dict[str, Any],
        worker: dict[str, str]) -> None:
    _walked(client, worker, place)
    wid = _worker_id(session)
    mine = bearer(token_for(session, "dispatcher", "sup-in", areas=[place["community_code"]]))
    track = client.get(f"/api/v1/field/tracks/{wid}", params={"day": "2026-11-30"},
                       headers=mine).json()
    n = len(walk(place["road"], MORNING))
    assert track["points"] == n
    assert track["features"][0]["geometry"]["type"] == "LineString"
    assert len(track["features"][0]["geometry"]["coordinates"]) == n
    assert track["km"] == pytest.approx((n - 1) * 8 / 1000, rel=0.05)
    audited = session.execute(text(
        "SELECT count(*) FROM audit_log WHERE action = 'track.read' AND actor = 'sup-in' "
        "AND object_id = :w"), {"w": str(wid)}).scalar_one()
    assert audited == 1
    other_grid = session.execute(text(
        "SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
        "WHERE l.name = 'basic' AND g.code <> :c ORDER BY g.code LIMIT 1"),
        {"c": place["code"]}).scalar_one()
    outside = bearer(token_for(session, "dispatcher", "sup-out", grids=[other_grid]))
    assert client.get(f"/api/v1/field/tracks/{wid}", params={"day": "2026-11-30"},
                      headers=outside).json()["points"] == 0
    denied = client.get(f"/api/v1/field/tracks/{wid}", params={"day": "2026-11-30"},
                        headers=worker)
    assert denied.status_code == 403


def test_coverage_time_and_kpis_of_the_day(client: TestClient, session: Session,
                                           place: dict[str, Any],
                                           worker: dict[str, str]) -> None:
    _walked(client, worker, place)
    admin = bearer(token_for(session, "admin", "sup-admin"))
    rows = client.get("/api/v1/field/coverage", params={"day": "2026-11-30"},
                      headers=admin).json()
    (row,) = rows
    assert row["grid"] == place["code"]
    assert 0 < row["covered_m"] <= row["road_m"]
    assert row["covered_m"] >= 290  # the 300 m walked along the road, at least
    n = len(walk(place["road"], MORNING))
    assert row["hours"] == pytest.approx((n - 1) * 5 / 3600, abs=1e-3)
    kpis = client.get("/api/v1/stats/workers", params={"start": "2026-11-30"},
                      headers=admin).json()
    mine = next(k for k in kpis if k["name"] == "worker-field")
    assert mine["patrol_km"] == pytest.approx((n - 1) * 8 / 1000, rel=0.05)
    assert mine["coverage"] == pytest.approx(row["share"], abs=1e-3)
    assert client.get("/api/v1/field/coverage", params={"day": "2026-12-01"},
                      headers=admin).json() == []
    week = client.get("/api/v1/field/unpatrolled", params={"week_of": "2026-12-02"},
                      headers=admin).json()
    assert place["code"] not in week["grids"]
    assert week["week_of"] == "2026-11-30"
    assert len(week["grids"]) > 0


def test_idle_periods_of_a_worker_standing_still(client: TestClient, session: Session,
                                                 place: dict[str, Any],
                                                 worker: dict[str, str]) -> None:
    shift = _start(client, worker)
    still = walk(place["road"], MORNING, metres=1, step_m=1)[0]
    points = [{**still, "t": (MORNING + timedelta(minutes=m)).isoformat()} for m in range(15)]
    client.post(f"/api/v1/field/shifts/{shift}/points", json={"points": points}, headers=worker)
    admin = bearer(token_for(session, "admin", "sup-idle"))
    (period,) = client.get(f"/api/v1/field/idle/{_worker_id(session)}",
                           params={"day": "2026-11-30"}, headers=admin).json()
    assert period["minutes"] == 14.0


def test_the_retention_job_deletes_old_points_only(client: TestClient, session: Session,
                                                  place: dict[str, Any],
                                                  worker: dict[str, str]) -> None:
    now = datetime.now(UTC)
    old = _start(client, worker, now - timedelta(days=200))
    new = _start(client, worker, now - timedelta(days=2))
    for shift, at in ((old, now - timedelta(days=200)), (new, now - timedelta(days=2))):
        client.post(f"/api/v1/field/shifts/{shift}/points", headers=worker,
                    json={"points": walk(place["road"], at)[:4]})
    assert purge_old_points(session, days=180, now=now) == 4
    left = session.execute(text("SELECT CAST(shift_id AS text), count(*) FROM track_points "
                                "WHERE shift_id IN (:a, :b) GROUP BY 1"),
                           {"a": old, "b": new}).all()
    assert dict(left) == {new: 4}
    assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'track.purge'")
                           ).scalar_one() >= 1


def test_a_check_in_records_the_distance_and_flags_a_far_one(
        client: TestClient, session: Session, place: dict[str, Any],
        worker: dict[str, str]) -> None:
    at = MORNING.isoformat()
    body = {"payload": f"http://testserver/b/{place['building']}", "at": at,
            "lon": place["blon"], "lat": place["blat"], "accuracy": 6}
    near = client.post("/api/v1/field/checkins", json=body,
                       headers={**worker, "Idempotency-Key": "c1"})
    assert near.status_code == 201, near.text
    assert near.json()["distance_m"] == 0.0
    assert near.json()["flagged"] is False
    assert near.json()["grid_code"] == place["code"]
    again = client.post("/api/v1/field/checkins", json=body,
                        headers={**worker, "Idempotency-Key": "c1"})
    assert (again.status_code, again.json()["id"]) == (200, near.json()["id"])
    far = client.post("/api/v1/field/checkins", headers={**worker, "Idempotency-Key": "c2"},
                      json={**body, "lat": place["blat"] + 0.002})  # about 220 m north
    assert far.status_code == 201
    assert far.json()["flagged"] is True
    assert far.json()["distance_m"] > 150
    bare = client.post("/api/v1/field/checkins", headers={**worker, "Idempotency-Key": "c3"},
                       json={"payload": place["building"], "at": at})
    assert bare.json()["flagged"] is True  # no position: flagged, not refused
    bad = client.post("/api/v1/field/checkins", headers={**worker, "Idempotency-Key": "c4"},
                      json={**body, "payload": "http://elsewhere.example/b/x"})
    assert (bad.status_code, bad.json()["code"]) == (422, "not_a_building_plate")
    assert session.execute(text("SELECT count(*) FROM field_checkins WHERE worker_id = :w"),
                           {"w": _worker_id(session)}).scalar_one() == 3


def test_my_tasks_are_the_cases_to_handle_or_verify_nearest_first(
        client: TestClient, session: Session, place: dict[str, Any],
        worker: dict[str, str]) -> None:
    session.execute(text("""
        UPDATE events SET status = 'in_progress' WHERE id IN (
            SELECT id FROM events WHERE grids ->> 'basic' = :g ORDER BY id LIMIT 3)"""),
        {"g": place["code"]})
    here = {"lon": place["blon"], "lat": place["blat"]}
    got = client.get("/api/v1/field/tasks", params=here, headers=worker).json()
    cases = [t for t in got["tasks"] if t["kind"] == "case"]
    assert len(cases) >= 3
    assert {t["task"] for t in cases} <= {"handle", "verify"}
    distances = [t["distance_m"] for t in got["tasks"]]
    assert distances == sorted(distances)
    in_grid = session.execute(text(
        "SELECT count(*) FROM events WHERE grids ->> 'basic' = :g "
        "AND status IN ('in_progress', 'handled')"), {"g": place["code"]}).scalar_one()
    assert got["counts"]["handle"] + got["counts"]["verify"] == in_grid
    assert got["counts"]["visit"] == 0  # visits come with the people-and-houses issue


def test_the_retention_job_runs_once_per_database_at_a_time(
        client: TestClient, session: Session, connection: Any, engine: Any,
        place: dict[str, Any], worker: dict[str, str]) -> None:
    from sqlalchemy.orm import sessionmaker

    from api.field.scheduled import LOCK_KEY, run_retention

    at = datetime.now(UTC) - timedelta(days=400)
    shift = _start(client, worker, at)
    client.post(f"/api/v1/field/shifts/{shift}/points", headers=worker,
                json={"points": walk(place["road"], at)[:3]})
    make = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    with engine.connect() as other:  # another server holds the job's lock: this one skips
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        try:
            assert run_retention(make, 180) is None
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    assert run_retention(make, 180) == 3


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/field/tracks/99999999999", {"day": "2026-11-30"}),
    ("/api/v1/field/tracks/1", {"day": "9999-12-31"}),
    ("/api/v1/field/coverage", {"day": "2026-11-30", "worker_id": -1}),
    ("/api/v1/stats/workers", {"start": "2026-12-02", "end": "2026-12-01"}),
    ("/api/v1/field/unpatrolled", {"week_of": "0001-01-01"}),
])
def test_supervision_reads_answer_bad_input_with_a_clear_4xx(
        client: TestClient, session: Session, path: str, params: dict[str, Any]) -> None:
    admin = bearer(token_for(session, "admin", "sup-bad"))
    resp = client.get(path, params=params, headers=admin)
    if path.endswith("99999999999"):
        assert resp.status_code == 200  # no such worker: an empty day
        assert resp.json()["points"] == 0
    else:
        assert resp.status_code == 422, resp.text
        assert {"code", "message"} <= set(resp.json())
