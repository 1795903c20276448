"""The edge's answers in the OpenAPI document: what every route may return besides its own.

Added once, when the document is built: 413 ``too_large`` and 422 (``invalid_json``
among others) on every operation that takes a body, 415 and 413 ``image_too_large``
on the photo uploads, 429 ``rate_limited`` with ``Retry-After`` on the rate-limited
operations (:data:`api.security.ratelimit.RATE_LIMITED_ROUTES`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.security.ratelimit import RATE_LIMITED_ROUTES

_ERROR = {"application/json": {"schema": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "details": {}}}}}

BODY_RESPONSES = {
    "413": {"description": "`too_large`: the body is over its limit", "content": _ERROR},
    "422": {"description": "invalid body (`invalid_json`: nested too deep, or another "
                           "invalid parameter)", "content": _ERROR},
}
PHOTO_RESPONSES = {
    "413": {"description": "`too_large` (body or photo bytes) or `image_too_large` "
                           "(pixels, from the header)", "content": _ERROR},
    "415": {"description": "`unsupported_media_type`: not JPEG, PNG or WebP by its bytes",
            "content": _ERROR},
}
RATE_LIMITED = {"description": "`rate_limited`: too many requests from this client",
                "headers": {"Retry-After": {"description": "seconds to wait",
                                            "schema": {"type": "integer"}}},
                "content": _ERROR}
#: operations that take photos
PHOTO_OPERATIONS = {("post", "/api/v1/events"), ("post", "/api/v1/buildings/scan")}


def _add(operation: dict[str, Any], responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        operation.setdefault("responses", {}).setdefault(status, response)


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    limited = {(r.method.lower(), r.documented) for r in RATE_LIMITED_ROUTES}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                _add(operation, BODY_RESPONSES)
            if (method, path) in PHOTO_OPERATIONS:
                _add(operation, PHOTO_RESPONSES)
            if (method, path) in limited:
                _add(operation, {"429": RATE_LIMITED})
    return schema


def document_edge_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` list the edge's responses on the operations they apply to."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
