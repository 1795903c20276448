"""The key ring of personal data: where the secrets are, and how the key file is kept.

The key file (default ``$GRIDGOV_HOME/keys/personal.key``, mode 0600, in a
directory of mode 0700) is JSON::

    {"format": "gridgov-personal-keys/1",
     "current": "<kid>",                      # new values are encrypted with it
     "keys": {"<kid>": "<base64 secret>", ...},  # every key still readable
     "lookup": "<base64 secret>"}             # the keyed hash; kept across rotations

A key id (``kid``) is 8 hex characters derived from its secret. Rotation adds a
key and makes it current; the old ones stay until no value uses them
(:func:`api.personal.service.retire_keys`); running servers reload the file
(:class:`api.personal.cipher.PersonalCipher`). With ``GRIDGOV_PERSONAL_KEY`` the
ring is that one secret (encryption and lookup keys are derived from it apart)
and cannot be rotated in place.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from api.settings import Settings

FORMAT = "gridgov-personal-keys/1"
SECRET_BYTES = 32


class KeyFileError(RuntimeError):
    """The key of personal data is missing, malformed or too widely readable."""


def derive(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` derived from ``secret`` (HKDF-SHA256).

    Examples
    --------
    >>> derive(b"x" * 32, "encrypt") != derive(b"x" * 32, "lookup")
    True
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"gridgov personal {purpose} v1".encode()).derive(secret)


def key_id(secret: bytes) -> str:
    """The id of a secret: 8 hex characters derived from it.

    Examples
    --------
    >>> len(key_id(b"x" * 32))
    8
    """
    return derive(secret, "key id")[:4].hex()


@dataclass(frozen=True)
class KeyRing:
    """The secrets: ``keys`` by id, the ``current`` id, the lookup secret, their file."""

    current: str
    keys: dict[str, bytes]
    lookup: bytes
    path: Path | None = field(default=None, compare=False)

    def rotated(self) -> KeyRing:
        """A ring with a new current key; the old keys stay readable."""
        secret = secrets.token_bytes(SECRET_BYTES)
        kid = key_id(secret)
        return KeyRing(kid, {**self.keys, kid: secret}, self.lookup, self.path)

    def without(self, kids: set[str]) -> KeyRing:
        """A ring without the keys ``kids`` (never the current one)."""
        if self.current in kids:
            raise KeyFileError(f"key {self.current} is the current key and cannot be retired")
        return KeyRing(self.current, {k: v for k, v in self.keys.items() if k not in kids},
                       self.lookup, self.path)


def new_ring(path: Path | None = None) -> KeyRing:
    """A ring of one new random key and a new lookup secret."""
    secret = secrets.token_bytes(SECRET_BYTES)
    return KeyRing(key_id(secret), {key_id(secret): secret},
                   secrets.token_bytes(SECRET_BYTES), path)


def _b64(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip() + "=" * (-len(value.strip()) % 4),
                               altchars=b"-_" if ("-" in value or "_" in value) else None,
                               validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{what}: not valid base64") from None
    if len(raw) < SECRET_BYTES:
        raise KeyFileError(f"{what}: a key must be at least {SECRET_BYTES} bytes "
                           f"(got {len(raw)}); make one with: head -c 32 /dev/urandom | base64")
    return raw


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def default_key_file(settings: Settings) -> Path:
    """``$GRIDGOV_HOME/keys/personal.key``."""
    return settings.db.home / "keys" / "personal.key"


def key_file_of(settings: Settings) -> Path:
    """The key file the settings name (``GRIDGOV_PERSONAL_KEY_FILE`` or the default)."""
    return settings.personal.key_file or default_key_file(settings)


def load_ring(settings: Settings) -> KeyRing:
    """The key ring the settings name (see the module docstring); creates the default file.

    Raises
    ------
    KeyFileError
        A malformed key, a named key file that does not exist, or a key file
        readable by others than its owner.
    """
    if settings.personal.key is not None:
        secret = _b64(settings.personal.key.get_secret_value(), "GRIDGOV_PERSONAL_KEY")
        return KeyRing(key_id(secret), {key_id(secret): secret}, secret, None)
    path = key_file_of(settings)
    if not path.exists():
        if settings.personal.key_file is not None:
            raise KeyFileError(f"GRIDGOV_PERSONAL_KEY_FILE={path} does not exist")
        ring = new_ring(path)
        write_ring(ring, path, create=True)
        return ring
    return read_ring(path)


def check_mode(path: Path) -> None:
    """Refuse a key file that anyone but its owner may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"key file {path} has mode {mode:04o}; it must be readable by its "
                           f"owner only: chmod 600 {path}")


def read_ring(path: Path) -> KeyRing:
    """Read and check a key file."""
    check_mode(path)
    try:
        data = json.loads(path.read_text())
        keys = {str(k): _b64(v, f"{path}: key {k}") for k, v in data["keys"].items()}
        current, lookup = str(data["current"]), _b64(data["lookup"], f"{path}: lookup")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"key file {path} is not a gridgov key file ({exc})") from None
    if data.get("format") != FORMAT or current not in keys:
        raise KeyFileError(f"key file {path}: format must be {FORMAT!r} and 'current' one of "
                           "its keys")
    for kid, secret in keys.items():
        if key_id(secret) != kid:
            raise KeyFileError(f"key file {path}: key {kid} does not match its id")
    return KeyRing(current, keys, lookup, path)


def write_ring(ring: KeyRing, path: Path, *, create: bool = False) -> None:
    """Write ``ring`` to ``path`` atomically with mode 0600 (``create``: it must not exist)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = json.dumps({"format": FORMAT, "current": ring.current,
                       "keys": {k: _encode(v) for k, v in ring.keys.items()},
                       "lookup": _encode(ring.lookup)}, indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        if create:
            os.link(tmp, path)  # fails if another process created it meanwhile
        else:
            os.replace(tmp, path)
    except FileExistsError:
        raise KeyFileError(f"key file {path} appeared while it was being created; "
                           "start again") from None
    finally:
        tmp.unlink(missing_ok=True)
