"""Deny by default: the one gate every route goes through.

Every route of the app requires a signed-in staff user unless its endpoint is
marked :func:`public`; :func:`roles` narrows a route to some roles. The gate
runs as an app-level dependency before the route's own parameters are read, so
a caller without credentials gets 401 and a caller of the wrong role 403 before
anything else happens. Which *objects* a user sees is the business of the SQL
(:meth:`api.auth.principal.Principal.event_sql`).

Credentials: ``Authorization: Bearer TOKEN`` (API clients) or the session
cookie set by sign-in (web pages). A request authenticated by the cookie that
changes something (any method but GET, HEAD, OPTIONS) must carry the session's
CSRF token in ``X-CSRF-Token`` (sign-in and sign-out, marked :func:`csrf_exempt`,
never act with the session they are sent: they replace or end it). On a public
route a session cookie that has ended, or a change sent with the cookie but
without its CSRF token, counts as no credential: a browser whose session expired
still sees the public pages and can sign in again, and a signed-in dispatcher who
reports from a plate page reports as any resident would (never as themselves).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.auth.cache import CredentialCache
from api.auth.principal import Principal, Resolved, resolve
from api.auth.service import hash_secret
from api.deps import get_session, get_state
from api.errors import APIError
from api.validation import check_request_text

logger = logging.getLogger("gridgov.auth")

SESSION_COOKIE = "gridgov_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: a credential's last use is written at most this often
TOUCH_EVERY = timedelta(seconds=60)

F = TypeVar("F", bound=Callable[..., Any])
_PUBLIC: set[Callable[..., Any]] = set()
_ROLES: dict[Callable[..., Any], frozenset[str]] = {}
_NO_CSRF: set[Callable[..., Any]] = set()


def public(endpoint: F) -> F:
    """Mark an endpoint as part of the public surface (no credentials needed)."""
    _PUBLIC.add(endpoint)
    return endpoint


def roles(*names: str) -> Callable[[F], F]:
    """Allow an endpoint to these roles only (403 for the others)."""
    def mark(endpoint: F) -> F:
        _ROLES[endpoint] = frozenset(names)
        return endpoint
    return mark


def csrf_exempt(endpoint: F) -> F:
    """Mark a public endpoint that replaces or ends the caller's session (no CSRF token)."""
    _NO_CSRF.add(endpoint)
    return endpoint


def is_public(endpoint: Callable[..., Any]) -> bool:
    """Whether ``endpoint`` is on the public surface."""
    return endpoint in _PUBLIC


def allowed_roles(endpoint: Callable[..., Any]) -> frozenset[str] | None:
    """The roles allowed on ``endpoint``; None: every staff role."""
    return _ROLES.get(endpoint)


def _credential(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(401, "unauthorized", "use 'Authorization: Bearer TOKEN'")
        return "token", token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    return ("session", cookie) if cookie else None


@contextmanager
def request_session(request: Request) -> Iterator[Session]:
    """A session for the gate, honouring a test's override of ``get_session`` as FastAPI would."""
    override: Any = request.app.dependency_overrides.get(get_session)
    if override is not None:
        yield override()
        return
    session = get_state(request).sessions()
    try:
        yield session
    finally:
        session.close()


@contextmanager
def _credential_reader(request: Request) -> Iterator[Connection | Session]:
    """Where the gate looks a credential up: an autocommit connection.

    The lookup is then one statement, with no transaction to begin and roll back.
    A test's override of ``get_session`` is honoured instead.
    """
    if request.app.dependency_overrides.get(get_session) is not None:
        with request_session(request) as session:
            yield session
        return
    with get_state(request).engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        yield conn


def _touch(request: Request, via: str, credential_id: Any, last_used: Any) -> datetime | None:
    """Record a credential's use, at most every :data:`TOUCH_EVERY`; when it was written."""
    now = datetime.now(UTC)
    if last_used is not None and now - last_used < TOUCH_EVERY:
        return None
    table, column = (("api_tokens", "last_used_at") if via == "token"
                     else ("user_sessions", "last_seen_at"))
    try:  # outside the request's transaction: reads never commit
        with get_state(request).engine.connect() as conn:
            conn.execute(text(f"UPDATE {table} SET {column} = now() WHERE id = :id"),  # noqa: S608 - SQL from trusted parts; values bound
                         {"id": credential_id})
            conn.commit()
    except Exception:  # the last-used time is informative; never fail a request for it
        logger.warning("could not record the last use of a %s", via, exc_info=True)
        return None
    return now


def _authenticate(request: Request, via: str, secret: str) -> Resolved:
    with _credential_reader(request) as conn:
        found = resolve(conn, hash_secret(secret), "token" if via == "token" else "session",
                        request.app.state.scopes)
    if found is None:
        raise APIError(401, "unauthorized", "unknown, expired or revoked token" if via == "token"
                       else "the session has ended; sign in again",
                       headers={"WWW-Authenticate": "Bearer"})
    touched = _touch(request, via, found.credential_id, found.last_used)
    return found if touched is None else replace(found, last_used=touched)


def _csrf_ok(request: Request, principal: Principal, endpoint: Any) -> bool:
    """Whether a change made with the session cookie carries the session's CSRF token."""
    if principal.via != "session" or request.method in SAFE_METHODS or endpoint in _NO_CSRF:
        return True
    sent = request.headers.get(CSRF_HEADER)
    expected = (principal.csrf_token or "").encode()
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected)


