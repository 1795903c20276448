"""Who acts on a request, and who may read the audit log: the two swap points for sign-in.

``request_actor`` turns the request's user (today the bearer token's) into an
:class:`~api.audit.service.Actor` with the client's address; ``require_admin``
is the one check of ``GET /api/v1/audit``. Sign-in with sessions and scopes
replaces the user dependency here and nowhere else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.audit.service import Actor
from api.db.models_events import User
from api.errors import APIError
from api.services.auth import OptionalUser, RequiredUser


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it."""
    return request.client.host if request.client else None


def request_actor(request: Request, user: OptionalUser) -> Actor:
    """The actor of a request: its user, or ``anonymous``, with the client's address."""
    address = client_address(request)
    if user is None:
        return Actor("anonymous", address=address)
    return Actor(user.name, user.id, user.role, address)


def require_admin(user: RequiredUser) -> User:
    """The request's user if an admin; 403 otherwise (401 without a token)."""
    if user.role != "admin":
        raise APIError(403, "forbidden", "the audit log is for admins only")
    return user


AuditActor = Annotated[Actor, Depends(request_actor)]
AdminUser = Annotated[User, Depends(require_admin)]
