"""``/docs`` in headless Chromium: Swagger UI from our own assets lists the operations,
under the Content-Security-Policy, with no request leaving 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from testkit.databases import fresh_sample_database
from testkit.servers import live_server
from tests.web.cdp import Browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# A known regression of this stop, to fix first: since the merges of the new domain packages
# Swagger UI stops after three tags (10 operations), with no console error; it rendered all
# 114 operations on the restructure alone. Strict: the mark must go when /docs works again.
pytestmark = pytest.mark.xfail(strict=True, reason="/docs renders only its first three tags "
                               "since the new packages' routes were merged")


@pytest.fixture(scope="module")
def docs(server_url: str, sample_dir: Path) -> Iterator[tuple[Browser, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base, \
            Browser() as browser:
        browser.open_page()
        browser.navigate(f"{base}/docs")
        browser.wait_for("document.querySelectorAll('.opblock').length > 20", timeout=60)
        yield browser, base


def test_docs_list_the_operations(docs: tuple[Browser, str]) -> None:
    page, _ = docs
    paths = page.evaluate("[...document.querySelectorAll('.opblock-summary-path')]"
                          ".map(e => e.textContent)")
    assert "/api/v1/events" in "".join(paths)
    assert page.evaluate("document.querySelector('.info .title').textContent").startswith(
        "gridgov")
    page.screenshot(ARTIFACTS / "docs.png")


def test_docs_load_nothing_from_elsewhere_and_break_no_policy(docs: tuple[Browser, str]
                                                              ) -> None:
    page, base = docs
    urls = page.requested_urls()
    assert f"{base}/vendor/swagger-ui-dist/swagger-ui-bundle.js" in urls
    assert f"{base}/openapi.json" in urls
    outside = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []
    messages = page.console_messages()
    assert [m for m in messages if "Content Security Policy" in m or "Refused to" in m] == []
    assert [m for m in messages if m.startswith(("error", "exception"))] == []
