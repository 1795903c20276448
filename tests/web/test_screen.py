"""The leaders' big screen in headless Chromium: a leader signs in and opens ``/screen`` at
1920x1080, sees today's figures as the API counts them and the rankings, a new report
moves "reported today" without a reload, and at 3840x2160 the figures stay legible.
Screenshots go to ``tests/artifacts/``; no request leaves 127.0.0.1; no console error."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import fill_sign_in, make_user, wait_across_navigation
from tests.web.cdp import Browser

LEADER, WORKER = "指挥中心主任", "网格员张伟"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIGURES = ("kpi-reported", "kpi-registered", "kpi-dispatched", "kpi-closed", "kpi-closure",
           "kpi-on-time", "kpi-dispatch", "kpi-overdue")


#: the sample's year of events moved to end an hour ago, so the last 30 days are ranked
SHIFT = """
UPDATE events SET reported_at = reported_at + s.d, registered_at = registered_at + s.d,
  dispatched_at = dispatched_at + s.d, handled_at = handled_at + s.d,
  closed_at = closed_at + s.d, evaluated_at = evaluated_at + s.d, due_at = due_at + s.d
FROM (SELECT now() - interval '1 hour' - max(reported_at) AS d FROM events) s
"""


def _first(url: str, query: str) -> Any:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query))
            return result.first() if result.returns_rows else None
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    with fresh_sample_database(server_url, sample_dir) as url:
        _first(url, SHIFT)
        with live_server(url) as base:
            yield _prepare(url, base)


def _prepare(url: str, base: str) -> dict[str, Any]:
    """A leader and what a report needs: a category and a point in a grid."""
    category = _first(url, "SELECT code FROM event_categories ORDER BY code LIMIT 1")[0]
    point = _first(url, "SELECT ST_X(p), ST_Y(p), code FROM (SELECT ST_PointOnSurface(g.geom) "
                        "AS p, g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
                        "WHERE l.name = 'basic' ORDER BY g.code LIMIT 1) s")
    make_user(url, LEADER, role="admin")
    make_user(url, WORKER, role="grid_worker", grids=[point[2]])
    return {"base": base, "category": category, "point": (float(point[0]), float(point[1]))}


@pytest.fixture(scope="module")
def page(server: dict[str, Any]) -> Iterator[Browser]:
    with Browser() as browser:
        browser.open_page()
        _viewport(browser, 1920, 1080)
        browser.navigate(f"{server['base']}/screen")  # signed out: to the sign-in page and back
        wait_across_navigation(browser, "location.pathname === '/sign-in'")
        fill_sign_in(browser, LEADER, "browser test password")
        wait_across_navigation(browser, "location.pathname === '/screen' && "
                                        "window.gridgovScreenReady === true && "
                                        "window.gridgovScreenLive === true && "
                                        "window.gridgovScreenMapReady === true")
        yield browser


def _viewport(page: Browser, width: int, height: int) -> None:
    page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                     "deviceScaleFactor": 1, "mobile": False})


def _summary(page: Browser) -> dict[str, Any]:
    body: dict[str, Any] = page.evaluate(
        "fetch('/api/v1/screen/summary?top=8').then(r => r.json())")
    return body


def _figure(page: Browser, element: str) -> str:
    return str(page.evaluate(f"document.getElementById({element!r}).textContent"))


def test_the_screen_shows_todays_figures_and_the_rankings(page: Browser) -> None:
    body = _summary(page)
    today = body["today"]
    assert _figure(page, "kpi-reported") == str(today["reported"])
    assert _figure(page, "kpi-closed") == str(today["closed"])
    assert _figure(page, "kpi-dispatched") == str(today["dispatched"])
    assert _figure(page, "kpi-overdue") == str(today["overdue"])
    for level in ("street", "community", "department", "grid_worker"):
        names = page.evaluate(f"[...document.querySelectorAll('#rank-{level} li .name')]"
                              ".map(n => n.textContent)")
        assert names == [r["name"] for r in body["rankings"][level]]
    assert body["rankings"]["street"], "the sample's last 30 days rank its streets"
    assert WORKER in [r["name"] for r in body["rankings"]["grid_worker"]]
    assert "街道考核排名" in page.evaluate("document.body.textContent")
    assert page.evaluate("document.getElementById('map').clientHeight") > 300
    page.screenshot(ARTIFACTS / "screen-1920x1080.png")


def test_reported_today_moves_without_a_reload(page: Browser, server: dict[str, Any]) -> None:
    before = int(_figure(page, "kpi-reported"))
    page.evaluate("window.notReloaded = true")
    lon, lat = server["point"]
    req = urllib.request.Request(f"{server['base']}/api/v1/events", method="POST", data=json.dumps({
        "category": server["category"], "channel": "app", "description": "路灯不亮",
        "location": {"x": lon, "y": lat}}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.loads(resp.read())["status"] in ("registered", "dispatched")
    page.wait_for(f"document.getElementById('kpi-reported').textContent === '{before + 1}'",
                  timeout=20)  # well before the minute's timed refresh
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("window.gridgovScreen.data.events.features.length") == before + 1


def test_the_figures_are_legible_at_4k(page: Browser) -> None:
    _viewport(page, 3840, 2160)
    page.wait_for("window.innerHeight === 2160 && "
                  "window.gridgovScreen.map.getPaintProperty('today', 'circle-radius') === 10")
    for element in FIGURES:
        size = page.evaluate(f"parseFloat(getComputedStyle(document.getElementById({element!r}))"
                             ".fontSize) / window.innerHeight")
        assert size >= 0.015, (element, size)
    label = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.panel li'))"
                          ".fontSize)")
    assert label >= 0.01 * 2160  # ranking rows are read from across the room too
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth && "
                         "document.documentElement.scrollHeight <= window.innerHeight")
    page.screenshot(ARTIFACTS / "screen-3840x2160.png")


def test_nothing_left_the_machine_and_no_console_error(page: Browser) -> None:
    urls = page.requested_urls()
    assert any("/api/v1/workbench/live" in u for u in urls)
    outside = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []
    # signed out at first, the sign-in page asks /api/v1/auth/me and 401 is the answer
    errors = [m for m in page.console_messages() if m.startswith(("error", "exception"))
              and not m.endswith("/api/v1/auth/me")]
    assert errors == []
