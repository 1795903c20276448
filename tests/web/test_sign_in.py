"""Signing in to the one-map in headless Chromium: the form, an HttpOnly session cookie,
no credential where a script can read it, the CSRF header on an action, signing out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api.db.session import make_engine
from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import PASSWORD, fill_sign_in, make_user, sign_in, wait_across_navigation
from tests.web.cdp import Browser

NAME = "root-web"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def server(server_url: str, sample_dir: Path) -> Iterator[tuple[str, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        make_user(url, NAME)
        yield base, url


@pytest.fixture(scope="module")
def page(server: tuple[str, str]) -> Iterator[Browser]:
    base, _ = server
    with Browser() as browser:
        browser.open_page()
        browser.navigate(f"{base}/")
        browser.wait_for("window.gridgovReady === true", timeout=60)
        yield browser


def _sql(url: str, query: str, **params: Any) -> Any:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return conn.execute(text(query), params).one()
    finally:
        engine.dispose()


def _errors(page: Browser) -> list[str]:
    # anonymous: the page asks /api/v1/auth/me who is signed in, and 401 is the answer
    return [m for m in page.console_messages() if m.startswith(("error", "exception"))
            and "status of 404" not in m and not m.endswith("/api/v1/auth/me")]


def test_anonymous_visitors_see_public_layers_and_a_sign_in_link(
        page: Browser, server: tuple[str, str]) -> None:
    base, _ = server
    page.wait_for("window.gridgovMap.loaded() && window.gridgovMap.areTilesLoaded()",
                  timeout=60)
    assert page.evaluate("window.gridgovMap.queryRenderedFeatures("
                         "{layers: ['buildings']}).length") > 50
    assert page.evaluate("document.getElementById('sign-in-link').getAttribute('href')") == \
        "/sign-in"
    prompt = page.wait_for("(document.getElementById('dashboard-sign-in') || {}).textContent")
    assert "登录后查看态势看板" in prompt
    assert not page.evaluate("document.getElementById('live-status').classList.contains('on')")
    urls = page.requested_urls()
    assert not [u for u in urls if "/api/v1/web/dashboard" in u or "/live-events" in u]
    assert _errors(page) == []


def test_a_wrong_password_is_refused_on_the_form(page: Browser,
                                                 server: tuple[str, str]) -> None:
    base, _ = server
    page.evaluate("document.getElementById('sign-in-link').click(); true")
    fill_sign_in(page, NAME, "not the password")
    shown = wait_across_navigation(
        page, "!document.getElementById('sign-in-error').hidden && "
              "document.getElementById('sign-in-error').textContent")
    assert shown == "用户名或密码错误"
    assert page.evaluate("location.pathname") == "/sign-in"
    page.screenshot(ARTIFACTS / "sign-in.png")
    page.evaluate("document.getElementById('lang-switch').click(); true")
    assert page.evaluate("[document.querySelector('#sign-in-form h2').textContent, "
                         "document.getElementById('sign-in-error').textContent]") == \
        ["Staff sign-in", "Wrong name or password"]
    page.evaluate("document.getElementById('lang-switch').click(); true")
    assert page.evaluate("document.querySelector('#sign-in-form h2').textContent") == \
        "工作人员登录"


def test_signing_in_through_the_form_opens_the_dashboard(page: Browser,
                                                         server: tuple[str, str]) -> None:
    base, _ = server
    sign_in(page, base, NAME, PASSWORD)
    assert page.evaluate("location.href") == f"{base}/"
    total = page.wait_for("document.getElementById('kpi-total') && "
                          "document.getElementById('kpi-total').textContent", timeout=30)
    assert int(total) > 0
    page.wait_for("document.getElementById('live-status').classList.contains('on')")
    assert page.evaluate("document.getElementById('sign-out').textContent") == "退出登录"


def test_the_session_cookie_is_out_of_reach_of_scripts(page: Browser,
                                                       server: tuple[str, str]) -> None:
    base, _ = server
    cookies = page.send("Network.getCookies", {"urls": [base]})["cookies"]
    session = next(c for c in cookies if c["name"] == "gridgov_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
    assert "gridgov_session" not in page.evaluate("document.cookie")
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert session["value"] not in stored and "gg_" not in stored
    assert "gridgov.token" not in stored and "csrf" not in stored.lower()


def test_an_action_from_an_event_popup_carries_the_csrf_header(
        page: Browser, server: tuple[str, str]) -> None:
    _, url = server
    (event_id,) = _sql(url, "SELECT id FROM events WHERE status = 'handled' ORDER BY id LIMIT 1")
    page.evaluate(f"document.getElementById('search-input').value = '{event_id}';"
                  "document.querySelector('#search button').click(); true")
    page.wait_for("!!document.querySelector('.maplibregl-popup button[data-action=\"verify\"]')",
                  timeout=30)
    page.evaluate("document.querySelector('.maplibregl-popup button[data-action=\"verify\"]')"
                  ".click(); true")
    page.wait_for(f"document.getElementById('toasts').textContent.includes('#{event_id} → ')",
                  timeout=20)
    status, actor = _sql(url, "SELECT e.status, h.actor FROM events e JOIN event_history h "
                              "ON h.event_id = e.id WHERE e.id = :id ORDER BY h.id DESC LIMIT 1",
                         id=event_id)
    assert (status, actor) == ("verified", NAME)
    posts = [e["params"]["request"] for e in page.events
             if e.get("method") == "Network.requestWillBeSent"
             and e["params"]["request"]["method"] == "POST"
             and e["params"]["request"]["url"].endswith(f"/api/v1/events/{event_id}/actions")]
    assert len(posts) == 1
    headers = {k.lower(): v for k, v in posts[0]["headers"].items()}
    assert headers.get("x-csrf-token") and "authorization" not in headers


def test_signing_out_asks_to_sign_in_again(page: Browser) -> None:
    page.evaluate("document.getElementById('sign-out').click(); true")
    prompt = page.wait_for("(document.getElementById('dashboard-sign-in') || {}).textContent")
    assert "登录后查看态势看板" in prompt
    assert page.wait_for("!!document.getElementById('sign-in-link')")
    assert page.evaluate("fetch('/api/v1/auth/me').then(r => r.status)") == 401
    page.evaluate("location.reload(); true")
    wait_across_navigation(page, "window.gridgovReady === true && "
                                 "!!document.getElementById('dashboard-sign-in')")
