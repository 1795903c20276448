"""The grid worker's app in headless Chromium with geolocation and offline emulation: a
worker signs in, goes offline, patrols a route, reports two problems with photos, checks in
by a plate photo, comes back online -- everything arrives once, in order, in the right grid;
a supervisor then sees the track and the coverage.

Playwright on the system Chromium: geolocation and offline emulation are the browser
context's (``set_geolocation``, ``set_offline``); any request that would leave 127.0.0.1
is aborted and fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import shapely
from playwright.sync_api import Browser, Geolocation, expect
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from coding import qr
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.api.field_support import grid_with_roads
from tests.web.accounts import make_user
from tests.web.playwright_support import Guard, fill_sign_in, phone, sign_in

WORKER = "worker-pwa"
SUPERVISOR = "supervisor-web"


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, Any]]:
    photos = tmp_path_factory.mktemp("field-photos")
    env = {"GRIDGOV_EVENTS_PHOTO_DIR": str(photos), "GRIDGOV_API_RATE_LIMIT_INTAKE": "off",
           "GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS": "0"}
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url, env) as base:
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            place = grid_with_roads(session)
            _, admin = create_user(session, name="supervisor-pwa", role="admin")
            session.commit()
        make_user(url, WORKER, role="grid_worker", grids=[place["code"]])
        make_user(url, SUPERVISOR, role="dispatcher", areas=[place["community_code"]])
        yield {"base": base, "url": url, "engine": engine, "place": place, "admin": admin}
        engine.dispose()


def _sql(server: dict[str, Any], query: str, **params: Any) -> list[Any]:
    with server["engine"].connect() as conn:
        return list(conn.execute(text(query), params).all())


def _photo(path: Path, colour: tuple[int, int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", (64, 48), colour).save(path, "JPEG")
    return path


def _route(road: Any, n: int = 40, step_m: float = 2.0) -> list[tuple[float, float]]:
    """Positions ``step_m`` apart along ``road`` (WGS84): a walk at a brisk pace."""
    xy = shapely.get_coordinates(road)
    lat = np.radians(xy[:, 1].mean())
    d = np.diff(xy, axis=0) * np.radians(1) * 6_371_008.8
    metres = float(np.hypot(d[:, 0] * np.cos(lat), d[:, 1]).sum())
    along = np.arange(n) * step_m * road.length / metres
    return [(float(x), float(y)) for x, y in
            shapely.get_coordinates(shapely.line_interpolate_point(road, along))]


def _position(lon: float, lat: float) -> Geolocation:
    return {"longitude": lon, "latitude": lat, "accuracy": 5}


def test_a_day_offline_arrives_once_in_order_and_the_supervisor_sees_it(
        server: dict[str, Any], browser: Browser, tmp_path: Path) -> None:
    base, place = server["base"], server["place"]
    route = _route(place["road"])
    plate = tmp_path / "plate.png"
    plate.write_bytes(qr.make_png(qr.plate_url(base, place["building"]), scale=8))
    photos = [_photo(tmp_path / "a.jpg", (200, 30, 30)), _photo(tmp_path / "b.jpg", (30, 30, 200))]
    guard = Guard()
    page = phone(browser, guard, route[0])
    context = page.context
    sign_in(page, base, WORKER, "/static/field/index.html")
    page.wait_for_function("() => window.fieldReady === true")
    expect(page.locator("#who")).to_contain_text(WORKER)
    assert page.locator("#who").inner_text().startswith(WORKER)
    page.wait_for_function(
        "() => navigator.serviceWorker.ready.then(() => caches.open('field-shell-v1'))"
        ".then(c => c.match('/static/field/app.js')).then(Boolean)", timeout=30_000)

    context.set_offline(True)
    page.wait_for_function("() => navigator.onLine === false")
    page.click("nav [data-go=patrol]")
    page.click("#patrol-toggle")
    page.wait_for_function("() => window.fieldApp.patrol() !== null")
    for lon, lat in route:
        context.set_geolocation(_position(lon, lat))
        page.wait_for_timeout(300)  # a walk: 2 m per 0.3 s, well under the speed limit
    page.click("nav [data-go=report]")
    for i, photo in enumerate(photos):
        page.set_input_files("#photos", photo)
        page.fill("#description", f"problem {i + 1}")
        page.click("#report-submit")
        page.wait_for_function(f"() => window.fieldApp.queued >= {2 + i}")
    page.click("nav [data-go=checkin]")
    page.set_input_files("#plate-photo", plate)
    expect(page.locator("#checkin-status")).to_contain_text(place["building"], timeout=30_000)
    page.click("nav [data-go=patrol]")
    page.click("#patrol-toggle")
    page.wait_for_function("() => window.fieldApp.patrol() === null")
    queued = page.evaluate("window.fieldApp.queued")
    assert queued >= 6  # shift, points, two reports, check-in, stop
    assert _sql(server, "SELECT count(*) FROM patrol_shifts")[0][0] == 0  # nothing sent

    context.set_offline(False)
    page.wait_for_function("() => window.fieldApp.queued === 0", timeout=60_000)
    page.evaluate("window.fieldApp.send()")  # once more: nothing is sent twice
    context.close()

    events = _sql(server, """
        SELECT e.id, e.description, e.channel, e.grids ->> 'basic',
               (SELECT count(*) FROM event_photos p WHERE p.event_id = e.id),
               (SELECT min(a.id) FROM audit_log a WHERE a.action = 'event.create'
                AND a.object_id = CAST(e.id AS text))
        FROM events e WHERE EXISTS (SELECT 1 FROM event_history h WHERE h.event_id = e.id
                                    AND h.action = 'register' AND h.actor = :w)
        ORDER BY e.id""", w=WORKER)
    assert [(e[1], e[2], e[4]) for e in events] == [("problem 1", "patrol", 1),
                                                    ("problem 2", "patrol", 1)]
    assert {e[3] for e in events} == {place["code"]}
    (shift,) = _sql(server, "SELECT CAST(id AS text), ended_at FROM patrol_shifts")
    assert shift[1] is not None
    (start_audit,) = _sql(server, "SELECT id FROM audit_log WHERE action = 'patrol.start'")
    assert start_audit[0] < events[0][5] < events[1][5]  # sent in the order made
    points = _sql(server, "SELECT count(*), count(DISTINCT recorded_at), min(grid_code), "
                          "max(grid_code) FROM track_points")[0]
    assert points[0] == points[1] >= len(route) - 2
    assert points[2] == points[3] == place["code"]
    checkins = _sql(server, "SELECT b.code, c.grid_code FROM field_checkins c "
                            "JOIN buildings b ON b.id = c.building_id")
    assert checkins == [(place["building"], place["code"])]

    day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    admin = {"Authorization": f"Bearer {server['admin']}"}
    wid = _sql(server, "SELECT id FROM users WHERE name = :n", n=WORKER)[0][0]
    track = httpx.get(f"{base}/api/v1/field/tracks/{wid}", params={"day": day},
                      headers=admin).json()
    assert track["points"] == points[0]
    assert track["km"] > 0.05
    coverage = httpx.get(f"{base}/api/v1/field/coverage", params={"day": day},
                         headers=admin).json()
    (row,) = coverage
    assert row["grid"] == place["code"]
    assert row["covered_m"] > 60
    assert row["checkins"] == 1

    # the supervision page: the track on the map, the coverage
    desk = guard.watch(browser.new_context()).new_page()
    supervise = f"{base}/static/field/supervise.html?worker={wid}&day={day}"
    desk.goto(supervise)
    desk.wait_for_url(f"{base}/sign-in**")  # not signed in: to the sign-in page and back
    fill_sign_in(desk, SUPERVISOR)
    desk.wait_for_url(supervise)
    desk.wait_for_function("() => window.superviseShown", timeout=60_000)
    assert desk.evaluate("window.superviseShown") == {"points": points[0], "grids": 1}
    expect(desk.locator("#coverage")).to_contain_text(place["code"])
    assert desk.locator("#coverage").inner_text().startswith(place["code"])
    desk.context.close()
    guard.check()
