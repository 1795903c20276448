"""A resident's tracking page in headless Chromium: the status and timeline of a report
without staff names, its photo, the evaluation of a closed case, the link of a duplicate
to the case it joined, and a readable page for an unknown code."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.db.models import Event
from api.db.session import make_engine
from api.events.lifecycle import apply_action
from api.events.models import EventPhoto
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.cdp import Browser

STAFF = "欧阳建国"  # the staff member acting on the case: never on the resident's page
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _post(base: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _report(base: str, category: str, building: str) -> dict[str, Any]:
    status, body = _post(base, "/api/v1/events", {
        "category": category, "building_code": building, "channel": "qr",
        "description": "楼下垃圾堆放多日，请处理。"})
    assert status == 201, body
    return body


def _close_by_staff(url: str, event_id: int, photo: Path) -> None:
    """Dispatch, accept, handle (with an after-photo), verify and close, as ``STAFF``."""
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            event = session.get(Event, event_id)
            assert event is not None
            dept = session.scalar(text("SELECT id FROM departments ORDER BY id LIMIT 1"))
            for action in ("dispatch", "accept", "handle", "verify", "close"):
                if event.status == "registered" or action != "dispatch":
                    apply_action(session, event, action, actor=STAFF, now=datetime.now(UTC),
                                 note=f"{STAFF}：{action}", department_id=dept)
            session.add(EventPhoto(event_id=event_id, path=str(photo), content_type="image/png",
                                   size=photo.stat().st_size))
            session.commit()
    finally:
        engine.dispose()


def _event(url: str, token: str) -> tuple[str, int | None]:
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as session:
            row = session.execute(select(Event.status, Event.satisfaction).where(
                Event.public_token == token)).one()
            return row.status, row.satisfaction
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, Any]]:
    photo = tmp_path_factory.mktemp("photos") / "after.png"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 90)).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        engine = make_engine(url, pool_size=1)
        with engine.connect() as conn:
            cats = conn.execute(text("SELECT code FROM event_categories ORDER BY code LIMIT 2")
                                ).scalars().all()
            buildings = conn.execute(text("SELECT code FROM buildings ORDER BY code LIMIT 2")
                                     ).scalars().all()
        engine.dispose()
        closed = _report(base, cats[0], buildings[0])
        _close_by_staff(url, closed["id"], photo)
        original = _report(base, cats[1], buildings[1])
        duplicate = _report(base, cats[1], buildings[1])
        yield {"base": base, "url": url, "closed": closed, "original": original,
               "duplicate": duplicate}


@pytest.fixture(scope="module")
def page() -> Iterator[Browser]:
    with Browser() as browser:
        browser.open_page()
        yield browser


def _open(page: Browser, base: str, token: str) -> None:
    page.navigate(f"{base}/t/{token}")
    page.wait_for(f"location.pathname === '/t/{token}' && window.gridgovTrackReady === true")


def test_a_closed_case_shows_status_timeline_and_photo_but_no_staff(
        page: Browser, server: dict[str, Any]) -> None:
    base, token = server["base"], server["closed"]["public_token"]
    _open(page, base, token)
    assert "已结案" in page.evaluate("document.getElementById('status').textContent")
    steps = page.evaluate("[...document.querySelectorAll('#timeline li')]"
                          ".map(li => li.textContent)")
    assert [s.split(" ", 2)[2] for s in steps][:1] == ["登记受理 Received"]
    assert any("派遣至处置部门" in s for s in steps) and "结案" in steps[-1]
    assert len(steps) == 6
    assert STAFF not in page.evaluate("document.body.innerText")
    assert STAFF not in page.evaluate("document.documentElement.outerHTML")
    page.wait_for("[...document.querySelectorAll('#photos img')].every("
                  "i => i.complete && i.naturalWidth === 64) && "
                  "document.querySelectorAll('#photos img').length === 1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(ARTIFACTS / "tracking-closed.png")


def test_the_tracking_api_gives_photos_a_resident_can_open(
        page: Browser, server: dict[str, Any]) -> None:
    base, token = server["base"], server["closed"]["public_token"]
    _open(page, base, token)
    got = page.evaluate(f"fetch('/api/v1/track/{token}').then(r => r.text()).then(async t => "
                        "({text: t, photo: (await fetch(JSON.parse(t).photos[0].url)).status}))")
    assert got["photo"] == 200 and STAFF not in got["text"]


def test_a_resident_evaluates_a_closed_case_once(page: Browser,
                                                 server: dict[str, Any]) -> None:
    base, token = server["base"], server["closed"]["public_token"]
    _open(page, base, token)
    page.evaluate("document.querySelector('input[name=satisfaction][value=\"4\"]').click();"
                  "document.getElementById('comment').value = '处理及时，谢谢';"
                  "document.querySelector('#evaluation button').click(); true")
    shown = page.wait_for("(document.getElementById('evaluation-result').textContent"
                          ".includes('感谢') && document.getElementById('evaluation-result')"
                          ".textContent)")
    assert "4 分" in shown
    assert _event(server["url"], token) == ("evaluated", 4)
    _open(page, base, token)
    assert "已评价" in page.evaluate("document.getElementById('status').textContent")
    assert page.evaluate("document.getElementById('evaluation') === null")
    assert "4 分" in page.evaluate("document.getElementById('evaluated').textContent")
    status, body = _post(base, f"/api/v1/track/{token}/evaluation", {"satisfaction": 1})
    assert (status, body["code"]) == (409, "transition_not_allowed")
    assert _event(server["url"], token) == ("evaluated", 4)


def test_an_open_case_has_no_form_and_refuses_an_evaluation(
        page: Browser, server: dict[str, Any]) -> None:
    base, token = server["base"], server["original"]["public_token"]
    _open(page, base, token)
    assert page.evaluate("document.getElementById('evaluation') === null")
    assert "结案后可评价" in page.evaluate("document.body.innerText")
    status, body = _post(base, f"/api/v1/track/{token}/evaluation", {"satisfaction": 5})
    assert (status, body["code"]) == (409, "transition_not_allowed")


def test_a_duplicate_says_so_and_links_the_case_it_joined(
        page: Browser, server: dict[str, Any]) -> None:
    base = server["base"]
    dup, original = server["duplicate"]["public_token"], server["original"]["public_token"]
    _open(page, base, dup)
    assert "重复上报，已合并" in page.evaluate("document.getElementById('status').textContent")
    assert page.evaluate("document.getElementById('original').getAttribute('href')") == \
        f"/t/{original}"
    page.evaluate("document.getElementById('original').click(); true")
    page.wait_for(f"location.pathname === '/t/{original}' && "
                  "window.gridgovTrackReady === true")
    assert page.evaluate("document.getElementById('status').dataset.status") == \
        server["original"]["status"] != "duplicate"
    assert page.evaluate("document.getElementById('duplicate') === null")


def test_an_unknown_code_gets_a_readable_404_page(page: Browser,
                                                  server: dict[str, Any]) -> None:
    base = server["base"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{base}/t/NO-SUCH-CODE", timeout=30)
    assert caught.value.code == 404
    page.navigate(f"{base}/t/NO-SUCH-CODE")
    text_ = page.wait_for("document.body && document.body.innerText")
    assert "未找到该事件" in text_ and "NO-SUCH-CODE" in text_


def test_a_report_from_a_plate_links_to_its_tracking_page(
        page: Browser, server: dict[str, Any]) -> None:
    base = server["base"]
    engine = make_engine(server["url"], pool_size=1)
    with engine.connect() as conn:
        building = conn.execute(text("SELECT code FROM buildings ORDER BY code DESC LIMIT 1")
                                ).scalar_one()
    engine.dispose()
    page.navigate(f"{base}/b/{building}")
    page.wait_for("window.gridgovReportReady === true")
    page.evaluate("(() => { const search = document.getElementById('category-search');"
                  "search.focus(); search.value = '0'; search.dispatchEvent(new Event('input'));"
                  "document.querySelector('#category-list li[data-code]').click();"
                  "document.getElementById('description').value = '路灯不亮';"
                  "document.getElementById('submit').click(); return true; })()")
    href = page.wait_for("(document.getElementById('track-link') || {}).href")
    page.evaluate("document.getElementById('track-link').click(); true")
    page.wait_for(f"location.href === {href!r} && window.gridgovTrackReady === true")
    assert page.evaluate("document.getElementById('status').dataset.status") in (
        "registered", "dispatched")
    assert "路灯不亮" in page.evaluate("document.body.innerText")


def test_the_pages_load_nothing_from_elsewhere(page: Browser, server: dict[str, Any]) -> None:
    urls = [u for u in page.requested_urls() if not u.startswith(("data:", "about:"))]
    assert urls and all(u.startswith(server["base"] + "/") for u in urls)
