"""Sign-in, sign-out and who is signed in; users and their API tokens for admins.

Sign-in answers the session cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/``,
``Secure`` when the request is https) and the session's CSRF token; a failure
never says whether the name or the password was wrong. Failed sign-ins are
throttled per account and per client address (:mod:`api.auth.throttle`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from api.auth import service
from api.auth.access import SESSION_COOKIE, Staff, csrf_exempt, public, roles
from api.auth.models import ROLES, ApiToken, User
from api.auth.throttle import SignInThrottle
from api.deps import SessionDep, SettingsDep
from api.errors import APIError
from api.routers.web import STATIC_DIR
from api.settings import Settings

logger = logging.getLogger("gridgov.auth")
router = APIRouter(tags=["auth"])

FORM = "application/x-www-form-urlencoded"
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\x00-\x1f\\]*$")


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogates") from None
    return value


#: text PostgreSQL can store (no NUL, no lone surrogate)
Text = Annotated[str, AfterValidator(_storable)]
Name = Annotated[Text, Field(min_length=1, max_length=100)]
Password = Annotated[Text, Field(min_length=1, max_length=1000)]
Code = Annotated[Text, Field(min_length=1, max_length=32)]
Role = Annotated[Text, Field(max_length=16, description=f"one of {', '.join(ROLES)}",
                            json_schema_extra={"enum": list(ROLES)})]
UserName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: ``target`` when it is a path of this site, else ``/``.

    Examples
    --------
    >>> safe_next("/?layer=events"), safe_next("//evil.example/"), safe_next("https://x/")
    ('/?layer=events', '/', '/')
    """
    return target if target and len(target) <= 2000 and _SAFE_NEXT.match(target) else "/"


# -- bodies and answers --------------------------------------------------------------------
class SignInIn(BaseModel):
    """A name and a password (JSON, or a form post of the sign-in page)."""

    model_config = ConfigDict(extra="ignore")
    name: Name
    password: Password
    next: Annotated[Text | None, Field(max_length=2000, description="form posts: where to "
                                       "go after signing in (a path of this site)")] = None


class ScopeOut(BaseModel):
    """A user's role and scope as an admin set them."""

    name: str
    role: str
    department: str | None = Field(description="department code (handlers)")
    areas: list[str] = Field(description="admin area codes (each with the areas below it)")
    grids: list[str] = Field(description="grid codes")


class MeOut(ScopeOut):
    """The signed-in user, how they signed in, and the CSRF token of a cookie session."""

    via: Literal["token", "session"]
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token on changes made "
                                   "with the session cookie")


class SignInOut(BaseModel):
    """The signed-in user and the CSRF token of their new session."""

    user: ScopeOut
    csrf_token: str


class UserOut(ScopeOut):
    """A user as admins list them."""

    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class TokenOut(BaseModel):
    """An API token (never its secret, which is shown once)."""

    id: int
    user: str
    name: str
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewTokenOut(TokenOut):
    """A new token with its secret, shown this once."""

    token: str = Field(description="the bearer token; only its hash is stored")


class NewUserOut(BaseModel):
    """A new user and their first API token (shown this once)."""

    user: UserOut
    token: str


class UserIn(BaseModel):
    """A new staff user."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    role: Role
    department: Code | None = None
    areas: Annotated[list[Code], Field(max_length=1000)] = []
    grids: Annotated[list[Code], Field(max_length=10_000)] = []
    password: Password | None = Field(None, description="at least 10 characters; without "
                                      "one the user signs in with API tokens only")


class UserPatch(BaseModel):
    """Changes to a user (omitted fields stay as they are)."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    department: Annotated[Text | None, Field(max_length=32, description="a department "
                                             "code; empty: none")] = None
    areas: Annotated[list[Code] | None, Field(max_length=1000)] = None
    grids: Annotated[list[Code] | None, Field(max_length=10_000)] = None
    active: bool | None = Field(None, description="false: signs the user out everywhere "
                                "and stops their tokens")
    password: Password | None = None


class TokenIn(BaseModel):
    """A new API token."""

    model_config = ConfigDict(extra="forbid")
    name: Name = "token"
    expires: Annotated[Text | None, Field(max_length=12, description="lifetime such as 12h, "
                                          "30d or 8w; omitted: until revoked")] = None


def _scope_out(user: User, department: str | None) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "department": department,
            "areas": list(user.area_codes or ()), "grids": list(user.grid_codes or ())}


def _user_out(user: User, department: str | None, last_sign_in: datetime | None) -> UserOut:
    return UserOut(**_scope_out(user, department), active=user.active,
                   created_at=user.created_at, last_sign_in_at=last_sign_in)


def _token_out(token: ApiToken, user: User) -> dict[str, Any]:
    return {"id": token.id, "user": user.name, "name": token.name,
            "state": service.token_state(token), "created_at": token.created_at,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at,
            "last_used_at": token.last_used_at}


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


