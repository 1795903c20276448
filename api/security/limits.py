"""Request body limits on every route: size counted while streaming, JSON depth bounded.

One ASGI middleware, before any route reads a body:

- A body larger than its limit is refused with 413 ``too_large``: at once when
  ``Content-Length`` says so, otherwise as soon as the bytes received pass it (a
  200 MB body is never held whole). Multipart bodies may be as large as the
  route's photos allow (``GRIDGOV_EVENTS_MAX_PHOTOS`` x ``..._MAX_PHOTO_BYTES`` plus
  1 MB for the other fields on the intake, one photo on the QR scan; a grid
  layer's new version ``GRIDGOV_API_MAX_UPLOAD_BYTES``); every other
  body at most ``GRIDGOV_API_MAX_JSON_BYTES`` (``/api/v1/assign``:
  ``GRIDGOV_API_MAX_ASSIGN_BYTES``).
- A JSON body (a ``json`` or ``+json`` type, or any body that starts with ``[`` or
  ``{``: the declared type is not trusted) nested deeper than
  ``GRIDGOV_API_MAX_JSON_DEPTH`` is refused with 422 ``invalid_json`` before a
  parser sees it; :func:`check_json_depth` is the same rule for JSON found
  inside a form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import APIError, error_body
from api.settings import Settings

#: room for the form fields beside the photos of a multipart body
MULTIPART_SLACK = 1_000_000

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


class BodyTooLarge(HTTPException):
    """The body passed its limit while a route was reading it (answered 413 ``too_large``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit:,} bytes")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets in strings skipped).

    Examples
    --------
    >>> json_depth(b'{"a": [[1, 2], {"b": "[[["}]}')
    3
    >>> json_depth(b"42")
    0
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int32).max())


def check_json_depth(body: bytes | str, limit: int, where: str = "body") -> None:
    """Refuse JSON nested deeper than ``limit`` (422 ``invalid_json``), before parsing it.

    Examples
    --------
    >>> check_json_depth(b"[[[]]]", 3)
    >>> check_json_depth(b"[[[[]]]]", 3)
    Traceback (most recent call last):
    ...
    api.errors.APIError: body: JSON nested 4 deep; at most 3 levels are accepted
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if raw.count(b"[") + raw.count(b"{") <= limit:  # cannot be deeper: no scan
        return
    depth = json_depth(raw)
    if depth > limit:
        raise APIError(422, "invalid_json",
                       f"{where}: JSON nested {depth} deep; at most {limit} levels are accepted",
                       depth=depth, max_depth=limit)


def _is_json(content_type: str, body: bytes) -> bool:
    mime = content_type.partition(";")[0].strip().lower()
    return mime.endswith(("/json", "+json")) or body.lstrip()[:1] in (b"[", b"{")


@dataclass(frozen=True)
class BodyLimits:
    """The limits of one app (see the module docstring)."""

    max_bytes: int
    max_depth: int
    multipart_routes: dict[str, int] = field(default_factory=dict)
    large_routes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """The limits that ``settings`` configure."""
        photo, count = settings.events.max_photo_bytes, settings.events.max_photos
        return cls(max_bytes=settings.api.max_json_bytes,
                   max_depth=settings.api.max_json_depth,
                   multipart_routes={"/api/v1/events": count * photo + MULTIPART_SLACK,
                                     "/api/v1/buildings/scan": photo + MULTIPART_SLACK,
                                     "/api/v1/grid-versions": settings.api.max_upload_bytes},
                   large_routes={"/api/v1/assign": settings.api.max_assign_bytes})

    def limit_for(self, path: str, multipart: bool) -> int:
        """The largest body accepted on ``path``."""
        if multipart and path in self.multipart_routes:
            return self.multipart_routes[path]
        return self.large_routes.get(path, self.max_bytes)


_BODY_HEADERS = (b"content-length", b"transfer-encoding", b"content-type")


def _body_headers(scope: Scope) -> dict[bytes, str]:
    """Content-Length, Transfer-Encoding and Content-Type of a request, in one pass."""
    return {key: value.decode("latin-1") for key, value in scope["headers"]
            if key in _BODY_HEADERS}


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                  message: str) -> None:
    await JSONResponse(error_body(code, message), status_code=status)(scope, receive, send)


class BodyLimitMiddleware:
    """ASGI middleware enforcing :class:`BodyLimits` on every HTTP request."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a body over its limit or too deep; pass the others on."""
        found = _body_headers(scope) if scope["type"] == "http" else {}
        length = found.get(b"content-length")
        if length is None and b"transfer-encoding" not in found:
            await self.app(scope, receive, send)  # no body (or not HTTP): nothing to check
            return
        ctype = found.get(b"content-type", "")
        multipart = ctype.lower().startswith("multipart/")
        limit = self.limits.limit_for(scope["path"], multipart)
        if length is not None and length.isdigit() and int(length) > limit:
            await _refuse(scope, receive, send, 413, "too_large",
                          f"the request body is over {limit:,} bytes")
            return
        if multipart:  # streamed to the form parser, counted on the way
            await self.app(scope, _counting(receive, limit), send)
            return
        body = await _read_at_most(receive, limit)
        if body is None:
            await _refuse(scope, receive, send, 413, "too_large",
                          f"the request body is over {limit:,} bytes")
            return
        if _is_json(ctype, body):
            try:
                check_json_depth(body, self.limits.max_depth)
            except APIError as exc:
                await _refuse(scope, receive, send, 422, exc.code, exc.message)
                return
        await self.app(scope, _replay(body, receive), send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or ``None`` as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect

    return replayed
