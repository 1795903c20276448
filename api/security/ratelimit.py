"""Rate limits of the public entry points: a token bucket per client, 429 with Retry-After.

:class:`RateLimiter` keeps one bucket per key in memory (per process), safe from
threads and the event loop alike (one lock, held for a few arithmetic steps),
and bounded: past ``max_keys`` the least recently seen key is forgotten (a
forgotten key starts again with a full bucket, which only ever errs towards
serving). A rate ``N/minute`` allows a burst of ``N`` and then one request
every ``60/N`` seconds.

:data:`RATE_LIMITED_ROUTES` says which requests are counted and against which
limit; :class:`RateLimitMiddleware` applies it to every request, so a route
added later (the sign-in) is limited as soon as it exists. Keys:

- by client address (the ASGI client: behind a reverse proxy run uvicorn with
  ``--proxy-headers --forwarded-allow-ips`` so that it is the caller's);
- with a bearer token, also by the token: a request passes when both have room;
- on ``anonymous_only`` routes (report intake, where staff channels need a
  token) a request with a bearer token is not counted, unless the address has
  had its credentials refused (401/403) ``N`` times within the window: then it
  is limited like an anonymous caller, so made-up tokens buy nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.settings import Settings
from gis_core.errors import InvalidInput

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$", re.I)


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds."""

    count: int
    period: float


def parse_rate(text: str, name: str = "rate") -> Rate | None:
    """Parse ``"30/minute"`` (also ``second``, ``hour``, ``day``); ``"off"`` is ``None``.

    Examples
    --------
    >>> parse_rate("30/minute")
    Rate(count=30, period=60.0)
    >>> parse_rate("off") is None
    True
    """
    if text.strip().lower() in ("off", "none", "0"):
        return None
    match = _RATE.match(text)
    if match is None or int(match.group(1)) < 1:
        raise InvalidInput(f"setting {name!r}: expected 'N/second|minute|hour|day' with N >= 1 "
                           f"or 'off', got {text!r}", parameter=name)
    return Rate(int(match.group(1)), _PERIODS[match.group(2).lower()])


class RateLimiter:
    """Token buckets per key, in memory, thread- and asyncio-safe, at most ``max_keys``."""

    def __init__(self, rate: Rate, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        """Tokens in ``key``'s bucket now (call with the lock held)."""
        tokens, then = self._buckets.get(key, (float(self.rate.count), now))
        return min(float(self.rate.count),
                   tokens + (now - then) * self.rate.count / self.rate.period)

    def _wait(self, level: float) -> int:
        """Whole seconds until a bucket at ``level`` holds one token."""
        return max(1, math.ceil((1.0 - level) * self.rate.period / self.rate.count))

    def peek(self, key: str) -> int | None:
        """Seconds to wait before ``key`` may be charged, or ``None`` when it may now."""
        with self._lock:
            level = self._level(key, self.clock())
        return None if level >= 1.0 else self._wait(level)

    def hit(self, *keys: str) -> int | None:
        """Charge one request to every key if all have room; else the seconds to wait."""
        with self._lock:
            now = self.clock()
            levels = [self._level(key, now) for key in keys]
            if any(level < 1.0 for level in levels):
                return max(self._wait(level) for level in levels if level < 1.0)
            for key, level in zip(keys, levels, strict=True):
                self._store(key, level - 1.0, now)
        return None

    def charge(self, key: str) -> None:
        """Take a token from ``key`` even when it is empty (refused credentials)."""
        with self._lock:
            now = self.clock()
            self._store(key, max(0.0, self._level(key, now) - 1.0), now)

    def _store(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._buckets)


@dataclass(frozen=True)
class LimitedRoute:
    """Requests of ``method`` on a path matching ``pattern`` count against ``limit``.

    ``documented`` is the path as the OpenAPI document names it.
    """

    method: str
    pattern: re.Pattern[str]
    documented: str
    limit: str
    anonymous_only: bool = False


#: which requests are rate limited: public intake and the sign-in
RATE_LIMITED_ROUTES = (
    LimitedRoute("POST", re.compile(r"^/api/v1/events/?$"), "/api/v1/events", "intake",
                 anonymous_only=True),
    LimitedRoute("POST", re.compile(r"^/open311/v2/requests\.[A-Za-z]+$"),
                 "/open311/v2/requests.{fmt}", "intake"),
    LimitedRoute("POST", re.compile(r"^/api/v1/auth/login/?$"), "/api/v1/auth/login", "login"),
)


def limiters_from(settings: Settings, clock: Callable[[], float] = time.monotonic
                  ) -> dict[str, RateLimiter]:
    """One limiter per configured limit name (a limit set to ``off`` has none)."""
    out = {}
    for name, text in (("intake", settings.api.rate_limit_intake),
                       ("login", settings.api.rate_limit_login)):
        rate = parse_rate(text, f"rate_limit_{name}")
        if rate is not None:
            out[name] = RateLimiter(rate, settings.api.rate_limit_max_keys, clock)
    return out


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return None


def _route_of(scope: Scope) -> LimitedRoute | None:
    for route in RATE_LIMITED_ROUTES:
        if scope["method"] == route.method and route.pattern.match(scope["path"]):
            return route
    return None


async def _too_many(scope: Scope, receive: Receive, send: Send, wait: int) -> None:
    response = JSONResponse(
        error_body("rate_limited", f"too many requests; try again in {wait} s",
                   {"retry_after": wait}),
        status_code=429, headers={"Retry-After": str(wait)})
    await response(scope, receive, send)


class RateLimitMiddleware:
    """ASGI middleware applying :data:`RATE_LIMITED_ROUTES` with the app's limiters."""

    def __init__(self, app: ASGIApp, limiters: dict[str, RateLimiter]) -> None:
        self.app = app
        self.limiters = limiters
        self.methods = frozenset(route.method for route in RATE_LIMITED_ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 429 when the caller's bucket is empty, else pass the request on."""
        limited = scope["type"] == "http" and scope["method"] in self.methods
        route = _route_of(scope) if limited else None
        limiter = self.limiters.get(route.limit) if route else None
        if route is None or limiter is None:
            await self.app(scope, receive, send)
            return
        address = f"addr:{scope['client'][0] if scope.get('client') else '-'}"
        token = _bearer(scope)
        if route.anonymous_only and token is not None:
            await self._with_credentials(limiter, f"refused:{address}", scope, receive, send)
            return
        wait = limiter.hit(address, f"token:{token}") if token else limiter.hit(address)
        if wait is not None:
            await _too_many(scope, receive, send, wait)
            return
        await self.app(scope, receive, send)

    async def _with_credentials(self, limiter: RateLimiter, key: str, scope: Scope,
                                receive: Receive, send: Send) -> None:
        """A request with a token: limited only once the address's tokens keep failing."""
        wait = limiter.peek(key)
        if wait is not None:
            await _too_many(scope, receive, send, wait)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (401, 403):
                limiter.charge(key)
            await send(message)

        await self.app(scope, receive, watch)
