"""The maps of issue 16 in headless Chromium: the field app's map of my tasks and my position
(also offline, from the service worker), and the one-map's patrol tracks panel of a
supervisor -- the day's track line, its check-ins, the replay, the coverage -- which other
roles neither see nor may read. No request leaves 127.0.0.1, no console error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.service import create_user
from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.api.field_support import grid_with_roads, walk
from tests.web.accounts import PASSWORD, fill_sign_in, make_user, wait_across_navigation
from tests.web.cdp import Browser

WORKER = "worker-map"
SUPERVISOR = "supervisor-map"
ANALYST = "analyst-map"
ELSEWHERE = "supervisor-elsewhere"


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    """A live server with a grid worker's tasks, their walk of today and one check-in."""
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        engine = make_engine(url, pool_size=1)
        with Session(engine) as session:
            place = grid_with_roads(session)
            _, token = create_user(session, name=WORKER, role="grid_worker",
                                   grids=[place["code"]], password=PASSWORD)
            other = session.execute(text(
                "SELECT min(code) FROM admin_areas WHERE level = 'community' AND code <> :c"),
                {"c": place["community_code"]}).scalar_one()
            session.execute(text("""
                UPDATE events SET status = CASE WHEN id % 2 = 0 THEN 'in_progress'
                                                ELSE 'handled' END
                WHERE id IN (SELECT id FROM events WHERE grids ->> 'basic' = :g
                             ORDER BY id LIMIT 4)"""), {"g": place["code"]})
            session.commit()
        make_user(url, SUPERVISOR, role="dispatcher", areas=[place["community_code"]])
        make_user(url, ELSEWHERE, role="dispatcher", areas=[other])
        make_user(url, ANALYST, role="analyst")
        walked = _patrol(base, token, place)
        yield {"base": base, "engine": engine, "place": place, **walked}
        engine.dispose()


def _patrol(base: str, token: str, place: dict[str, Any]) -> dict[str, Any]:
    """The worker's shift of an hour ago along the grid's road, and a check-in on the way."""
    worker = {"Authorization": f"Bearer {token}"}
    start = datetime.now(UTC) - timedelta(hours=1)
    shift = str(uuid.uuid4())
    resp = httpx.post(f"{base}/api/v1/field/shifts", headers=worker,
                      json={"id": shift, "started_at": start.isoformat()})
    assert resp.status_code == 201, resp.text
    points = walk(place["road"], start, metres=200.0)
    resp = httpx.post(f"{base}/api/v1/field/shifts/{shift}/points", headers=worker,
                      json={"points": points})
    assert resp.status_code == 200, resp.text
    checkin = httpx.post(f"{base}/api/v1/field/checkins",
                         headers={**worker, "Idempotency-Key": "map-1"},
                         json={"payload": place["building"], "lon": place["blon"],
                               "lat": place["blat"], "at": points[5]["t"]})
    assert checkin.status_code == 201, checkin.text
    day = start.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    return {"points": points, "day": day, "token": token}


def _flat(coords: list[list[float]]) -> list[float]:
    return [v for pair in coords for v in pair]


def _sql(server: dict[str, Any], query: str, **params: Any) -> list[Any]:
    with server["engine"].connect() as conn:
        return list(conn.execute(text(query), params).all())


def _worker_id(server: dict[str, Any]) -> int:
    return int(_sql(server, "SELECT id FROM users WHERE name = :n", n=WORKER)[0][0])


def _offline(page: Browser, offline: bool, session: str | None = None) -> None:
    conditions = {"offline": offline, "latency": 0, "downloadThroughput": -1,
                  "uploadThroughput": -1}
    own = page.session_id
    page.session_id = session or own
    try:
        page.send("Network.enable")
        page.send("Network.emulateNetworkConditions", conditions)
    finally:
        page.session_id = own


