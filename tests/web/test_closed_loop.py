"""The whole closed loop in one Playwright run on the system Chromium.

A dispatcher signs in through the form (a session cookie) and a leader, in a browser
context of their own, lands on the big screen; a resident's report posted over HTTP
appears in the dispatcher's queue live; the dispatcher dispatches it with a department and
a note; a handler, in a third context, accepts it and handles it with an after-photo; the
dispatcher verifies and closes it; the resident's tracking page shows it closed and takes
the evaluation; the leader's big screen shows "closed today" one up without a reload, and
the leader's own try to act on the case is refused (403). Screenshots of each page are kept in
``tests/artifacts/closed-loop-*.png``; any request that would leave 127.0.0.1 is aborted
and fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, expect

from tests.web.desk_support import desk_server, post_report, run_sql
from tests.web.playwright_support import Guard, sign_in

DISPATCHER, HANDLER, LEADER = "调度员赵敏", "城管处置员周杰", "指挥中心领导"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    """A live server on a fresh sample, a dispatcher, a handler, a category left to dispatch."""
    with desk_server(server_url, sample_dir, DISPATCHER, HANDLER, **{LEADER: "leader"}) as served:
        yield served


def _photo(width: int, height: int) -> bytes:
    """A small green PNG, the handler's after-photo."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (42, 157, 74)).save(out, format="PNG")
    return out.getvalue()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"closed-loop-{name}.png", full_page=True)


def _sign_in(page: Page, base: str, name: str, landing: str) -> None:
    """Sign in through the form and wait for the queue a user of that role lands on."""
    sign_in(page, base, name, landing)
    page.wait_for_function("() => window.deskQueueReady === true")


def _open_case(page: Page, base: str, event_id: int) -> None:
    page.goto(f"{base}/desk/cases/{event_id}")
    page.wait_for_function("() => window.deskCaseReady === true")


def _act(page: Page, action: str, status: str) -> None:
    """Click an action button of the case page and wait for the case's new status."""
    page.click(f"#action-{action}")
    expect(page.locator("#status")).to_have_attribute("data-status", status)


def _open_screen(context: BrowserContext, base: str) -> Page:
    """The leader signs in and lands on the big screen."""
    screen = context.new_page()
    sign_in(screen, base, LEADER, "/screen")
    screen.wait_for_function("() => window.gridgovScreenReady === true && "
                             "window.gridgovScreenLive === true")
    screen.evaluate("window.notReloaded = true")
    return screen


def _dispatch(page: Page, server: dict[str, Any], report: dict[str, Any]) -> None:
    row = page.locator(f"#queue tr.fresh[data-id='{report['id']}']")
    expect(row).to_contain_text("井盖缺失", timeout=20_000)  # live: the queue never reloaded
    assert page.evaluate("window.notReloaded") is True
    expect(row).to_contain_text("已登记")
    _shot(page, "1-queue")
    _open_case(page, server["base"], report["id"])
    page.select_option("#department", server["department"])
    page.fill("#note", "请立即设置围挡并补装井盖")
    _act(page, "dispatch", "dispatched")
    expect(page.locator("#history")).to_contain_text("请立即设置围挡并补装井盖")
    _shot(page, "2-case-dispatched")


def _handle(page: Page, base: str, event_id: int) -> None:
    _sign_in(page, base, HANDLER, "/desk/inbox")
    _shot(page, "3-inbox")
    page.click(f"#queue button.accept[data-id='{event_id}']")
    expect(page.locator(f"#queue tr[data-id='{event_id}']")).to_contain_text("处置中")
    _open_case(page, base, event_id)
    photo: FilePayload = {"name": "after.png", "mimeType": "image/png", "buffer": _photo(64, 48)}
    page.set_input_files("#photos", files=[photo])
    page.fill("#note", "已补装井盖，现场已清理")
    _act(page, "handle", "handled")
    after = page.locator("#photo-list img[data-stage=after]")
    expect(after).to_have_count(1)
    page.wait_for_function("() => [...document.querySelectorAll("
                           "'#photo-list img[data-stage=after]')]"
                           ".every(i => i.complete && i.naturalWidth === 64)")
    _shot(page, "4-case-handled")


def _close(page: Page, base: str, event_id: int) -> None:
    page.goto(f"{base}/desk")
    page.wait_for_function("() => window.deskQueueReady === true")
    page.click("#tabs button[data-tab=verify]")
    expect(page.locator(f"#queue tr[data-id='{event_id}']")).to_have_count(1)
    _open_case(page, base, event_id)
    _act(page, "verify", "verified")
    _act(page, "close", "closed")
    expect(page.locator("#history")).to_contain_text(HANDLER)
    _shot(page, "5-case-closed")


def _evaluate(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/t/{token}")
    expect(page.locator("#status")).to_contain_text("已结案")
    assert HANDLER not in page.inner_text("body")  # no staff names for residents
    page.check("input[name=satisfaction][value='5']")
    page.click("#evaluation button[type=submit]")
    expect(page.locator("#status")).to_have_attribute("data-status", "evaluated")
    _shot(page, "6-tracking")


def _leader_acts(screen: Page, event_id: int) -> tuple[int, str]:
    """The leader's page asks to reopen the case, as the workbench would send it."""
    status, code = screen.evaluate("""async (id) => {
        const me = await (await fetch('/api/v1/auth/me')).json();
        const resp = await fetch(`/api/v1/events/${id}/actions`, {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
            body: JSON.stringify({action: 'reopen', note: '领导要求重办'})});
        return [resp.status, (await resp.json()).code]; }""", event_id)
    return int(status), str(code)


def test_the_closed_loop_in_the_browser(browser: Browser, server: dict[str, Any]) -> None:
    base, guard = server["base"], Guard()
    office = guard.watch(browser.new_context(viewport={"width": 1440, "height": 900}))
    field = guard.watch(browser.new_context(viewport={"width": 1280, "height": 800}))
    lead = guard.watch(browser.new_context(viewport={"width": 1920, "height": 1080}))
    try:
        desk = office.new_page()
        _sign_in(desk, base, DISPATCHER, "/desk")
        cookie = next(c for c in office.cookies() if c["name"] == "gridgov_session")
        assert cookie["httpOnly"]
        screen = _open_screen(lead, base)
        closed_before = int(screen.inner_text("#kpi-closed"))
        desk.wait_for_function("() => window.deskLiveReady === true")
        desk.evaluate("window.notReloaded = true")
        report = post_report(server)
        _dispatch(desk, server, report)
        _handle(field.new_page(), base, report["id"])
        _close(desk, base, report["id"])
        _evaluate(field.new_page(), base, report["public_token"])
        expect(screen.locator("#kpi-closed")).to_have_text(str(closed_before + 1),
                                                           timeout=20_000)
        assert screen.evaluate("window.notReloaded") is True
        _shot(screen, "7-screen")
        assert _leader_acts(screen, report["id"]) == (403, "forbidden")
    finally:
        for context in (office, field, lead):
            context.close()
    assert run_sql(server["url"], "SELECT status, satisfaction FROM events WHERE id = :i",
                  i=report["id"]) == ("evaluated", 5)
    assert any("/api/v1/workbench/live" in u for u in guard.urls)
    guard.check()
