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

# Swagger UI 5.35 renders the operations list virtually: only the operations near the
# viewport are in the page, so a reader sees them all by scrolling, and so does the test.
_RENDERED = ("[...document.querySelectorAll('.opblock')].map(e => "
             "e.querySelector('.opblock-summary-method').textContent.toLowerCase() + ' ' + "
             "e.querySelector('.opblock-summary-path').dataset.path)")


@pytest.fixture(scope="module")
def docs(server_url: str, sample_dir: Path) -> Iterator[tuple[Browser, str]]:
    with fresh_sample_database(server_url, sample_dir) as url, live_server(url) as base, \
            Browser() as browser:
        browser.open_page()
        browser.navigate(f"{base}/docs")
        browser.wait_for("document.querySelectorAll('.opblock').length > 5", timeout=60)
        yield browser, base


def test_docs_list_every_operation_as_the_reader_scrolls(docs: tuple[Browser, str]) -> None:
    page, base = docs
    spec = page.evaluate(f"fetch('{base}/openapi.json').then(r => r.json())")
    expected = {f"{method} {path}" for path, ops in spec["paths"].items() for method in ops}
    assert page.evaluate("document.querySelector('.info .title').textContent").startswith(
        "gridgov")
    page.screenshot(ARTIFACTS / "docs.png")
    seen: set[str] = set()
    page.evaluate("window.scrollTo(0, 0)")
    for _ in range(2000):
        seen.update(page.evaluate(_RENDERED))
        if page.evaluate("window.innerHeight + window.scrollY >= "
                         "document.body.scrollHeight - 2"):
            break
        page.evaluate("window.scrollBy(0, window.innerHeight * 0.8)")
        page.evaluate("new Promise(r => requestAnimationFrame(() => "
                      "requestAnimationFrame(r)))")
    seen.update(page.evaluate(_RENDERED))
    assert "post /api/v1/events" in seen
    assert expected - seen == set()


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
