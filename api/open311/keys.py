"""Open311 API keys: create (shown once), check, list and revoke.

Keys are random URL-safe strings; only their SHA-256 hex digest is stored,
with the first characters kept as a prefix to tell keys apart in listings.
Helpers never commit; the caller does.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.open311.models import Open311ApiKey
from gis_core.errors import InvalidInput, NotFound

KEY_BYTES = 24
PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    """The stored form of ``key``: its SHA-256 hex digest.

    Examples
    --------
    >>> hash_key("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str) -> tuple[Open311ApiKey, str]:
    """Create a key named ``name``; return the stored row and the plain key (shown once).

    Parameters
    ----------
    session
        The session to add the row to (not committed here).
    name
        Who the key is for; a non-empty string.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string", code="invalid_name")
    key = secrets.token_urlsafe(KEY_BYTES)
    row = Open311ApiKey(name=name.strip(), key_prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key),
                        revoked=False)
    session.add(row)
    session.flush()
    return row, key


def check_key(session: Session, key: str) -> Open311ApiKey | None:
    """The active (not revoked) key row matching ``key``, or None."""
    if not key:
        return None
    return session.scalars(select(Open311ApiKey).where(
        Open311ApiKey.key_hash == hash_key(key), Open311ApiKey.revoked.is_(False))).first()


def list_keys(session: Session) -> list[Open311ApiKey]:
    """Every key, oldest first (hashes only; plain keys are never stored)."""
    return list(session.scalars(select(Open311ApiKey).order_by(Open311ApiKey.id)))


def revoke_key(session: Session, ref: str) -> Open311ApiKey:
    """Revoke the key whose id, prefix or plain value is ``ref``.

    Raises
    ------
    NotFound
        No key matches ``ref``.
    InvalidInput
        ``ref`` is a prefix shared by several keys.
    """
    query = select(Open311ApiKey)
    if ref.isdigit():
        rows = list(session.scalars(query.where(Open311ApiKey.id == int(ref))))
    else:
        rows = list(session.scalars(query.where(
            (Open311ApiKey.key_prefix == ref) | (Open311ApiKey.key_hash == hash_key(ref)))))
    if not rows:
        raise NotFound(f"no API key with id, prefix or value {ref!r}", code="api_key_not_found")
    if len(rows) > 1:
        raise InvalidInput(f"prefix {ref!r} matches {len(rows)} keys; give the id",
                           code="ambiguous_api_key")
    row = rows[0]
    if not row.revoked:
        row.revoked = True
        row.revoked_at = datetime.now(UTC)
    return row
