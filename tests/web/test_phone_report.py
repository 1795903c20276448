"""The residents' phone report page in headless Chromium emulating a 390x844 phone.

A resident takes photos, lets the page use the phone's position, finds a category by
typing part of its Chinese name and sends the report: it is stored with that category,
at that position, with its photos and channel, and the tracking link opens. With the
position refused the page says so, the API's refusal is shown in words, and a building
code on the plate still sends it; a plate page reports at its building. At 390 px the
one-map (with a collapsible layer panel), the tracking page, the desk pages and the
report pages have no horizontal scroll. No request leaves 127.0.0.1, no console error.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import make_user, sign_in
from tests.web.cdp import Browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ADMIN = "移动端测试管理员"
KEYS = {"ArrowDown": 40, "Enter": 13}


def _sql(url: str, query: str, **params: Any) -> list[Any]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            return list(conn.execute(text(query), params).all())
    finally:
        engine.dispose()


def _unique_part(names: list[tuple[str, str]]) -> tuple[str, str]:
    """A category code and two characters of its Chinese name that no other name holds."""
    for code, name in names:
        for i in range(len(name) - 1):
            part = name[i:i + 2]
            if sum(part in other for _, other in names) == 1:
                return code, part
    raise AssertionError("no category has a name part of its own")


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        lon, lat = _sql(url, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) "
                             "AS p FROM grids g JOIN grid_layers l ON l.id = g.layer_id "
                             "WHERE l.name = 'basic' ORDER BY g.code LIMIT 1) s")[0]
        names = [(r[0], r[1]) for r in _sql(url, "SELECT code, name FROM event_categories "
                                                 "ORDER BY code")]
        buildings = [r[0] for r in _sql(url, "SELECT code FROM buildings ORDER BY code "
                                             "LIMIT 2")]
        make_user(url, ADMIN, role="admin")
        yield {"base": base, "url": url, "point": (float(lon), float(lat)),
               "category": _unique_part(names), "names": names, "buildings": buildings}


def _phone(browser: Browser) -> None:
    browser.send("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    browser.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})


@pytest.fixture(scope="module")
def page() -> Iterator[Browser]:
    with Browser() as browser:
        browser.open_page()
        _phone(browser)
        yield browser


def _geolocation(page: Browser, base: str, allowed: bool, point: tuple[float, float]) -> None:
    page.send("Browser.setPermission", {"permission": {"name": "geolocation"},
                                        "setting": "granted" if allowed else "denied",
                                        "origin": base}, session=False)
    page.send("Emulation.setGeolocationOverride", {"longitude": point[0], "latitude": point[1],
                                                   "accuracy": 8})


def _open(page: Browser, url: str) -> None:
    page.navigate(url)
    page.wait_for(f"location.href === {url!r} && window.gridgovReportReady === true")


def _tap(page: Browser, selector: str) -> None:
    """A touch tap at the middle of the element (scrolled into view first)."""
    box = page.evaluate(f"(() => {{ const el = document.querySelector({selector!r});"
                        "el.scrollIntoView({block: 'center'});"
                        "const r = el.getBoundingClientRect();"
                        "return [r.left + r.width / 2, r.top + r.height / 2]; })()")
    point = [{"x": box[0], "y": box[1]}]
    page.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": point})
    page.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _press(page: Browser, key: str) -> None:
    for kind in ("rawKeyDown", "keyUp"):
        page.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                             "windowsVirtualKeyCode": KEYS[key]})


def _attach(page: Browser, paths: list[Path]) -> None:
    found = page.send("Runtime.evaluate", {"expression": "document.getElementById('photos')"})
    page.send("DOM.setFileInputFiles", {"files": [str(p) for p in paths],
                                        "objectId": found["result"]["objectId"]})


def _jpeg(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (320, 240), colour).save(path, format="JPEG")
    return path


def _type_category(page: Browser, part: str) -> None:
    _tap(page, "#category-search")
    page.send("Input.insertText", {"text": part})
    page.wait_for("!document.getElementById('category-list').hidden")


def _events(url: str) -> int:
    return int(_sql(url, "SELECT count(*) FROM events")[0][0])


def _result(page: Browser) -> str:
    return str(page.wait_for("document.getElementById('result').className !== '' && "
                             "!document.getElementById('submit').disabled && "
                             "document.getElementById('result').textContent"))


def _no_console_error(page: Browser, base: str, refusals: bool = False) -> None:
    """No error in the console but the browser's notes of answers the test expects.

    Expected: the reports the test had refused (422), and the one-map asking who is
    signed in before the sign-in (401 from ``/api/v1/auth/me``).
    """
    expected = [f"status of 401 (Unauthorized) {base}/api/v1/auth/me"]
    if refusals:
        expected.append(f"status of 422 (Unprocessable Entity) {base}/api/v1/events")
    bad = [m for m in page.console_messages() if m.startswith(("error", "exception"))
           and not any(m.endswith(note) for note in expected)]
    assert not bad


def test_a_resident_reports_with_photos_position_and_a_searched_category(
        page: Browser, server: dict[str, Any], tmp_path: Path) -> None:
    base, url, point = server["base"], server["url"], server["point"]
    code, part = server["category"]
    _geolocation(page, base, True, point)
    _open(page, f"{base}/report")
    page.wait_for("document.getElementById('position').textContent.includes('已定位')")
    photos = [_jpeg(tmp_path / "a.jpg", (200, 40, 40)), _jpeg(tmp_path / "b.jpg", (40, 40, 200)),
              _jpeg(tmp_path / "c.jpg", (40, 200, 40))]
    _attach(page, photos)
    page.wait_for("document.querySelectorAll('#thumbs img').length === 3 && "
                  "[...document.querySelectorAll('#thumbs img')].every(i => i.naturalWidth > 0)")
    _tap(page, "#thumbs li:nth-child(3) button.remove")  # the third one was a mistake
    page.wait_for("document.querySelectorAll('#thumbs img').length === 2")
    _type_category(page, part)
    options = page.evaluate("[...document.querySelectorAll('#category-list li[data-code]')]"
                            ".map(li => li.dataset.code)")
    assert options == [code]
    _press(page, "ArrowDown")
    _press(page, "Enter")
    assert page.evaluate("document.getElementById('category').value") == code
    assert page.evaluate("document.getElementById('category-list').hidden") is True
    page.evaluate("document.getElementById('description').value = '人行道井盖松动，有响声';"
                  "document.getElementById('phone').value = '13800138000'; true")
    heights = page.evaluate("[...document.querySelectorAll('button, .photo-button')].filter(b => "
                            "b.offsetParent).map(b => b.getBoundingClientRect().height)")
    assert heights and min(heights) >= 40
    page.screenshot(ARTIFACTS / "phone-report-filled.png")
    _tap(page, "#submit")
    assert "已受理" in _result(page)
    href = page.evaluate("document.getElementById('track-link').getAttribute('href')")
    token = href.removeprefix("/t/")
    row = _sql(url, "SELECT c.code, e.channel, e.description, ST_Distance(e.geom::geography, "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography), "
                    "(SELECT count(*) FROM event_photos p WHERE p.event_id = e.id), "
                    "(SELECT array_agg(p.path) FROM event_photos p WHERE p.event_id = e.id) "
                    "FROM events e JOIN event_categories c ON c.id = e.category_id "
                    "WHERE e.public_token = :t", x=point[0], y=point[1], t=token)[0]
    assert row[:3] == (code, "app", "人行道井盖松动，有响声")
    assert row[3] < 1.0  # metres
    assert row[4] == 2
    sizes = sorted(Path(p).stat().st_size for p in row[5])
    assert sizes == sorted(p.stat().st_size for p in photos[:2])
    page.screenshot(ARTIFACTS / "phone-report-received.png")
    _tap(page, "#track-link")
    page.wait_for(f"location.pathname === {href!r} && window.gridgovTrackReady === true")
    assert "人行道井盖松动" in page.evaluate("document.body.innerText")
    _no_console_error(page, base)


def test_refused_position_is_said_and_a_plate_code_still_reports(
        page: Browser, server: dict[str, Any]) -> None:
    base, url = server["base"], server["url"]
    code, part = server["category"]
    _geolocation(page, base, False, server["point"])
    _open(page, f"{base}/report")
    shown = page.wait_for("document.getElementById('position').classList.contains('warn') && "
                          "document.getElementById('position').textContent")
    assert "未获准使用位置" in shown and "楼栋编码" in shown
    _type_category(page, part)
    _tap(page, f"#category-list li[data-code='{code}']")
    assert page.evaluate("document.getElementById('category').value") == code
    before = _events(url)
    _tap(page, "#submit")
    refused = _result(page)
    assert "需要位置" in refused and page.evaluate("document.getElementById('result')"
                                                 ".className") == "error"
    assert _events(url) == before
    page.screenshot(ARTIFACTS / "phone-report-refused.png")
    building = server["buildings"][0]
    page.evaluate(f"document.getElementById('building-code').value = {building!r}; true")
    _tap(page, "#submit")
    assert "已受理" in _result(page)
    token = page.evaluate("document.getElementById('track-link').getAttribute('href')")[3:]
    row = _sql(url, "SELECT b.code, e.channel FROM events e JOIN buildings b ON "
                    "b.id = e.building_id WHERE e.public_token = :t", t=token)
    assert row == [(building, "app")]
    _no_console_error(page, base, refusals=True)


def test_an_api_refusal_is_shown_in_english_too(page: Browser, server: dict[str, Any]) -> None:
    base = server["base"]
    code, part = server["category"]
    _open(page, f"{base}/report")
    _tap(page, "#lang-switch")
    page.wait_for("document.getElementById('submit').textContent === 'Submit'")
    english = _sql(server["url"], "SELECT name_en FROM event_categories WHERE code = :c",
                   c=code)[0][0]
    _type_category(page, english.lower())
    _tap(page, f"#category-list li[data-code='{code}']")
    page.evaluate("document.getElementById('building-code').value = 'NO-SUCH-BUILDING'; true")
    _tap(page, "#submit")
    assert "No building has this code" in _result(page)
    _tap(page, "#lang-switch")
    page.wait_for("document.getElementById('submit').textContent === '提交'")
    _no_console_error(page, base, refusals=True)


def test_a_plate_page_reports_at_its_building_with_the_same_form(
        page: Browser, server: dict[str, Any], tmp_path: Path) -> None:
    base, url = server["base"], server["url"]
    code, part = server["category"]
    building = server["buildings"][1]
    _open(page, f"{base}/b/{building}")
    assert building in page.evaluate("document.getElementById('position').textContent")
    _attach(page, [_jpeg(tmp_path / "plate.jpg", (90, 90, 90))])
    page.wait_for("document.querySelectorAll('#thumbs img').length === 1")
    _type_category(page, part)
    _tap(page, f"#category-list li[data-code='{code}']")
    _tap(page, "#submit")
    assert "已受理" in _result(page)
    token = page.evaluate("document.getElementById('track-link').getAttribute('href')")[3:]
    row = _sql(url, "SELECT b.code, e.channel, c.code, (SELECT count(*) FROM event_photos p "
                    "WHERE p.event_id = e.id) FROM events e JOIN buildings b ON "
                    "b.id = e.building_id JOIN event_categories c ON c.id = e.category_id "
                    "WHERE e.public_token = :t", t=token)
    assert row == [(building, "qr", code, 1)]
    page.screenshot(ARTIFACTS / "phone-plate-received.png")


def test_photos_past_the_documented_count_are_not_added(
        page: Browser, server: dict[str, Any], tmp_path: Path) -> None:
    _open(page, f"{server['base']}/report")
    assert "最多 6 张" in page.evaluate("document.querySelector('label[for=photos]').textContent")
    _attach(page, [_jpeg(tmp_path / f"{i}.jpg", (30 * i, 80, 80)) for i in range(7)])
    page.wait_for("document.querySelectorAll('#thumbs img').length === 6")
    assert "最多 6 张照片" in page.evaluate("document.getElementById('photo-note').textContent")


def _width_fits(page: Browser) -> tuple[int, int]:
    got = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(got[0]), int(got[1])


def test_the_one_map_layer_panel_collapses_at_390_px(page: Browser,
                                                     server: dict[str, Any]) -> None:
    page.navigate(f"{server['base']}/")
    page.wait_for("window.gridgovReady === true")
    assert page.evaluate("getComputedStyle(document.getElementById('sidebar')).display") \
        == "none"
    _tap(page, "#panel-toggle")
    page.wait_for("getComputedStyle(document.getElementById('sidebar')).display !== 'none'")
    assert page.evaluate("document.getElementById('panel-toggle').getAttribute("
                         "'aria-expanded')") == "true"
    assert page.evaluate("document.querySelectorAll('#layer-list input').length") > 0
    assert page.evaluate("document.getElementById('legend').children.length") > 0
    assert _width_fits(page)[0] <= _width_fits(page)[1]
    page.screenshot(ARTIFACTS / "phone-onemap-panel.png")
    _tap(page, "#panel-toggle")
    page.wait_for("getComputedStyle(document.getElementById('sidebar')).display === 'none'")


def test_every_listed_page_fits_390_px(page: Browser, server: dict[str, Any]) -> None:
    base, url = server["base"], server["url"]
    token = _report_token(base, server)
    event_id = _sql(url, "SELECT id FROM events WHERE public_token = :t", t=token)[0][0]
    pages = {"onemap": ("/", "window.gridgovReady === true"),
             "report": ("/report", "window.gridgovReportReady === true"),
             "plate": (f"/b/{server['buildings'][0]}", "window.gridgovReportReady === true"),
             "tracking": (f"/t/{token}", "window.gridgovTrackReady === true"),
             "desk": ("/desk", "window.deskQueueReady === true"),
             "desk-inbox": ("/desk/inbox", "window.deskQueueReady === true"),
             "desk-case": (f"/desk/cases/{event_id}", "window.deskCaseReady === true")}
    sign_in(page, base, ADMIN)
    wide = {}
    for name, (path, ready) in pages.items():
        page.navigate(f"{base}{path}")
        page.wait_for(f"location.pathname === {path!r} && {ready}")
        page.wait_for("document.readyState === 'complete'")
        if name == "desk":  # the tab of all open cases: a table with rows
            page.evaluate("document.querySelector('#tabs button[data-tab=all]').click(); true")
            page.wait_for("document.querySelectorAll('#queue tr[data-id]').length > 0")
        scroll, inner = _width_fits(page)
        if scroll > inner:
            wide[name] = scroll
        page.screenshot(ARTIFACTS / f"phone-390-{name}.png")
    assert wide == {}
    _no_console_error(page, base, refusals=True)


def _report_token(base: str, server: dict[str, Any]) -> str:
    lon, lat = server["point"]
    req = urllib.request.Request(f"{base}/api/v1/events", method="POST", data=json.dumps({
        "category": server["category"][0], "location": {"x": lon, "y": lat},
        "description": "一个很长的描述" * 40}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        token: str = json.loads(resp.read())["public_token"]
    return token


def test_no_request_left_127_0_0_1(page: Browser, server: dict[str, Any]) -> None:
    urls = [u for u in page.requested_urls() if not u.startswith(("data:", "about:", "blob:"))]
    assert len(urls) > 20 and all(u.startswith(server["base"] + "/") for u in urls)
