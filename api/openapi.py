"""The error responses of every route, documented in one place.

FastAPI documents what a route returns when it succeeds and a 422 whose body is
not ours. :func:`document_errors` makes ``app.openapi()`` also list, for each
operation, the errors it can answer and their body ``{code, message, details?}``
(:func:`api.errors.error_body`), by the kind of route:

=====  ==========================================================================
401    every route: credentials missing on a staff route, or not valid on any route
403    staff routes: the role, the scope or the CSRF token does not allow it
404    routes with path parameters: no such object
422    routes with parameters or a body: a value is not valid (400 for a route
       class whose format says so, such as Open311's)
400    routes with a body: it cannot be parsed (malformed JSON, form or multipart)
413    routes with a body: it is too large
415    routes taking uploads (multipart): a file of a type the route does not take
429    changes on the public surface (rate limits) and routes whose router says so
503    every route: the database is unavailable
=====  ==========================================================================

A router or route adds a status of its own (analytics' 429, an action's 409)
with ``responses={status: {"description": ...}}``; the body schema is added
here. A route class whose errors take another form (Open311's array of
``{code, description}``, OGC's 400 for a bad parameter) sets ``error_format``
to an :class:`ErrorFormat`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from api.auth.access import is_public

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "machine-readable, e.g. invalid_parameter"},
        "message": {"type": "string", "description": "what is wrong and how to fix it"},
        "details": {"description": "more about the error (the invalid fields, suggestions)"},
    },
    "additionalProperties": False,
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class ErrorFormat:
    """How a route's errors look: their content by media type, the status of bad input."""

    content: dict[str, Any] = field(default_factory=lambda: {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
    invalid_input: int = 422


DEFAULT_FORMAT = ErrorFormat()

DESCRIPTIONS = {
    400: "a parameter is not valid, or the body cannot be parsed (malformed JSON or form)",
    401: "credentials are missing or not valid ('Authorization: Bearer TOKEN' or sign in)",
    403: "your role, your scope or the CSRF token does not allow this",
    404: "not found",
    409: "the change conflicts with the object's current state",
    413: "the request body is too large",
    415: "an uploaded file is not of a type this route takes",
    422: "a parameter or a body field is not valid",
    429: "too many requests or a computation of this kind is already running; "
         "retry after the Retry-After header's seconds",
    503: "the database is unavailable; retry after the Retry-After header's seconds",
}
RETRY_AFTER = {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
PUBLIC_401 = "credentials were sent but are not valid (this route needs none)"


def error_statuses(method: str, operation: dict[str, Any], public: bool,
                   invalid_input: int = 422) -> dict[int, str]:
    """The error statuses an operation can answer, each with what it means.

    Examples
    --------
    >>> sorted(error_statuses("GET", {"parameters": [{"in": "path"}]}, public=True))
    [401, 404, 422, 503]
    >>> sorted(error_statuses("POST", {"requestBody": {"content": {}}}, public=False))
    [400, 401, 403, 413, 422, 503]
    """
    params = operation.get("parameters", [])
    body = operation.get("requestBody", {}).get("content")
    statuses = {401: PUBLIC_401 if public else DESCRIPTIONS[401], 503: DESCRIPTIONS[503]}
    if not public:
        statuses[403] = DESCRIPTIONS[403]
    if any(p.get("in") == "path" for p in params):
        statuses[404] = DESCRIPTIONS[404]
    if params or body is not None:
        statuses[invalid_input] = DESCRIPTIONS[invalid_input]
    if body is not None:
        statuses[400] = DESCRIPTIONS[400]
        statuses[413] = DESCRIPTIONS[413]
    if body and any(media.startswith("multipart/") for media in body):
        statuses[415] = DESCRIPTIONS[415]
    if public and method not in SAFE_METHODS:
        statuses[429] = DESCRIPTIONS[429]
    return statuses


def _fastapis_422(response: dict[str, Any]) -> bool:
    return "HTTPValidationError" in json.dumps(response.get("content", {}))


def _document(operation: dict[str, Any], method: str, route: BaseRoute,
              endpoint: Callable[..., Any]) -> None:
    fmt: ErrorFormat = getattr(route, "error_format", DEFAULT_FORMAT)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if _fastapis_422(responses.get("422", {})):  # not our body, maybe not our status
        del responses["422"]
    statuses = error_statuses(method, operation, is_public(endpoint), fmt.invalid_input)
    for code, description in statuses.items():
        responses.setdefault(str(code), {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            response.setdefault("description", DESCRIPTIONS.get(int(status), "error"))
            response.setdefault("content", fmt.content)
        if status in ("429", "503"):
            response.setdefault("headers", {"Retry-After": RETRY_AFTER})


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name in names:
        kept = {k: v for k, v in components.items() if k != name}
        if f"#/components/schemas/{name}" not in json.dumps({**schema, "components": kept}):
            components.pop(name, None)


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list the error responses of every operation (module doc)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for route in iter_route_contexts(app.routes):
            for method in route.methods or ():
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None and route.endpoint is not None:  # not /docs, hidden
                    _document(operation, method, route.original_route, route.endpoint)
        _drop_unused(schema, ("HTTPValidationError", "ValidationError"))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
