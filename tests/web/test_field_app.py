"""The grid worker's app in headless Chromium with geolocation and offline emulation: a
worker signs in, goes offline, patrols a route, reports two problems with photos, checks in
by a plate photo, comes back online -- everything arrives once, in order, in the right grid;
a supervisor then sees the track and the coverage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from coding import qr
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.api.field_support import grid_with_roads
from tests.web.accounts import PASSWORD, fill_sign_in, make_user, wait_across_navigation
from tests.web.cdp import Browser

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


def _node(page: Browser, selector: str) -> int:
    root = page.send("DOM.getDocument")["root"]["nodeId"]
    return int(page.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"])


def _files(page: Browser, selector: str, paths: list[Path]) -> None:
    page.send("DOM.setFileInputFiles", {"nodeId": _node(page, selector),
                                        "files": [str(p) for p in paths]})


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


def _at(page: Browser, lon: float, lat: float) -> None:
    page.send("Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon,
                                                   "accuracy": 5})


def _offline(page: Browser, offline: bool) -> None:
    page.send("Network.emulateNetworkConditions", {"offline": offline, "latency": 0,
                                                   "downloadThroughput": -1,
                                                   "uploadThroughput": -1})


def test_a_day_offline_arrives_once_in_order_and_the_supervisor_sees_it(
        server: dict[str, Any], tmp_path: Path) -> None:
    base, place = server["base"], server["place"]
    route = _route(place["road"])
    plate = tmp_path / "plate.png"
    plate.write_bytes(qr.make_png(qr.plate_url(base, place["building"]), scale=8))
    photos = [_photo(tmp_path / "a.jpg", (200, 30, 30)), _photo(tmp_path / "b.jpg", (30, 30, 200))]
    with Browser() as page:
        page.open_page()
        page.send("DOM.enable")
        page.send("Browser.grantPermissions", {"permissions": ["geolocation"], "origin": base},
                  session=False)
        page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                         "deviceScaleFactor": 2, "mobile": True})
        _at(page, *route[0])
        page.navigate(f"{base}/field")
        fill_sign_in(page, WORKER, PASSWORD)
        wait_across_navigation(page, "window.fieldReady === true")
        assert page.evaluate("document.getElementById('who').textContent").startswith(WORKER)
        page.wait_for("navigator.serviceWorker.ready.then(() => caches.open('field-shell-v1'))"
                      ".then(c => c.match('/static/field/app.js')).then(Boolean)", timeout=30)

        _offline(page, True)
        page.wait_for("navigator.onLine === false")
        page.evaluate("document.getElementById('patrol-toggle').click(); true")
        page.wait_for("window.fieldApp.patrol() !== null")
        for lon, lat in route:
            _at(page, lon, lat)
            time.sleep(0.3)  # a walk: 2 m per 0.3 s, well under the speed limit
        for i, photo in enumerate(photos):
            _files(page, "#photos", [photo])
            page.evaluate(f"document.getElementById('description').value = 'problem {i + 1}';"
                          "document.getElementById('report-form').requestSubmit(); true")
            page.wait_for(f"window.fieldApp.queued >= {2 + i}")
        _files(page, "#plate-photo", [plate])
        page.wait_for(f"document.getElementById('checkin-status').textContent"
                      f".includes({place['building']!r})", timeout=30)
        page.evaluate("document.getElementById('patrol-toggle').click(); true")
        page.wait_for("window.fieldApp.patrol() === null")
        queued = page.evaluate("window.fieldApp.queued")
        assert queued >= 6  # shift, points, two reports, check-in, stop
        assert _sql(server, "SELECT count(*) FROM patrol_shifts")[0][0] == 0  # nothing sent

        _offline(page, False)
        page.wait_for("window.fieldApp.queued === 0", timeout=60)
        page.evaluate("window.fieldApp.send()")  # once more: nothing is sent twice

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

    with Browser() as page:  # the supervision page: the track on the map, the coverage
        page.open_page()
        page.navigate(f"{base}/static/field/supervise.html?worker={wid}&day={day}")
        fill_sign_in(page, SUPERVISOR, PASSWORD)
        shown = wait_across_navigation(page, "window.superviseShown", timeout=60)
        assert shown == {"points": points[0], "grids": 1}
        assert page.evaluate("document.getElementById('coverage').textContent").startswith(
            place["code"])
