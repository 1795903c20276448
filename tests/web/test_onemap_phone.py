"""The one-map's dashboard on a 390x844 phone (Playwright, touch): folded away at first, a
header button opens it as a sheet from the bottom with the figures the API counts, the
layer panel and the dashboard open one at a time, and the page stays 390 px wide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.accounts import make_user
from tests.web.playwright_support import PHONE, Guard, sign_in

ADMIN = "手机看板管理员"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
@pytest.fixture(scope="module")
def base(server_url: str, sample_dir: Path) -> Iterator[str]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base:
        make_user(url, ADMIN)
        yield base


@pytest.fixture()
def phone(browser: Browser, base: str) -> Iterator[tuple[Page, Guard]]:
    """The signed-in one-map on a phone."""
    guard = Guard()
    context = guard.watch(browser.new_context(viewport=PHONE, device_scale_factor=2,
                                              is_mobile=True, has_touch=True))
    try:
        page = context.new_page()
        sign_in(page, base, ADMIN, "/")
        page.wait_for_function("() => window.gridgovReady === true")
        expect(page.locator("#user-name")).to_have_text(ADMIN)
        yield page, guard
    finally:
        context.close()


def test_the_dashboard_opens_from_a_button_on_a_phone(phone: tuple[Page, Guard],
                                                      base: str) -> None:
    page, guard = phone
    dashboard, button = page.locator("#dashboard"), page.locator("#dashboard-toggle")
    expect(button).to_be_visible()
    expect(button).to_have_text("态势看板")
    expect(dashboard).to_be_hidden()
    figures = page.request.get(f"{base}/api/v1/web/dashboard").json()
    button.tap()
    expect(dashboard).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#kpi-total")).to_have_text(str(figures["total"]))
    expect(dashboard.locator(".kpis")).to_contain_text("超期")
    box = dashboard.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
    assert box["y"] > 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=ARTIFACTS / "phone-onemap-dashboard.png")
    page.locator("#panel-toggle").tap()  # one panel at a time
    expect(page.locator("#sidebar")).to_be_visible()
    expect(dashboard).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.locator("#panel-toggle").tap()
    expect(page.locator("#sidebar")).to_be_hidden()
    guard.check()
