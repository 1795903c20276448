"""Users' channels: read and replace the channels a user hears on; the outbox's letters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from api.audit.service import Actor, record
from api.egress.guard import check_url
from api.notify.models import UserChannel
from gis_core.errors import InvalidInput, NotFound

#: what an address of each channel looks like
ADDRESS_RULES = {
    "email": (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "an e-mail address"),
    "webhook": (re.compile(r"^https?://[^\s]+$"), "an http(s) URL"),
    "sms": (re.compile(r"^\+?[0-9]{6,15}$"), "a phone number (digits, optional +)"),
    "wecom": (re.compile(r"^[A-Za-z0-9_.@-]{1,64}$"), "a WeCom user id"),
}


def check_address(channel: str, address: str, index: int, allow_internal: bool = False) -> None:
    """Refuse an address that does not fit its channel (422 ``invalid_address``).

    Examples
    --------
    >>> check_address("sms", "13800000000", 0)
    >>> check_address("email", "nobody", 1)
    Traceback (most recent call last):
    ...
    gis_core.errors.InvalidInput: field 'channels[1].address': 'nobody' is not an e-mail address
    """
    pattern, what = ADDRESS_RULES[channel]
    if not pattern.match(address):
        raise InvalidInput(f"field 'channels[{index}].address': {address!r} is not {what}",
                           code="invalid_address")
    if channel == "webhook":
        check_url(address, allow_internal=allow_internal, field=f"channels[{index}].address")


def channels_of(session: Session, user_id: int) -> list[UserChannel]:
    """The channels of a user, in the order they were given."""
    return list(session.execute(select(UserChannel).where(UserChannel.user_id == user_id)
                                .order_by(UserChannel.id)).scalars())


def channel_out(c: UserChannel) -> dict[str, Any]:
    """The JSON form of a channel."""
    return {"channel": c.channel, "address": c.address, "language": c.language,
            "quiet_from": _hhmm(c.quiet_from), "quiet_until": _hhmm(c.quiet_until),
            "active": c.active}


def _hhmm(t: time | None) -> str | None:
    return t.strftime("%H:%M") if t is not None else None


def replace_channels(session: Session, user_id: int, channels: Sequence[dict[str, Any]],
                     by: Actor, *, allow_internal: bool = False) -> list[UserChannel]:
    """Replace a user's channels with ``channels``; audited; the caller commits.

    Pending notifications to a removed channel go with it. A webhook URL must not
    reach an internal address unless ``allow_internal`` (``api.egress.guard``).
    """
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(channels):
        check_address(c["channel"], c["address"], i, allow_internal)
        if (c["channel"], c["address"]) in seen:
            raise InvalidInput(f"field 'channels[{i}]': {c['channel']} {c['address']!r} is "
                               "given twice", code="duplicate_channel")
        seen.add((c["channel"], c["address"]))
    before = [channel_out(c) for c in channels_of(session, user_id)]
    session.execute(delete(UserChannel).where(UserChannel.user_id == user_id))
    made = [UserChannel(user_id=user_id, **c) for c in channels]
    session.add_all(made)
    session.flush()
    record(session, actor=by, action="notify.channels", object_type="user", object_id=user_id,
           before={"channels": before}, after={"channels": [channel_out(c) for c in made]})
    return made


_LETTERS = text("""
SELECT n.id, n.key, n.kind, n.event_id, n.channel, n.status, n.attempts, n.created_at,
       n.next_attempt_at, n.sent_at, n.last_error, u.name AS user_name
FROM notifications n
LEFT JOIN user_channels c ON c.id = n.user_channel_id LEFT JOIN users u ON u.id = c.user_id
WHERE n.status = :status AND (CAST(:event_id AS bigint) IS NULL OR n.event_id = :event_id)
ORDER BY n.id DESC LIMIT :limit
""")


def list_notifications(session: Session, status: str, event_id: int | None,
                       limit: int) -> list[dict[str, Any]]:
    """Notifications in ``status`` (newest first), optionally of one event."""
    rows = session.execute(_LETTERS, {"status": status, "event_id": event_id,
                                      "limit": limit}).mappings()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows]


_REVIVE = text("""
UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = now()
WHERE id = :id AND status = 'dead' RETURNING id
""")


def retry_dead(session: Session, notification_id: int, by: Actor) -> None:
    """Send a dead letter again (404 ``notification_not_found`` unless it is dead)."""
    if session.execute(_REVIVE, {"id": notification_id}).scalar() is None:
        raise NotFound(f"no dead notification {notification_id}",
                       code="notification_not_found")
    record(session, actor=by, action="notify.retry", object_type="notification",
           object_id=notification_id)