def _service_worker_session(page: Browser) -> str:
    """A DevTools session on the field app's service worker (its fetches go offline too)."""
    targets = page.send("Target.getTargets", session=False)["targetInfos"]
    (worker,) = [t for t in targets if t["type"] == "service_worker"
                 and t["url"].endswith("/static/field/sw.js")]
    attached = page.send("Target.attachToTarget", {"targetId": worker["targetId"],
                                                   "flatten": True}, session=False)
    return str(attached["sessionId"])


def _assert_local_and_quiet(page: Browser, base: str, refused: tuple[str, ...] = ()) -> None:
    """Nothing asked of another host; no console error but the refusals expected.

    Signed out at first, the sign-in page asks /api/v1/auth/me and 401 is the answer;
    ``refused`` are the other URLs the test asked for expecting a 4xx.
    """
    host = urlparse(base).netloc
    outside = [u for u in page.requested_urls()
               if not u.startswith(("data:", "blob:")) and urlparse(u).netloc != host]
    assert outside == []
    expected = ("/api/v1/auth/me", *refused)
    errors = [m for m in page.console_messages() if m.startswith(("error", "exception"))
              and not m.endswith(expected)]
    assert errors == []


MAP = "window.fieldApp.map()"
RENDERED_TASKS = (f"{MAP}.then(m => [...new Set(m.map.queryRenderedFeatures("
                  "{layers: ['tasks']}).map(f => f.properties.key))].sort())")


