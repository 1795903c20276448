"""Users, roles and bearer tokens; who may do what on which event.

Tokens are random (``gg_`` + 43 URL-safe characters), shown once at creation
and stored as their SHA-256. Roles:

- ``admin``: everything;
- ``dispatcher``: dispatch, reject, cancel, verify, close, escalate; sees reporters;
- ``handler``: accept, return and handle events of their department; sees the
  reporters of those events;
- ``grid_worker``: patrol reports, handle, verify, reopen and escalate events of
  their grids;
- ``analyst``: reads and statistics only.

Intake is open to residents on the ``app`` and ``qr`` channels (no token);
the ``hotline``, ``patrol``, ``camera`` and ``open311`` channels need a staff
token on the native API (the Open311 endpoint checks its own API keys).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api.audit.service import SYSTEM, Actor, record
from api.db.models import Department, Event
from api.db.models_events import ROLES, User
from api.deps import SessionDep
from api.errors import APIError
from api.services.lifecycle import ACTION_ROLES
from api.services.routing import grid_codes
from gis_core.errors import InvalidInput

PUBLIC_CHANNELS = frozenset({"app", "qr"})
CHANNEL_ROLES: dict[str, frozenset[str]] = {
    "hotline": frozenset({"admin", "dispatcher"}),
    "patrol": frozenset({"admin", "dispatcher", "grid_worker"}),
    "camera": frozenset({"admin", "dispatcher"}),
    "open311": frozenset({"admin", "dispatcher"}),
}
PERSONAL_DATA_ROLES = frozenset({"admin", "dispatcher"})


def hash_token(token: str) -> str:
    """The stored form of a bearer token (hex SHA-256).

    Examples
    --------
    >>> len(hash_token("gg_x"))
    64
    """
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, *, name: str, role: str, department: str | None = None,
                grids: Sequence[str] = (), by: Actor | None = None) -> tuple[User, str]:
    """Create a user and return it with its bearer token (shown once; the caller commits).

    Writes a ``user.create`` audit row by ``by`` (default ``system``).
    """
    if role not in ROLES:
        raise InvalidInput(f"parameter 'role': {role!r} is not one of {', '.join(ROLES)}")
    if not name.strip():
        raise InvalidInput("parameter 'name': must not be empty")
    department_id = None
    if role == "handler" and not department:
        raise InvalidInput("parameter 'department': a handler belongs to a department")
    if role == "grid_worker" and not grids:
        raise InvalidInput("parameter 'grid': a grid worker needs at least one grid code")
    if department:
        department_id = session.execute(select(Department.id).where(
            Department.code == department)).scalar_one_or_none()
        if department_id is None:
            raise InvalidInput(f"parameter 'department': no department with code {department!r}")
    if session.execute(select(User.id).where(User.name == name)).first():
        raise InvalidInput(f"parameter 'name': a user named {name!r} exists")
    token = "gg_" + secrets.token_urlsafe(32)
    user = User(name=name, role=role, department_id=department_id, grid_codes=list(grids),
                token_hash=hash_token(token), active=True)
    session.add(user)
    session.flush()
    record(session, actor=by or SYSTEM, action="user.create", object_type="user",
           object_id=user.id, after={"name": name, "role": role, "department": department,
                                     "grids": list(grids)})
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user holding ``token``, or None."""
    return session.execute(select(User).where(User.token_hash == hash_token(token),
                                              User.active)).scalar_one_or_none()


def bearer_token(request: Request) -> str | None:
    """The request's bearer token; None without an ``Authorization`` header; 401 if malformed."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError(401, "unauthorized", "use 'Authorization: Bearer TOKEN'")
    return token.strip()


def role_for_token(conn: Connection | Session, token: str) -> tuple[str, str]:
    """Name and role of the active user holding ``token``; 401 when there is none."""
    row = conn.execute(select(User.name, User.role).where(
        User.token_hash == hash_token(token), User.active)).one_or_none()
    if row is None:
        raise APIError(401, "unauthorized", "unknown or revoked token")
    return str(row[0]), str(row[1])


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The user of the request's bearer token; None without one; 401 for a bad one."""
    token = bearer_token(request)
    if token is None:
        return None
    user = user_for_token(session, token)
    if user is None:
        raise APIError(401, "unauthorized", "unknown or revoked token")
    return user


def required_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The request's user; 401 when no token was given."""
    if user is None:
        raise APIError(401, "unauthorized", "a bearer token is required")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
RequiredUser = Annotated[User, Depends(required_user)]


def check_channel(role: str | None, channel: str) -> None:
    """Refuse intake on a staff channel without a staff token (``role``) of the right role."""
    if channel in PUBLIC_CHANNELS:
        return
    roles = CHANNEL_ROLES.get(channel, frozenset())
    if role is None:
        raise APIError(401, "unauthorized", f"channel {channel!r} requires a staff token")
    if role not in roles:
        raise APIError(403, "forbidden", f"role {role!r} may not report on channel {channel!r}")


def in_scope(user: User, event: Event) -> bool:
    """Whether ``user`` may act on ``event`` (grid worker: own grids; handler: own department)."""
    if user.role == "grid_worker":
        return bool(set(user.grid_codes or ()) & set(grid_codes(event.grids or {})))
    if user.role == "handler":
        return user.department_id is not None and user.department_id == event.department_id
    return True


def check_action(user: User, event: Event, action: str) -> None:
    """403 unless ``user``'s role may take ``action`` and ``event`` is in their scope."""
    roles = ACTION_ROLES.get(action)
    if roles is not None and user.role not in roles:
        raise APIError(403, "forbidden", f"role {user.role!r} may not {action!r}; roles "
                       f"allowed: {', '.join(sorted(roles))}")
    if not in_scope(user, event):
        what = "grids" if user.role == "grid_worker" else "department"
        raise APIError(403, "forbidden", f"event {event.id} is not one of your {what}'s events"
                       if what == "department" else f"event {event.id} is not in your grids")


def sees_personal_data(user: User | None, event: Event | None = None) -> bool:
    """Admins and dispatchers see reporters' contacts; a handler those of their events."""
    if user is None:
        return False
    if user.role in PERSONAL_DATA_ROLES:
        return True
    return (user.role == "handler" and event is not None
            and user.department_id is not None and user.department_id == event.department_id)
