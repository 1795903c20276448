"""The one-map in headless Chromium, signed in: it renders our tiles, clicks open popups,
live events arrive, and no request leaves 127.0.0.1."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import make_user, sign_in
from tests.web.cdp import Browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# A screen point above exactly one building and no event or camera: sampled on a lattice.
FIND_BUILDING_POINT = """
(() => {
  const map = window.gridgovMap;
  const canvas = map.getCanvas().getBoundingClientRect();
  const top = ['events', 'cameras', 'live-events'].filter((id) => map.getLayer(id));
  for (let y = 40; y < canvas.height - 40; y += 12) {
    for (let x = 40; x < canvas.width - 40; x += 12) {
      const hits = map.queryRenderedFeatures([x, y], { layers: ['buildings'] });
      if (hits.length !== 1) continue;
      const near = [[x - 8, y - 8], [x + 8, y + 8]];
      if (map.queryRenderedFeatures(near, { layers: top }).length) continue;
      return { x: x + canvas.left, y: y + canvas.top, code: hits[0].properties.code };
    }
  }
  return null;
})()
"""


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[tuple[str, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        make_user(url, "root-map")
        yield base, url


@pytest.fixture(scope="module")
def page(server: tuple[str, str]) -> Iterator[Browser]:
    """The one-map of a signed-in admin (the dashboard and live events need sign-in)."""
    base, _ = server
    with Browser() as browser:
        browser.open_page()
        sign_in(browser, base, "root-map")
        browser.wait_for("window.gridgovMap.loaded() && window.gridgovMap.areTilesLoaded()",
                         timeout=60)
        yield browser


def _rendered(page: Browser, layer: str) -> int:
    return int(page.evaluate(
        f"window.gridgovMap.queryRenderedFeatures({{layers: ['{layer}']}}).length"))


def test_map_renders_buildings_and_grids_from_our_tiles(page: Browser) -> None:
    assert page.evaluate("!!window.gridgovMap.painter && "
                         "!!window.gridgovMap.getCanvas().getContext('webgl2')")
    assert _rendered(page, "buildings") > 50
    assert _rendered(page, "grids-basic") > 0
    codes = page.evaluate("[...new Set(window.gridgovMap.queryRenderedFeatures("
                          "{layers: ['grids-basic-hit']}).map(f => f.properties.code))]")
    assert codes and all(len(c) == 15 for c in codes)
    switcher = page.evaluate("[...document.querySelectorAll('#layer-list input[data-layer]')]"
                             ".map(i => i.dataset.layer)")
    assert {"buildings", "roads", "events", "grids-basic"} <= set(switcher)
    assert "建筑物" in page.evaluate("document.getElementById('legend').textContent")


def _click_found(page: Browser, zoom: int, finder: str) -> dict[str, Any]:
    """Zoom in, wait for the tiles, click the screen point ``finder`` finds; that point."""
    page.evaluate(f"window.gridgovMap.zoomTo({zoom}, {{duration: 0}}); true")
    page.wait_for("window.gridgovMap.loaded() && window.gridgovMap.areTilesLoaded()")
    target: dict[str, Any] = page.wait_for(finder, timeout=20)
    page.click(target["x"], target["y"])
    return target


def test_clicking_a_building_opens_its_popup(page: Browser) -> None:
    target = _click_found(page, 17, FIND_BUILDING_POINT)
    shown = page.wait_for("(document.querySelector('.maplibregl-popup .popup.building .code')"
                          " || {}).textContent", timeout=20)
    assert shown == target["code"]
    body = page.evaluate("document.querySelector('.maplibregl-popup').textContent")
    assert "未办结事件" in body  # the building's open events, in Chinese by default
    page.screenshot(ARTIFACTS / "onemap.png")


def test_dashboard_and_english_switch(page: Browser) -> None:
    total = page.wait_for("document.getElementById('kpi-total') && "
                          "document.getElementById('kpi-total').textContent")
    assert int(total) > 0
    assert "态势看板" in page.evaluate("document.getElementById('dashboard').textContent")
    page.evaluate("document.getElementById('lang-switch').click()")
    assert "Dashboard" in page.evaluate("document.getElementById('dashboard').textContent")
    assert page.evaluate("document.querySelector('h1').textContent") == \
        "Grid governance one-map"
    page.evaluate("document.getElementById('lang-switch').click()")
    assert page.evaluate("document.querySelector('h1').textContent") == "网格化治理一张图"


def test_search_by_grid_code_highlights_the_grid(page: Browser, server: tuple[str, str]
                                                 ) -> None:
    _, url = server
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            code = conn.execute(text(
                "SELECT g.code FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
                "WHERE l.name = 'basic' ORDER BY g.code DESC LIMIT 1")).scalar_one()
    finally:
        engine.dispose()
    page.evaluate(f"document.getElementById('search-input').value = '{code}';"
                  "document.querySelector('#search button').click()")
    shown = page.wait_for("(document.querySelector('.maplibregl-popup .popup.grid h3') || {})"
                          ".textContent", timeout=20)
    assert code in shown
    kpis = page.evaluate("document.querySelector('.maplibregl-popup .popup.grid').textContent")
    assert "办结率" in kpis  # the grid's KPIs are shown, not 'unavailable'


FIND_EVENT_POINT = """
(() => {
  const map = window.gridgovMap;
  const canvas = map.getCanvas().getBoundingClientRect();
  for (let y = 40; y < canvas.height - 40; y += 4) {
    for (let x = 40; x < canvas.width - 40; x += 4) {
      const hits = map.queryRenderedFeatures([x, y], { layers: ['events'] });
      if (hits.length === 1) return { x: x + canvas.left, y: y + canvas.top, id: hits[0].id };
    }
  }
  return null;
})()
"""


def test_events_default_to_open_ones_of_the_last_30_days_and_the_window_changes(
        page: Browser) -> None:
    tiles = page.evaluate("window.gridgovMap.getSource('events').tiles[0]")
    assert "open=true" in tiles
    assert "datetime=" in tiles
    legend = page.evaluate("document.getElementById('legend').textContent")
    for status in ("已登记", "已退回", "重复", "已撤销", "不予受理", "已核查"):
        assert status in legend
    # the sample's year ends on 2026-11-01: show every event of all time
    page.evaluate("(() => { const s = document.getElementById('event-window'); s.value = '0';"
                  "s.dispatchEvent(new Event('change')); return true; })()")
    page.evaluate("document.getElementById('event-open').click(); true")
    tiles = page.evaluate("window.gridgovMap.getSource('events').tiles[0]")
    assert "open=" not in tiles
    assert "datetime=" not in tiles


def test_clicking_an_event_shows_its_history(page: Browser) -> None:
    page.evaluate("document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove());"
                  "(() => { const s = document.getElementById('event-window'); s.value = '0';"
                  "s.dispatchEvent(new Event('change'));"
                  "const o = document.getElementById('event-open');"
                  "if (o.checked) o.click(); return true; })();"
                  "window.gridgovMap.zoomTo(15, {duration: 0}); true")
    page.wait_for("window.gridgovMap.loaded() && window.gridgovMap.areTilesLoaded()")
    target = page.wait_for(FIND_EVENT_POINT, timeout=20)
    page.click(target["x"], target["y"])
    title = page.wait_for("(document.querySelector('.maplibregl-popup .popup.event h3') || {})"
                          ".textContent", timeout=20)
    assert title.endswith(f"#{target['id']}")
    steps = page.wait_for("document.querySelectorAll('.maplibregl-popup .popup.event "
                          ".history li').length", timeout=20)
    assert steps >= 1  # at least the 'register' step of its lifecycle


def test_a_new_event_appears_within_five_seconds(page: Browser,
                                                 server: tuple[str, str]) -> None:
    _, url = server
    page.wait_for("document.getElementById('live-status').classList.contains('on')")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            lon, lat = conn.execute(text(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM buildings ORDER BY id LIMIT 1")).one()
            new_id = conn.execute(text(
                "INSERT INTO events (public_token, category_id, status, channel, geom) "
                "SELECT :tok, id, 'registered', 'app', ST_SetSRID(ST_MakePoint(:lon, :lat), "
                "4326) FROM event_categories ORDER BY id LIMIT 1 RETURNING id"),
                {"tok": uuid.uuid4().hex, "lon": lon, "lat": lat}).scalar_one()
        committed = time.monotonic()
        page.wait_for(
            f"window.gridgovState.live.some(f => f.properties.id === {new_id})",
            timeout=5, interval=0.1)
        assert time.monotonic() - committed < 5
        toasts = page.evaluate("document.getElementById('toasts').textContent")
        assert f"#{new_id}" in toasts
    finally:
        engine.dispose()


# A screen point on the population layer and on nothing clicked before it (events,
# cameras, buildings).
FIND_POPULATION_POINT = """
(() => {
  const map = window.gridgovMap;
  const canvas = map.getCanvas().getBoundingClientRect();
  const above = ['events', 'cameras', 'live-events', 'buildings'].filter((id) => map.getLayer(id));
  for (let y = 40; y < canvas.height - 40; y += 10) {
    for (let x = 40; x < canvas.width - 40; x += 10) {
      const hits = map.queryRenderedFeatures([x, y], { layers: ['population'] });
      if (hits.length !== 1) continue;
      if (map.queryRenderedFeatures([[x - 6, y - 6], [x + 6, y + 6]], { layers: above }).length) {
        continue;
      }
      return { x: x + canvas.left, y: y + canvas.top, code: hits[0].properties.code };
    }
  }
  return null;
})()
"""


def test_the_population_layer_shows_a_grids_counts_in_a_popup(page: Browser) -> None:
    page.evaluate("document.querySelector('input[data-layer=\"population\"]').click()")
    target = _click_found(page, 15, FIND_POPULATION_POINT)
    body = page.wait_for("(document.querySelector('.maplibregl-popup .popup-population') "
                         "|| {}).textContent", timeout=20)
    assert target["code"] in body
    assert "居民0" in body.replace(" ", "")  # the test sample has no residents
    page.evaluate("document.querySelector('input[data-layer=\"population\"]').click()")


def test_the_hot_spot_layer_says_when_it_was_computed_or_why_it_is_empty(
        page: Browser, server: tuple[str, str]) -> None:
    base, _ = server
    note = "document.querySelector('[data-analysis=\"hotspots\"]').textContent"
    assert page.wait_for(note) == "尚未计算：定时任务每 6 小时计算一次"  # the default schedule
    # an analyst computes them (what the schedule does), and the map reloaded says so
    found = page.evaluate("fetch('/api/v1/analytics/hotspots?cell=h3:10')"
                          ".then(r => r.json()).then(b => b.classes)")
    significant = sum(n for k, n in found.items() if k != "0")
    page.navigate(f"{base}/")
    page.wait_for("window.gridgovMap && window.gridgovMap.loaded()", timeout=60)
    text = page.wait_for(f"{note}.includes('计算：') && {note}", timeout=30)
    assert significant > 0
    assert text.endswith(f"计算：{significant} 个显著单元"), text
    assert not page.evaluate("document.querySelector('[data-analysis=\"blind-spots\"]')"
                             ".textContent").startswith("computed")  # Chinese by default


def test_no_request_left_the_machine(page: Browser, server: tuple[str, str]) -> None:
    base, _ = server
    urls = page.requested_urls()
    assert any(u.startswith(f"{base}/vendor/maplibre-gl/") for u in urls)
    assert any("/tiles/buildings/" in u for u in urls)
    outside = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []
    # optional endpoints answer 404 by design (a building without a QR plate...), and the
    # page hides what they would show; anything else logged as an error is a bug
    errors = [m for m in page.console_messages() if m.startswith(("error", "exception"))
              and "status of 404" not in m]
    assert errors == []