def test_the_field_map_shows_my_tasks_and_me_and_starts_offline(server: dict[str, Any]) -> None:
    base, place = server["base"], server["place"]
    with Browser() as page:
        page.open_page()
        page.send("Browser.grantPermissions", {"permissions": ["geolocation"], "origin": base},
                  session=False)
        page.send("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                         "deviceScaleFactor": 2, "mobile": True})
        page.send("Emulation.setGeolocationOverride", {"latitude": place["blat"],
                                                       "longitude": place["blon"],
                                                       "accuracy": 5})
        page.navigate(f"{base}/field")
        fill_sign_in(page, WORKER, PASSWORD)
        wait_across_navigation(page, "window.fieldReady === true")
        tasks = page.evaluate("fetch('/api/v1/field/tasks').then(r => r.json())")["tasks"]
        placed = sorted(f"{t['kind']}-{t['id']}" for t in tasks if t["lon"] is not None)
        in_grid = _sql(server, "SELECT count(*) FROM events WHERE grids ->> 'basic' = :g "
                               "AND status IN ('in_progress', 'handled')", g=place["code"])
        assert len(placed) == in_grid[0][0] >= 4  # the cases of the worker's grid
        page.wait_for(f"{MAP}.then(m => m.map.loaded() && m.map.areTilesLoaded())", timeout=60)
        assert page.wait_for(f"{RENDERED_TASKS}.then(k => k.length === {len(placed)} && k)",
                             timeout=30) == placed
        me = page.wait_for(f"{MAP}.then(m => m.meMarker.getElement().isConnected && "
                           "m.meMarker.getLngLat().toArray())")
        assert me == pytest.approx([place["blon"], place["blat"]], abs=1e-5)
        assert page.evaluate(MAP + ".then(m => { const p = m.map.project(m.meMarker.getLngLat());"
                             " const c = m.map.getCanvas(); return p.x >= 0 && p.y >= 0 && "
                             "p.x <= c.clientWidth && p.y <= c.clientHeight; })")  # in view
        distances = page.evaluate("[...document.querySelectorAll('#tasks-list li')]"
                                  ".map(li => li.textContent.match(/ (\\d+) m/)[1] * 1)")
        assert distances == sorted(distances) and len(distances) == len(placed)

        # a tap on a marker picks its task in the list
        target = page.evaluate(f"""{MAP}.then(m => {{
            const f = m.map.queryRenderedFeatures({{layers: ['tasks']}})[0];
            const p = m.map.project(f.geometry.coordinates);
            const box = m.map.getCanvas().getBoundingClientRect();
            const under = m.map.queryRenderedFeatures([p.x, p.y], {{layers: ['tasks']}});
            return {{x: p.x + box.left, y: p.y + box.top,
                     keys: under.map(g => g.properties.key)}};
        }})""")
        page.click(target["x"], target["y"])
        picked = page.wait_for("(document.querySelector('#tasks-list li.picked') || {})"
                               ".dataset?.key")
        assert picked == target["keys"][0]
        _assert_local_and_quiet(page, base)

        # offline: the app and its map start from the service worker's cache
        page.wait_for("navigator.serviceWorker.ready.then(() => caches.open('field-shell-v1'))"
                      ".then(c => c.match('/vendor/maplibre-gl/maplibre-gl-worker.mjs'))"
                      ".then(Boolean)", timeout=30)
        _offline(page, True, _service_worker_session(page))
        _offline(page, True)
        page.navigate(f"{base}/static/field/index.html")
        wait_across_navigation(page, "window.fieldReady === true && navigator.onLine === false")
        page.wait_for(f"{MAP}.then(m => m.map.loaded())", timeout=60)
        assert page.wait_for(f"{RENDERED_TASKS}.then(k => k.length === {len(placed)} && k)",
                             timeout=30) == placed  # the last list, kept on the phone
        served = {e["params"]["response"]["url"].split("?")[0]
                  for e in page.events if e.get("method") == "Network.responseReceived"
                  and e["params"]["response"].get("fromServiceWorker")}
        assert {f"{base}/static/field/map.js", f"{base}/vendor/maplibre-gl/maplibre-gl.mjs",
                f"{base}/vendor/maplibre-gl/maplibre-gl-worker.mjs"} <= served


def _signed_in_map(page: Browser, base: str, name: str) -> None:
    """The one-map of ``name`` (a dispatcher would land on the queue without ``next``)."""
    page.open_page()
    page.navigate(f"{base}/sign-in?next=/")
    fill_sign_in(page, name, PASSWORD)
    wait_across_navigation(page, "window.gridgovReady === true && (document.getElementById("
                                 f"'user-name') || {{}}).textContent === {name!r}")
    page.wait_for("window.gridgovMap.loaded()", timeout=60)


PANEL = "window.gridgovState.patrol"


def test_a_supervisor_replays_a_workers_day_on_the_one_map(server: dict[str, Any]) -> None:
    base, place, day = server["base"], server["place"], server["day"]
    wid = _worker_id(server)
    with Browser() as page:
        _signed_in_map(page, base, SUPERVISOR)
        page.wait_for("!document.getElementById('patrol-panel').hidden")
        assert page.evaluate("document.getElementById('patrol-worker').options.length") == 0
        page.evaluate(f"const d = document.getElementById('patrol-day'); d.value = '{day}';"
                      "document.getElementById('patrol-panel').open = true; true")
        page.wait_for(f"[...document.getElementById('patrol-worker').options]"
                      f".some(o => o.value === '{wid}')")
        page.evaluate(f"document.getElementById('patrol-worker').value = '{wid}';"
                      "document.getElementById('patrol-show').click(); true")
        shown = page.wait_for(f"{PANEL}.shown && {{points: {PANEL}.shown.track.points, "
                              f"checkins: {PANEL}.shown.checkins, grids: {PANEL}.shown.grids}}",
                              timeout=60)
        posted = [[p["lon"], p["lat"]] for p in server["points"]]
        assert shown == {"points": len(posted), "checkins": 1, "grids": 1}

        # the line holds the posted positions, in the order walked, and is drawn
        line = page.evaluate("window.gridgovMap.getSource('patrol-track').getData()"
                             ".then(d => d.features.flatMap(f => f.geometry.coordinates))")
        assert _flat(line) == pytest.approx(_flat(posted), abs=1e-6)
        page.wait_for("window.gridgovMap.queryRenderedFeatures("
                      "{layers: ['patrol-track']}).length > 0")
        spot = page.wait_for("window.gridgovMap.queryRenderedFeatures({layers: "
                             "['patrol-checkins']}).map(f => f.properties.building_code)"
                             ".filter(Boolean)[0] && window.gridgovMap.queryRenderedFeatures("
                             "{layers: ['patrol-checkins']}).map(f => f.properties.building_code)")
        assert spot == [place["building"]]
        rows = page.evaluate("[...document.querySelectorAll('#patrol-coverage tr')]"
                             ".map(tr => tr.firstChild.textContent)")
        assert rows == [place["code"]]
        assert page.evaluate("window.gridgovMap.getFilter('patrol-coverage')")[2] == \
            ["literal", [place["code"]]]

        # the replay moves the marker along the track in time order
        marker = ("window.gridgovMap.getSource('patrol-replay').getData()"
                  ".then(d => d.features[0].geometry.coordinates)")
        assert page.evaluate(marker) == pytest.approx(posted[0], abs=1e-6)
        page.evaluate("document.getElementById('patrol-play').click(); true")
        page.wait_for("document.getElementById('patrol-slider').value * 1 >= 3")
        page.evaluate("document.getElementById('patrol-play').click(); true")  # pause
        at = int(page.evaluate("document.getElementById('patrol-slider').value"))
        assert page.evaluate(marker) == pytest.approx(posted[at], abs=1e-6)
        page.evaluate(f"const s = document.getElementById('patrol-slider'); s.value = "
                      f"'{len(posted) - 1}'; s.dispatchEvent(new Event('input')); true")
        assert page.evaluate(marker) == pytest.approx(posted[-1], abs=1e-6)
        assert page.evaluate("document.getElementById('patrol-time').textContent") == \
            datetime.fromisoformat(server["points"][-1]["t"]).astimezone().strftime("%H:%M:%S")

        page.evaluate("document.getElementById('lang-switch').click(); true")
        assert page.evaluate("document.getElementById('patrol-summary').textContent") \
            .startswith(f"{len(posted)} track points")
        page.evaluate("document.getElementById('lang-switch').click(); true")
        _assert_local_and_quiet(page, base)

    audited = {r[0] for r in _sql(server, "SELECT unnest(fields) "
                                          "FROM audit_log WHERE action = 'track.read' "
                                          "AND actor = :a AND object_id = :w",
                                  a=SUPERVISOR, w=str(wid))}
    assert {"track", "checkins", "coverage"} <= audited


def test_other_roles_see_no_panel_and_may_not_read_tracks(server: dict[str, Any]) -> None:
    base, day = server["base"], server["day"]
    wid = _worker_id(server)
    with Browser() as page:
        _signed_in_map(page, base, ANALYST)
        assert page.evaluate(f"{PANEL} === null && "
                             "document.getElementById('patrol-panel').hidden")
        paths = (f"/api/v1/field/tracks/{wid}?day={day}",
                 f"/api/v1/field/checkins/{wid}?day={day}")
        for path in paths:
            answer = page.evaluate(f"fetch('{path}').then(async r => "
                                   "[r.status, (await r.json()).code])")
            assert answer == [403, "forbidden"]
        _assert_local_and_quiet(page, base, paths)


def test_a_supervisor_of_another_community_sees_none_of_the_checkins(
        server: dict[str, Any]) -> None:
    base, day = server["base"], server["day"]
    with httpx.Client(base_url=base) as client:
        signed = client.post("/api/v1/auth/login", json={"name": ELSEWHERE,
                                                         "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        got = client.get(f"/api/v1/field/checkins/{_worker_id(server)}", params={"day": day})
        assert got.status_code == 200
        assert got.json()["features"] == []
        bad = client.get(f"/api/v1/field/checkins/{_worker_id(server)}",
                         params={"day": "yesterday"})
        assert bad.status_code == 422
