"""The bodies and answers of sign-in, users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import service
from api.auth.models import ROLES, ApiToken, User


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


def scope_out(user: User, department: str | None) -> dict[str, Any]:
    """The fields of :class:`ScopeOut` of ``user``."""
    return {"name": user.name, "role": user.role, "department": department,
            "areas": list(user.area_codes or ()), "grids": list(user.grid_codes or ())}


def user_out(user: User, department: str | None, last_sign_in: datetime | None) -> UserOut:
    """``user`` as admins list them."""
    return UserOut(**scope_out(user, department), active=user.active,
                   created_at=user.created_at, last_sign_in_at=last_sign_in)


def token_out(token: ApiToken, user: User) -> dict[str, Any]:
    """The fields of :class:`TokenOut` of ``token``."""
    return {"id": token.id, "user": user.name, "name": token.name,
            "state": service.token_state(token), "created_at": token.created_at,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at,
            "last_used_at": token.last_used_at}
