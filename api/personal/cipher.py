"""Encryption and keyed hashes of personal values (AES-256-GCM, HMAC-SHA256).

A stored value is ``v1:<kid>:<base64url(nonce || ciphertext || tag)>``: AES-GCM
with a 12-byte random nonce, the key ``derive(secret, "encrypt")`` of key
``kid``, and the field's ``table.column`` as associated data, so a value
moved to another column fails to decrypt. A value without the ``v1:`` prefix
is a plaintext left from before encryption (``gridgov keys encrypt-existing``
encrypts those); it reads as itself.

The lookup hash of a value is the hex HMAC-SHA256, under
``derive(lookup secret, "lookup")``, of ``kind || NUL || normal form`` (see
:mod:`api.personal.mask`): equal phones give equal hashes whatever their
spelling, and the hash does not change when the encryption key rotates.

A cipher whose ring came from a key file follows that file: it looks at the
file at most once per ``reload_seconds`` (and at once when it meets an unknown
key id) and reloads it when it changed, so servers pick up a rotation
(``gridgov keys rotate``) without a restart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.personal.keys import KeyRing, derive, load_ring, read_ring
from api.personal.mask import KINDS
from api.settings import Settings

PREFIX = "v1:"
NONCE_BYTES = 12


class UnreadableValue(ValueError):
    """A stored value that does not decrypt: unknown key, another column's, or altered."""


class PersonalCipher:
    """Encrypts, decrypts and hashes personal values with a :class:`KeyRing`.

    Examples
    --------
    >>> from api.personal.keys import new_ring
    >>> cipher = PersonalCipher(new_ring())
    >>> token = cipher.encrypt("13812341234", "events.reporter_phone")
    >>> token.startswith("v1:" + cipher.current + ":")
    True
    >>> cipher.decrypt(token, "events.reporter_phone")
    '13812341234'
    >>> cipher.decrypt(token, "events.reporter_name")
    Traceback (most recent call last):
    ...
    api.personal.cipher.UnreadableValue: a value of events.reporter_name does not decrypt ...
    """

    def __init__(self, ring: KeyRing, *, reload_seconds: float = 1.0) -> None:
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._use(ring)
        self._stamp = _stamp(ring.path)
        self._checked = time.monotonic()

    def _use(self, ring: KeyRing) -> None:
        aead = {kid: AESGCM(derive(secret, "encrypt")) for kid, secret in ring.keys.items()}
        self._state = (ring, aead, derive(ring.lookup, "lookup"))  # swapped at once

    @property
    def ring(self) -> KeyRing:
        """The key ring in use."""
        return self._state[0]

    @property
    def current(self) -> str:
        """The id of the key new values are encrypted with."""
        return self._state[0].current

    def refresh(self, force: bool = False) -> None:
        """Reload the key file if it changed (at most once per ``reload_seconds``)."""
        path = self.ring.path
        if path is None or (not force and
                            time.monotonic() - self._checked < self.reload_seconds):
            return
        with self._lock:
            self._checked = time.monotonic()
            stamp = _stamp(path)
            if stamp != self._stamp:
                self._use(read_ring(path))
                self._stamp = stamp

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalCipher:
        """The cipher of the key ring the settings name (see :func:`load_ring`)."""
        return cls(load_ring(settings))

    def encrypt(self, value: str | None, column: str) -> str | None:
        """Encrypt ``value`` for ``column`` (``table.column``) with the current key."""
        if value is None:
            return None
        self.refresh()
        ring, aead, _ = self._state
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = aead[ring.current].encrypt(nonce, _utf8(value), column.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{ring.current}:{body}"

    def decrypt(self, stored: str | None, column: str) -> str | None:
        """The clear value of ``stored`` read from ``column``; plaintext reads as itself."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        kid, _, body = stored[len(PREFIX):].partition(":")
        self.refresh(force=kid not in self._state[1])
        aead = self._state[1].get(kid)
        if aead is None:
            raise UnreadableValue(f"a value of {column} is encrypted with key {kid!r}, which "
                                  "is not in the key ring")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            clear = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode())
            return clear.decode("utf-8", "surrogatepass")
        except (InvalidTag, binascii.Error, ValueError):
            raise UnreadableValue(f"a value of {column} does not decrypt (altered, or "
                                  "copied from another column)") from None

    def lookup_hash(self, value: str | None, kind: str) -> str | None:
        """The keyed hash of ``value``'s normal form for a field of ``kind`` (hex).

        Examples
        --------
        >>> from api.personal.keys import new_ring
        >>> c = PersonalCipher(new_ring())
        >>> c.lookup_hash("+86 138 1234 1234", "phone") == c.lookup_hash("13812341234", "phone")
        True
        """
        if value is None:
            return None
        normal = KINDS[kind][1](value)
        mac = self._state[2]
        return hmac.new(mac, _utf8(f"{kind}\x00{normal}"), hashlib.sha256).hexdigest()


def _utf8(value: str) -> bytes:
    """UTF-8 that also carries a lone surrogate (a report is refused for it elsewhere)."""
    return value.encode("utf-8", "surrogatepass")


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What tells that a key file changed: inode, size, modification time."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def key_of(stored: str | None) -> str | None:
    """The key id of a stored value; None for plaintext or NULL.

    Examples
    --------
    >>> key_of("v1:0a1b2c3d:AAAA"), key_of("13812341234")
    ('0a1b2c3d', None)
    """
    if stored is None or not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX):].partition(":")[0]
