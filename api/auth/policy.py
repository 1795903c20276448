"""Who may do what: intake channels and lifecycle actions by role.

Intake is open to residents on the ``app`` and ``qr`` channels; the
``hotline``, ``patrol``, ``camera`` and ``open311`` channels need a staff user
of the right role (the Open311 endpoint checks its own API keys). Lifecycle
actions are allowed by :data:`layers.vocabulary.ACTION_ROLES` on events in
the user's scope.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.auth.principal import Principal
from api.auth.service import hash_secret
from api.errors import APIError
from layers.vocabulary import ACTION_ROLES

PUBLIC_CHANNELS = frozenset({"app", "qr"})
CHANNEL_ROLES: dict[str, frozenset[str]] = {
    "hotline": frozenset({"admin", "dispatcher"}),
    "patrol": frozenset({"admin", "dispatcher", "grid_worker"}),
    "camera": frozenset({"admin", "dispatcher"}),
    "open311": frozenset({"admin", "dispatcher"}),
}


def check_channel(role: str | None, channel: str) -> None:
    """Refuse intake on a staff channel without a staff user (``role``) of the right role."""
    if channel in PUBLIC_CHANNELS:
        return
    roles = CHANNEL_ROLES.get(channel, frozenset())
    if role is None:
        raise APIError(401, "unauthorized", f"channel {channel!r} requires a staff token")
    if role not in roles:
        raise APIError(403, "forbidden", f"role {role!r} may not report on channel {channel!r}")


def role_for_token(conn: Connection | Session, token: str) -> tuple[str, str]:
    """Name and role of the active user holding a valid ``token``; 401 when there is none."""
    row = conn.execute(text(
        "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.active "
        "AND (t.expires_at IS NULL OR t.expires_at > now())"), {"h": hash_secret(token)}
    ).one_or_none()
    if row is None:
        raise APIError(401, "unauthorized", "unknown, expired or revoked token")
    return str(row[0]), str(row[1])


def event_scope(conn: Connection | Session, principal: Principal, event_id: int
                ) -> tuple[str, bool]:
    """The status of event ``event_id`` and whether it is in scope; 404 when there is none."""
    condition, params = principal.event_sql("events")
    row = conn.execute(text(f"SELECT status, {condition} FROM events WHERE id = :event_id"),  # noqa: S608 - SQL from trusted parts; values bound
                       {**params, "event_id": event_id}).first()
    if row is None:
        raise APIError(404, "event_not_found", f"no event with id {event_id}")
    return str(row[0]), bool(row[1])


def check_event_scope(conn: Connection | Session, principal: Principal, event_id: int) -> str:
    """The status of event ``event_id``: 404 when there is none, 403 outside your scope."""
    status, in_scope = event_scope(conn, principal, event_id)
    if not in_scope:
        raise APIError(403, "out_of_scope", f"event {event_id} is not in your scope")
    return status


def check_action(principal: Principal, event_id: int, in_scope: bool, action: str) -> None:
    """403 unless the user's role may take ``action`` and the event is in their scope."""
    allowed = ACTION_ROLES.get(action)
    if allowed is not None and principal.role not in allowed:
        raise APIError(403, "forbidden", f"role {principal.role!r} may not {action!r}; roles "
                       f"allowed: {', '.join(sorted(allowed))}")
    if not in_scope:
        raise APIError(403, "out_of_scope", f"event {event_id} is not in your scope")
