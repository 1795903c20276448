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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.personal.keys import KeyRing, derive, load_ring
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

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.current = ring.current
        self._aead = {kid: AESGCM(derive(secret, "encrypt")) for kid, secret in ring.keys.items()}
        self._mac = derive(ring.lookup, "lookup")

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalCipher:
        """The cipher of the key ring the settings name (see :func:`load_ring`)."""
        return cls(load_ring(settings))

    def encrypt(self, value: str | None, column: str) -> str | None:
        """Encrypt ``value`` for ``column`` (``table.column``) with the current key."""
        if value is None:
            return None
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[self.current].encrypt(nonce, value.encode(), column.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current}:{body}"

    def decrypt(self, stored: str | None, column: str) -> str | None:
        """The clear value of ``stored`` read from ``column``; plaintext reads as itself."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        kid, _, body = stored[len(PREFIX):].partition(":")
        aead = self._aead.get(kid)
        if aead is None:
            raise UnreadableValue(f"a value of {column} is encrypted with key {kid!r}, which "
                                  "is not in the key ring")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode()
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
        return hmac.new(self._mac, f"{kind}\x00{normal}".encode(), hashlib.sha256).hexdigest()


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
