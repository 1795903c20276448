"""Sign-in, sign-out and who is signed in (users and tokens for admins: :mod:`api.auth.admin`).

Sign-in answers the session cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/``,
``Secure`` when the request is https) and the session's CSRF token; a failure
never says whether the name or the password was wrong. Failed sign-ins are
throttled per account and per client address (:mod:`api.auth.throttle`).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api import STATIC_DIR
from api.audit.deps import client_address
from api.audit.service import Actor, record
from api.auth import admin, service
from api.auth.access import SESSION_COOKIE, Staff, csrf_exempt, public
from api.auth.models import User
from api.auth.schemas import MeOut, ScopeOut, SignInIn, SignInOut, scope_out
from api.auth.throttle import SignInThrottle
from api.deps import SessionDep, SettingsDep
from api.errors import APIError
from api.routing import Router
from api.settings import Settings

logger = logging.getLogger("gridgov.auth")
router = Router(tags=["auth"])

FORM = "application/x-www-form-urlencoded"
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\x00-\x1f\\]*$")


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: ``target`` when it is a path of this site, else ``/``.

    Examples
    --------
    >>> safe_next("/?layer=events"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/?layer=events', '/', '/')
    """
    return target if target and len(target) <= 2000 and _SAFE_NEXT.match(target) else "/"


# -- sign-in -------------------------------------------------------------------------------
async def sign_in_body(request: Request) -> tuple[SignInIn, bool]:
    """The sign-in body, JSON or form-encoded, and whether it came from a form post."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form = kind == FORM
    if form:
        data: Any = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    elif kind == "application/json":
        try:
            data = await request.json()
        except (ValueError, RecursionError):
            raise APIError(422, "invalid_json", "the body is not valid JSON") from None
    else:
        raise APIError(415, "unsupported_media_type",
                       f"send application/json or {FORM}, not {kind or 'nothing'}")
    try:
        return SignInIn.model_validate(data), form
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors(include_context=False)]) from None


def _record_sign_in(request: Request, session: Session, name: str, user: User | None) -> None:
    """Write the audit row of a sign-in attempt; a refused one is committed at once."""
    address = client_address(request)
    if user is not None:
        logger.info("sign-in: %r from %s", name[:100], address)
        record(session, actor=Actor(user.name, user.id, user.role, address),
               action="auth.login", object_type="user", object_id=user.id)
        return
    logger.warning("sign-in refused: %r from %s", name[:100], address)
    record(session, actor=Actor("anonymous", address=address), action="auth.login_failed",
           object_type="user", details={"name": name[:100]})
    session.commit()


def _is_https(request: Request, settings: Settings) -> bool:
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return settings.auth.trust_forwarded_proto and forwarded == "https"


def _secure_cookie(request: Request, settings: Settings) -> bool:
    mode = settings.auth.secure_cookies
    return _is_https(request, settings) if mode == "auto" else bool(mode)


def _check_origin(request: Request, settings: Settings) -> None:
    """Refuse a sign-in posted by another site's page (a browser sends its Origin)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    ours = {request.url.netloc, urlsplit(settings.api.base_url(str(request.base_url))).netloc}
    if urlsplit(origin).netloc not in ours:
        raise APIError(403, "csrf_failed", "sign in from this site's own sign-in page")


def _authenticate(request: Request, session: Session, settings: Settings,
                  body: SignInIn) -> User:
    """The user of a correct name and password; 401/429 otherwise, counted by the throttle."""
    _check_origin(request, settings)
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = client_address(request)
    wait = throttle.retry_after(body.name, address)
    if wait is not None:
        _record_sign_in(request, session, body.name, None)
        raise APIError(429, "too_many_attempts", f"too many failed sign-ins; try again in "
                       f"{wait} s", headers={"Retry-After": str(wait)})
    user = service.sign_in(session, body.name, body.password)
    if user is None:
        throttle.failed(body.name, address)
        _record_sign_in(request, session, body.name, None)
        raise APIError(401, "invalid_credentials", "wrong name or password")
    throttle.succeeded(body.name)
    _record_sign_in(request, session, user.name, user)
    return user


def _back_to_form(exc: APIError, next_path: str | None) -> RedirectResponse:
    query: dict[str, str] = {"error": exc.code}
    if exc.headers and "Retry-After" in exc.headers:
        query["retry"] = exc.headers["Retry-After"]
    if next_path and safe_next(next_path) != "/":
        query["next"] = next_path
    return RedirectResponse(f"/sign-in?{urlencode(query)}", status_code=303)


_SIGN_IN_BODY = {"required": True, "content": {
    "application/json": {"schema": SignInIn.model_json_schema()},
    FORM: {"schema": SignInIn.model_json_schema()}}}


@router.post("/api/v1/auth/login", response_model=SignInOut,
             openapi_extra={"requestBody": _SIGN_IN_BODY},
             responses={303: {"description": "form posts: to `next`, or back to the sign-in "
                                             "page with `?error=`"},
                        401: {"description": "`invalid_credentials`"},
                        403: {"description": "`csrf_failed`: posted by another site's page"},
                        415: {"description": "neither JSON nor a form post"},
                        422: {"description": "`invalid_parameter`, `invalid_json`"},
                        429: {"description": "`too_many_attempts`, with `Retry-After`"}})
@public
@csrf_exempt
def login(request: Request, given: Annotated[tuple[SignInIn, bool], Depends(sign_in_body)],
          session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in with a name and a password: sets the session cookie, answers the CSRF token."""
    body, form = given
    try:
        user = _authenticate(request, session, settings, body)
    except APIError as exc:
        if form:
            return _back_to_form(exc, body.next)
        raise
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        service.end_session(session, old)
    row, cookie = service.start_session(
        session, user, hours=settings.auth.session_hours, address=client_address(request),
        user_agent=request.headers.get("user-agent"))
    out = SignInOut(user=ScopeOut(**scope_out(user, service.department_code(session, user))),
                    csrf_token=row.csrf_token)
    session.commit()
    response: Response = (RedirectResponse(safe_next(body.next), status_code=303) if form
                          else JSONResponse(out.model_dump(mode="json")))
    response.set_cookie(SESSION_COOKIE, cookie, max_age=round(settings.auth.session_hours * 3600),
                        path="/", httponly=True, samesite="strict",
                        secure=_secure_cookie(request, settings))
    return response


@router.post("/api/v1/auth/logout", status_code=204, response_class=Response,
             responses={303: {"description": "form posts: to the sign-in page"}})
@public
@csrf_exempt
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign out: ends the session of the cookie and clears it."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_session(session, cookie)
        session.commit()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    response = (RedirectResponse("/sign-in", status_code=303) if kind == FORM
                else Response(status_code=204))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure_cookie(request, settings))
    return response


@router.get("/api/v1/auth/me", response_model=MeOut)
def me(principal: Staff, session: SessionDep) -> MeOut:
    """Who you are: role, scope, how you signed in (and the CSRF token of a cookie session)."""
    user = session.get(User, principal.id)
    assert user is not None  # noqa: S101 - the gate found them a moment ago
    return MeOut(**scope_out(user, service.department_code(session, user)),
                 via=principal.via, csrf_token=principal.csrf_token)


@router.get("/sign-in", include_in_schema=False)
@public
def sign_in_page() -> FileResponse:
    """The sign-in page."""
    return FileResponse(STATIC_DIR / "sign-in.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


router.include_router(admin.router)  # users and tokens, for admins