def _cache(request: Request) -> CredentialCache | None:
    """The gate's credential cache; None when a test shares its session with the app."""
    if request.app.dependency_overrides.get(get_session) is not None:
        return None
    cache = get_state(request).credentials
    return cache if cache.enabled else None


async def _principal(request: Request, found: tuple[str, str]) -> Principal:
    """Who sent ``found``: from the credential cache while it holds, else the database."""
    via, secret = found
    cache, key, versions = _cache(request), None, None
    if cache is not None:
        versions = await cache.versions()
    if cache is not None and versions is not None:
        key = (via, hash_secret(secret))
        held = cache.get(key, versions)
        if held is not None:
            if held.last_used is None or datetime.now(UTC) - held.last_used >= TOUCH_EVERY:
                touched = await run_in_threadpool(_touch, request, via, held.credential_id,
                                                  held.last_used)
                if touched is not None:
                    cache.touched(key, touched)
            request.state.principal = held.principal
            return held.principal
    resolved = await run_in_threadpool(_authenticate, request, via, secret)
    if cache is not None and key is not None and versions is not None:
        cache.put(key, versions, resolved)
    request.state.principal = resolved.principal
    return resolved.principal


async def gate(request: Request) -> Principal | None:
    """The request's principal; 401/403 unless the route is public or the caller may use it.

    On a public route nothing is looked up (tiles stay as cheap with a session
    cookie as without); an endpoint that wants to know its caller there asks
    for :data:`MaybePrincipal`. First of all, the request's path and query are
    refused with 422 if they hold a NUL (:func:`api.validation.check_request_text`):
    the one app-wide dependency does both, as FastAPI's solving of each dependency
    costs every request, a cached tile too.
    """
    await check_request_text(request)
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    if endpoint is not None and is_public(endpoint):
        return None
    found = _credential(request)
    if found is None:
        raise APIError(401, "unauthorized", "sign in or send 'Authorization: Bearer TOKEN'",
                       headers={"WWW-Authenticate": "Bearer"})
    principal = await _principal(request, found)
    if not _csrf_ok(request, principal, endpoint):
        raise APIError(403, "csrf_failed", "a change made with the session cookie needs the "
                       "session's X-CSRF-Token header (GET /api/v1/auth/me gives it)")
    allowed = allowed_roles(endpoint) if endpoint is not None else None
    if allowed is not None and principal.role not in allowed:
        raise APIError(403, "forbidden", f"role {principal.role!r} may not use this; roles "
                       f"allowed: {', '.join(sorted(allowed))}")
    return principal


async def optional_principal(request: Request,
                             gated: Annotated[Principal | None, Depends(gate)]
                             ) -> Principal | None:
    """The caller of a public route when credentials came with it.

    A bad bearer token is 401. A browser whose session ended, or a change made
    with the cookie but without the CSRF token (a report from a plate page), is
    anonymous: a resident's, never filed under the user's name.
    """
    if gated is not None:
        return gated
    found = _credential(request)
    if found is None:
        return None
    try:
        principal = await _principal(request, found)
    except APIError:
        if found[0] == "session":
            return None
        raise
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return principal if _csrf_ok(request, principal, endpoint) else None


async def require_staff(principal: Annotated[Principal | None, Depends(gate)]) -> Principal:
    """The signed-in user of a staff route (the gate has already refused anyone else)."""
    if principal is None:  # only reachable on a public route that asks for a user
        raise APIError(401, "unauthorized", "sign in or send 'Authorization: Bearer TOKEN'",
                       headers={"WWW-Authenticate": "Bearer"})
    return principal


#: the caller of a public route, None when anonymous
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
#: the signed-in staff caller
Staff = Annotated[Principal, Depends(require_staff)]
