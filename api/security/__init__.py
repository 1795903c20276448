"""The HTTP edge: what holds on every route, installed on the app in one call.

- :mod:`api.security.headers`: Content-Security-Policy (our origin only), nosniff,
  frame and referrer policies on every response, errors included;
- :mod:`api.security.limits`: body size (streamed count) and JSON depth limits;
- :mod:`api.security.ratelimit`: token buckets on public intake and sign-in;
- :mod:`api.security.docs`: ``/docs`` from the local Swagger UI assets;
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp

from api.security.docs import add_local_docs
from api.security.headers import SecurityHeadersMiddleware, security_headers
from api.security.limits import BodyLimitMiddleware, BodyLimits
from api.security.ratelimit import RateLimitMiddleware, limiters_from
from api.settings import Settings


def install(app: FastAPI, settings: Settings,
            clock: Callable[[], float] = time.monotonic) -> None:
    """Add the edge's middleware, ``/docs`` and its OpenAPI responses to ``app``.

    Order, outside in: security headers (around everything, so that even a 500
    from Starlette's error middleware carries them), rate limits (a refused
    caller costs no body read), body limits. The rate limiters are kept as
    ``app.state.rate_limiters`` (tests replace their ``clock``).
    """
    app.state.rate_limiters = limiters = limiters_from(settings, clock)
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits.from_settings(settings))
    app.add_middleware(RateLimitMiddleware, limiters=limiters)
    headers = security_headers(settings)
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeadersMiddleware(build(), headers)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
    add_local_docs(app)


__all__ = ["install"]
