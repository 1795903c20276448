"""Map domain errors to HTTP responses, in one table registered by one function.

Every error response is JSON ``{"code": ..., "message": ...}`` (plus ``details``
where useful). SQL and tracebacks never reach the user; only 5xx are logged
with their traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis_core import errors as gis

logger = logging.getLogger("gridgov")

#: The code of a refusal of text PostgreSQL cannot store (see ``api.validation``).
INVALID_TEXT = "invalid_text"
#: validation error types that mean unstorable text (pydantic's own: lone surrogates)
_TEXT_ERRORS = frozenset({INVALID_TEXT, "string_unicode"})
#: The SQLSTATE of the calendar functions (migration 0014) for a time outside a calendar.
OUTSIDE_CALENDAR_STATE = "GGC01"
#: Seconds a client is asked to wait (``Retry-After``) when the database is unavailable.
RETRY_AFTER_SECONDS = 5

STATUS_CODES: dict[type[Exception], int] = {
    gis.MissingDependency: 500,
    gis.NotFound: 404,
    gis.Conflict: 409,
    gis.CRSMismatch: 422,
    gis.InvalidGeometry: 422,
    gis.InvalidInput: 422,
    gis.OutsideJurisdiction: 422,
    gis.TopologyError: 422,
    gis.GisError: 400,
}


class APIError(gis.GisError):
    """An error raised by the web layer with an explicit status."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None, **details: object) -> None:
        super().__init__(message, code=code, **details)
        self.status = status
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body


def status_of(exc: gis.GisError) -> int:
    """The HTTP status of a domain error (the table above; an APIError's own)."""
    if isinstance(exc, APIError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400


def _retry_after(status: int) -> dict[str, str] | None:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None


async def _gis_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, gis.GisError)  # noqa: S101 - an invariant, for the type checker
    status = status_of(exc)
    return JSONResponse(error_body(exc.code, exc.message, exc.details or None),
                        status_code=status,
                        headers=getattr(exc, "headers", None) or _retry_after(status))


def database_error(exc: BaseException) -> APIError | None:
    """The answer to a database failure that is not the server's fault, or None.

    - a statement cancelled by ``statement_timeout``: 503 ``query_timeout``;
    - no connection (refused, lost, the server shutting down or starting up, no
      connection free in the pool): 503 ``database_unavailable``;
    - text the driver refused to send (NUL characters): 422 ``invalid_text``;
    - a deadline outside the years of its working calendar: 422 ``outside_calendar``.

    The HTTP handlers and the intake writer (for one report) answer with it;
    anything else is a 500.
    """
    orig = exc.orig if isinstance(exc, sa.DBAPIError) else exc
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return APIError(503, "query_timeout", "the database took too long to answer and the "
                        "query was cancelled; retry later or narrow the request")
    lost = (isinstance(exc, sa.TimeoutError)
            or isinstance(orig, psycopg.OperationalError | psycopg.InterfaceError)
            or (isinstance(exc, sa.DBAPIError) and exc.connection_invalidated))
    if lost:
        return APIError(503, "database_unavailable", "the database is unavailable; retry "
                        "in a few seconds")
    if isinstance(orig, psycopg.Error) and orig.sqlstate == OUTSIDE_CALENDAR_STATE:
        return APIError(422, "outside_calendar", str(orig.diag.message_primary))
    if isinstance(orig, psycopg.DataError) and "NUL" in str(orig):
        return APIError(422, INVALID_TEXT, "text must not contain NUL characters")
    return None


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    answer = database_error(exc)
    if answer is None:
        return await _unexpected(request, exc)
    logger.warning("%s on %s %s: %s", answer.code, request.method, request.url.path, exc)
    return await _gis_error(request, answer)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    where = {"query": "query parameter", "path": "path parameter", "body": "body field",
             "header": "header"}.get(loc[0] if loc else "", "parameter")
    name = ".".join(loc[1:]) or "(body)"
    return f"{where} '{name}': {error.get('msg', 'invalid')}"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - an invariant, for the type checker
    errs = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()]
    message = "; ".join(_describe(e) for e in exc.errors())
    code = INVALID_TEXT if any(e["type"] in _TEXT_ERRORS for e in errs) else "invalid_parameter"
    return JSONResponse(error_body(code, message, errs), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - an invariant, for the type checker
    code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized",
            403: "forbidden", 413: "too_large", 415: "unsupported_media_type"}.get(
        exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def add_exception_handlers(app: FastAPI) -> None:
    """Register the error table on ``app``."""
    app.add_exception_handler(gis.GisError, _gis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa.SQLAlchemyError, _database_error)
    app.add_exception_handler(psycopg.Error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
