"""The closed loop in headless Chromium: a dispatcher signs in to the queue, a resident's
new report appears in it live, the dispatcher dispatches it with a department and a note,
the handler accepts it in the inbox and handles it with an after-photo (a return without
a reason is refused with its message), the dispatcher verifies and closes it, the
resident's tracking page shows it closed and takes the evaluation, and the KPIs move.
Screenshots of each page go to ``tests/artifacts/``; no request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.web.accounts import fill_sign_in, wait_across_navigation
from tests.web.cdp import Browser
from tests.web.desk_support import desk_server, post_report, run_sql

DISPATCHER, HANDLER = "调度员王芳", "城管处置员李强"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLOW: dict[str, Any] = {}  # what one step hands the next (the tests run in order)


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[dict[str, Any]]:
    with desk_server(server_url, sample_dir, DISPATCHER, HANDLER) as served:
        yield served


@pytest.fixture(scope="module")
def page() -> Iterator[Browser]:
    with Browser() as browser:
        browser.open_page()
        yield browser


def _sign_in(page: Browser, base: str, name: str, landing: str, *, ask: bool = True) -> None:
    """Sign in and wait for the queue at ``landing`` (asked for with ``?next=`` or not)."""
    page.navigate(f"{base}/sign-in?next={landing}" if ask else f"{base}/sign-in")
    fill_sign_in(page, name, "browser test password")
    wait_across_navigation(page, f"location.pathname === {landing!r} && "
                                 "window.deskQueueReady === true")


def _stats(page: Browser) -> dict[str, Any]:
    body = page.evaluate("fetch('/api/v1/stats/events?group_by=street').then(r => r.json())")
    total: dict[str, Any] = body["total"]
    return total


def _key(page: Browser, key: str) -> None:
    page.evaluate(f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: {key!r}}})); true")


def _open_case(page: Browser, base: str, event_id: int) -> None:
    page.navigate(f"{base}/desk/cases/{event_id}")
    wait_across_navigation(page, f"location.pathname === '/desk/cases/{event_id}' && "
                                 "window.deskCaseReady === true")


def _status(page: Browser) -> str:
    return str(page.evaluate("document.getElementById('status').dataset.status"))


def test_a_new_report_appears_in_the_dispatchers_queue_live(page: Browser,
                                                           server: dict[str, Any]) -> None:
    base = server["base"]
    _sign_in(page, base, DISPATCHER, "/desk", ask=False)  # a dispatcher lands on the queue
    page.wait_for("window.deskLiveReady === true", timeout=30)
    FLOW["stats"] = _stats(page)
    report = post_report(server)
    assert report["status"] == "registered"
    FLOW.update(id=report["id"], token=report["public_token"])
    page.wait_for(f"!!document.querySelector('#queue tr.fresh[data-id=\"{report['id']}\"]')",
                  timeout=20)  # no reload: the page never navigated
    row = page.evaluate(f"document.querySelector('#queue tr[data-id=\"{report['id']}\"]')"
                        ".textContent")
    assert "已登记" in row and "井盖缺失" in row and "市民App" in row
    assert int(page.evaluate("document.getElementById('count-new').textContent")) >= 1
    page.screenshot(ARTIFACTS / "workbench-queue.png")


def test_the_dispatcher_dispatches_with_a_department_and_a_note(
        page: Browser, server: dict[str, Any]) -> None:
    _open_case(page, server["base"], FLOW["id"])
    buttons = page.evaluate("[...document.querySelectorAll('#action-buttons button')]"
                            ".map(b => b.textContent)")
    assert any(b.startswith("派遣") for b in buttons)
    assert not any(code in " ".join(buttons) for code in ("dispatch", "mark_duplicate", "cancel"))
    assert "张三" not in page.evaluate("document.getElementById('reporter').textContent")  # masked
    assert page.evaluate("document.getElementById('reporter-panel').hidden") is False
    page.evaluate(f"document.getElementById('department').value = {server['department']!r};"
                  "document.getElementById('note').value = '请立即设置围挡并补装井盖'; true")
    _key(page, "d")  # the dispatch shortcut
    page.wait_for("document.getElementById('status').dataset.status === 'dispatched'")
    history = page.evaluate("document.getElementById('history').textContent")
    assert DISPATCHER in history and "请立即设置围挡并补装井盖" in history and "派遣" in history
    assert "分钟" in page.evaluate("document.getElementById('summary').textContent")
    page.screenshot(ARTIFACTS / "workbench-case-dispatched.png")


def test_the_handler_accepts_and_handles_with_an_after_photo(
        page: Browser, server: dict[str, Any]) -> None:
    base, event_id = server["base"], FLOW["id"]
    _sign_in(page, base, HANDLER, "/desk/inbox", ask=False)  # a handler on the inbox
    page.wait_for(f"!!document.querySelector('#queue button.accept[data-id=\"{event_id}\"]')")
    page.screenshot(ARTIFACTS / "workbench-inbox.png")
    page.evaluate(f"document.querySelector('#queue button.accept[data-id=\"{event_id}\"]')"
                  ".click(); true")
    page.wait_for(f"!document.querySelector('#queue button.accept[data-id=\"{event_id}\"]') && "
                  f"document.querySelector('#queue tr[data-id=\"{event_id}\"]').textContent"
                  ".includes('处置中')")
    _open_case(page, base, event_id)
    _key(page, "r")  # a return without a reason: refused, with the server's message
    page.wait_for("!document.getElementById('error').hidden")
    assert "reason" in page.evaluate("document.getElementById('error').textContent")
    assert _status(page) == "in_progress"
    page.evaluate("""(async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 64; canvas.height = 48;
        const ctx = canvas.getContext('2d'); ctx.fillStyle = '#2a9d4a'; ctx.fillRect(0, 0, 64, 48);
        const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
        const files = new DataTransfer();
        files.items.add(new File([blob], 'after.png', { type: 'image/png' }));
        document.getElementById('photos').files = files.files;
        document.getElementById('note').value = '已补装井盖，现场已清理';
        return true; })()""")
    _key(page, "h")
    page.wait_for("document.getElementById('status').dataset.status === 'handled'")
    page.wait_for("[...document.querySelectorAll('#photo-list img[data-stage=after]')]"
                  ".some(i => i.complete && i.naturalWidth === 64)")
    page.screenshot(ARTIFACTS / "workbench-case-handled.png")


def test_the_dispatcher_verifies_and_closes(page: Browser, server: dict[str, Any]) -> None:
    base, event_id = server["base"], FLOW["id"]
    _sign_in(page, base, DISPATCHER, "/desk")
    page.evaluate("document.querySelector('#tabs button[data-tab=verify]').click(); true")
    page.wait_for(f"!!document.querySelector('#queue tr[data-id=\"{event_id}\"]')")
    _open_case(page, base, event_id)
    _key(page, "v")
    page.wait_for("document.getElementById('status').dataset.status === 'verified'")
    _key(page, "c")
    page.wait_for("document.getElementById('status').dataset.status === 'closed'")
    history = page.evaluate("document.getElementById('history').textContent")
    assert HANDLER in history and "已补装井盖" in history and "结案" in history
    page.screenshot(ARTIFACTS / "workbench-case-closed.png")


def test_the_resident_sees_it_closed_and_evaluates(page: Browser,
                                                   server: dict[str, Any]) -> None:
    token = FLOW["token"]
    page.navigate(f"{server['base']}/t/{token}")
    page.wait_for(f"location.pathname === '/t/{token}' && window.gridgovTrackReady === true")
    assert "已结案" in page.evaluate("document.getElementById('status').textContent")
    assert HANDLER not in page.evaluate("document.body.textContent")
    page.evaluate("document.querySelector('input[name=satisfaction][value=\"5\"]').click();"
                  "document.querySelector('#evaluation button[type=submit]').click(); true")
    page.wait_for("document.getElementById('status').dataset.status === 'evaluated' || "
                  "!!document.getElementById('evaluated')", timeout=20)
    page.screenshot(ARTIFACTS / "workbench-tracking.png")
    status, score = run_sql(server["url"], "SELECT status, satisfaction FROM events WHERE id = :i",
                         i=FLOW["id"])
    assert (status, score) == ("evaluated", 5)


def test_the_kpis_moved_and_nothing_left_the_machine(page: Browser,
                                                     server: dict[str, Any]) -> None:
    _sign_in(page, server["base"], DISPATCHER, "/desk")
    before, after = FLOW["stats"], _stats(page)
    assert after["reported"] == before["reported"] + 1
    assert after["closed"] == before["closed"] + 1
    assert after["dispatched"] == before["dispatched"] + 1
    assert after["mean_satisfaction"] != before["mean_satisfaction"]
    urls = page.requested_urls()
    assert any("/api/v1/workbench/live" in u for u in urls)
    outside = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []
