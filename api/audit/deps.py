"""Who acts on a request, as the audit log records them.

``request_actor`` turns the request's caller (the signed-in principal, or
nobody) into an :class:`~api.audit.service.Actor` with the client's address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.audit.service import Actor
from api.auth.access import MaybePrincipal


def client_address(request: Request) -> str | None:
    """The client's address as the server sees it."""
    return request.client.host if request.client else None


async def request_actor(request: Request, principal: MaybePrincipal) -> Actor:
    """The actor of a request: its user, or ``anonymous``, with the client's address."""
    address = client_address(request)
    if principal is None:
        return Actor("anonymous", address=address)
    return Actor(principal.name, principal.id, principal.role, address)


AuditActor = Annotated[Actor, Depends(request_actor)]
