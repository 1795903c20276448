"""Security headers on every response, added as raw header bytes built once.

The Content-Security-Policy allows our own origin only: the one-map, the plate
page, the OGC HTML pages and ``/docs`` load every script, style, font and worker
from this server (MapLibre starts its workers from ``blob:`` URLs and draws
``data:``/``blob:`` images). When ``GRIDGOV_BASEMAP_URL`` is set, the basemap's
origin is added to ``img-src`` and ``connect-src``. No inline script or style is
allowed anywhere; a response that sets one of these headers itself (a photo, with
a stricter policy) keeps its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings

#: the headers and their values, apart from the policy (see :func:`security_headers`)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

RawHeaders = list[tuple[bytes, bytes]]


def source_of(url: str) -> str | None:
    """The CSP source expression of a tile URL template's origin (``None``: not http(s)).

    A host label holding a template placeholder (``{s}``, ``{0-7}``) becomes the
    wildcard ``*``, which CSP allows only as the leftmost label; elsewhere the
    source falls back to the scheme.

    Examples
    --------
    >>> source_of("https://t{0-7}.tianditu.gov.cn/img_w/wmts?x={x}")
    'https://*.tianditu.gov.cn'
    >>> source_of("http://127.0.0.1:8080/{z}/{x}/{y}.png")
    'http://127.0.0.1:8080'
    >>> source_of("javascript:alert(1)") is None
    True
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = ["*" if "{" in label else label for label in host.split(".")]
    if "*" in labels[1:]:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{'.'.join(labels)}" + (f":{port}" if port else "")


def content_security_policy(basemap_url: str | None = None) -> str:
    """The policy: our origin only, plus the basemap's origin for images and fetches.

    Examples
    --------
    >>> "img-src 'self' data: blob: https://tiles.example.cn" in content_security_policy(
    ...     "https://tiles.example.cn/{z}/{x}/{y}.png")
    True
    >>> "frame-ancestors 'none'" in content_security_policy()
    True
    """
    extra = source_of(basemap_url) if basemap_url else None
    more = f" {extra}" if extra else ""
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data: blob:" + more,
        "connect-src": "'self'" + more,
        "font-src": "'self' data:",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings) -> RawHeaders:
    """The raw (lower-case name, value) pairs added to every response."""
    headers = {"Content-Security-Policy": content_security_policy(settings.web.basemap_url),
               **FIXED_HEADERS}
    return [(name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()]


class SecurityHeadersMiddleware:
    """ASGI middleware adding ``headers`` to each HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, headers: RawHeaders) -> None:
        self.app = app
        self.headers = headers
        self.names = frozenset(name for name, _ in headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                if not self.names.isdisjoint([name for name, _ in raw]):
                    present = {name for name, _ in raw}
                    raw += [h for h in self.headers if h[0] not in present]
                else:
                    raw += self.headers
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
