"""For the Playwright tests: a guard on requests and script errors, a phone, signing in."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, ViewportSize

from tests.web.accounts import PASSWORD

PHONE: ViewportSize = {"width": 390, "height": 844}


class Guard:
    """Every request and script error of the contexts it watches; requests leaving
    127.0.0.1 are aborted and fail :meth:`check`."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []

    def watch(self, context: BrowserContext) -> BrowserContext:
        """Watch ``context`` (and every page it opens); return it."""
        context.on("request", self._seen)
        context.on("weberror", lambda e: self.errors.append(str(e.error)))
        context.route(lambda url: urlparse(url).hostname != "127.0.0.1", self._abort)
        return context

    def check(self) -> None:
        """Fail when a request left 127.0.0.1 or a page threw."""
        left = [u for u in self.urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
                and urlparse(u).hostname != "127.0.0.1"]
        assert left == [] and self.outside == [], (left, self.outside)
        assert self.errors == []

    def _seen(self, request: Request) -> None:
        self.urls.append(request.url)

    def _abort(self, route: Route) -> None:
        self.outside.append(route.request.url)
        route.abort()


def phone(browser: Browser, guard: Guard, at: tuple[float, float] | None = None) -> Page:
    """A phone (390 px, touch, Chinese) watched by ``guard``, at ``at`` (lon, lat) when given."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation={"longitude": at[0], "latitude": at[1], "accuracy": 8} if at else None,
        permissions=["geolocation"] if at else None)
    return guard.watch(context).new_page()


def fill_sign_in(page: Page, name: str) -> None:
    """Fill in and send the sign-in form the page shows, as ``name``."""
    page.wait_for_function("() => window.gridgovSignInReady === true")
    page.fill("#sign-in-name", name)
    page.fill("#sign-in-password", PASSWORD)
    page.click("#sign-in-submit")


def sign_in(page: Page, base: str, name: str, landing: str) -> None:
    """Sign in through the form as ``name`` and wait for the page the role lands on."""
    page.goto(f"{base}/sign-in")
    fill_sign_in(page, name)
    page.wait_for_url(f"{base}{landing}")
