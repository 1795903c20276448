"""Users and their API tokens, for admins: list, create, change, disable, revoke."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.audit.deps import AuditActor
from api.auth import service
from api.auth.access import roles
from api.auth.models import User
from api.auth.schemas import (
    NewTokenOut,
    NewUserOut,
    TokenId,
    TokenIn,
    TokenOut,
    UserIn,
    UserName,
    UserOut,
    UserPatch,
    token_out,
    user_out,
)
from api.deps import SessionDep
from api.routing import Router

router = Router(tags=["users"])


@router.get("/api/v1/users", response_model=list[UserOut])
@roles("admin")
def list_users(session: SessionDep) -> list[UserOut]:
    """Every user with their role, scope, state, creation and last sign-in (admins)."""
    return [user_out(*row) for row in service.list_users(session)]


def _listed(session: Session, user: User) -> UserOut:
    return user_out(*service.list_users(session, user_id=user.id)[0])


@router.post("/api/v1/users", status_code=201, response_model=NewUserOut)
@roles("admin")
def create_user(body: UserIn, session: SessionDep, actor: AuditActor) -> NewUserOut:
    """Create a user; answers it with its first API token, shown this once (admins)."""
    user, token = service.create_user(session, name=body.name, role=body.role,
                                      department=body.department, grids=body.grids,
                                      areas=body.areas, password=body.password, by=actor)
    session.commit()
    return NewUserOut(user=_listed(session, user), token=token)


@router.patch("/api/v1/users/{name}", response_model=UserOut)
@roles("admin")
def update_user(name: UserName, body: UserPatch, session: SessionDep,
                actor: AuditActor) -> UserOut:
    """Change a user's role, scope, password or state; disabling signs them out (admins)."""
    user = service.user_by_name(session, name)
    service.update_user(session, user, role=body.role, department=body.department,
                        grids=body.grids, areas=body.areas, active=body.active,
                        password=body.password, by=actor)
    session.commit()
    return _listed(session, user)


@router.get("/api/v1/users/{name}/tokens", response_model=list[TokenOut])
@roles("admin")
def list_tokens(name: UserName, session: SessionDep) -> list[dict[str, Any]]:
    """A user's API tokens with expiry, revocation and last use, never the secrets (admins)."""
    user = service.user_by_name(session, name)
    return [token_out(t, user) for t in service.tokens_of(session, user)]


@router.post("/api/v1/users/{name}/tokens", status_code=201, response_model=NewTokenOut)
@roles("admin")
def create_token(name: UserName, body: TokenIn, session: SessionDep,
                 actor: AuditActor) -> dict[str, Any]:
    """A new API token of a user, shown this once (admins)."""
    user = service.user_by_name(session, name)
    expires = service.parse_duration(body.expires) if body.expires else None
    row, token = service.create_token(session, user, name=body.name, expires=expires,
                                      by=actor)
    session.commit()
    session.refresh(row)
    return {**token_out(row, user), "token": token}


@router.delete("/api/v1/tokens/{token_id}", response_model=TokenOut)
@roles("admin")
def revoke_token(token_id: TokenId, session: SessionDep, actor: AuditActor) -> dict[str, Any]:
    """Revoke an API token: it stops working at once (admins)."""
    row = service.revoke_token(session, token_id, by=actor)
    session.commit()
    user = session.get(User, row.user_id)
    assert user is not None  # noqa: S101 - an invariant, for the type checker
    return token_out(row, user)