def _record_sign_in(request: Request, name: str, ok: bool) -> None:
    """Record a sign-in attempt (the audit trail will write its row here)."""
    address = _client_address(request)
    if ok:
        logger.info("sign-in: %r from %s", name[:100], address)
    else:
        logger.warning("sign-in refused: %r from %s", name[:100], address)


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


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
    ours = {request.url.netloc, urlsplit(settings.api.public_base_url).netloc}
    if urlsplit(origin).netloc not in ours:
        raise APIError(403, "csrf_failed", "sign in from this site's own sign-in page")


def _authenticate(request: Request, session: Session, settings: Settings,
                  body: SignInIn) -> User:
    """The user of a correct name and password; 401/429 otherwise, counted by the throttle."""
    _check_origin(request, settings)
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = _client_address(request)
    wait = throttle.retry_after(body.name, address)
    if wait is not None:
        _record_sign_in(request, body.name, False)
        raise APIError(429, "too_many_attempts", f"too many failed sign-ins; try again in "
                       f"{wait} s", headers={"Retry-After": str(wait)})
    user = service.sign_in(session, body.name, body.password)
    if user is None:
        throttle.failed(body.name, address)
        _record_sign_in(request, body.name, False)
        raise APIError(401, "invalid_credentials", "wrong name or password")
    throttle.succeeded(body.name)
    _record_sign_in(request, user.name, True)
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
        session, user, hours=settings.auth.session_hours, address=_client_address(request),
        user_agent=request.headers.get("user-agent"))
    out = SignInOut(user=ScopeOut(**_scope_out(user, service.department_code(session, user))),
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
    assert user is not None  # the gate found them a moment ago
    return MeOut(**_scope_out(user, service.department_code(session, user)),
                 via=principal.via, csrf_token=principal.csrf_token)


@router.get("/sign-in", include_in_schema=False)
@public
def sign_in_page() -> FileResponse:
    """The sign-in page."""
    return FileResponse(STATIC_DIR / "sign-in.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


# -- users and tokens (admins) -------------------------------------------------------------
@router.get("/api/v1/users", response_model=list[UserOut])
@roles("admin")
def list_users(session: SessionDep) -> list[UserOut]:
    """Every user with their role, scope, state, creation and last sign-in (admins)."""
    return [_user_out(*row) for row in service.list_users(session)]


def _listed(session: Session, user: User) -> UserOut:
    return _user_out(*service.list_users(session, user_id=user.id)[0])


@router.post("/api/v1/users", status_code=201, response_model=NewUserOut)
@roles("admin")
def create_user(body: UserIn, session: SessionDep) -> NewUserOut:
    """Create a user; answers it with its first API token, shown this once (admins)."""
    user, token = service.create_user(session, name=body.name, role=body.role,
                                      department=body.department, grids=body.grids,
                                      areas=body.areas, password=body.password)
    session.commit()
    return NewUserOut(user=_listed(session, user), token=token)


@router.patch("/api/v1/users/{name}", response_model=UserOut)
@roles("admin")
def update_user(name: UserName, body: UserPatch, session: SessionDep) -> UserOut:
    """Change a user's role, scope, password or state; disabling signs them out (admins)."""
    user = service.user_by_name(session, name)
    service.update_user(session, user, role=body.role, department=body.department,
                        grids=body.grids, areas=body.areas, active=body.active,
                        password=body.password)
    session.commit()
    return _listed(session, user)


@router.get("/api/v1/users/{name}/tokens", response_model=list[TokenOut])
@roles("admin")
def list_tokens(name: UserName, session: SessionDep) -> list[dict[str, Any]]:
    """A user's API tokens with expiry, revocation and last use, never the secrets (admins)."""
    user = service.user_by_name(session, name)
    return [_token_out(t, user) for t in service.tokens_of(session, user)]


@router.post("/api/v1/users/{name}/tokens", status_code=201, response_model=NewTokenOut)
@roles("admin")
def create_token(name: UserName, body: TokenIn, session: SessionDep) -> dict[str, Any]:
    """A new API token of a user, shown this once (admins)."""
    user = service.user_by_name(session, name)
    expires = service.parse_duration(body.expires) if body.expires else None
    row, token = service.create_token(session, user, name=body.name, expires=expires)
    session.commit()
    session.refresh(row)
    return {**_token_out(row, user), "token": token}


@router.delete("/api/v1/tokens/{token_id}", response_model=TokenOut)
@roles("admin")
def revoke_token(token_id: TokenId, session: SessionDep) -> dict[str, Any]:
    """Revoke an API token: it stops working at once (admins)."""
    row = service.revoke_token(session, token_id)
    session.commit()
    user = session.get(User, row.user_id)
    assert user is not None
    return _token_out(row, user)
