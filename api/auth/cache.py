"""The gate's memory of who a credential is: resolved once, reused while nothing changed.

Every staff request names its user by a bearer token or a session cookie. Looking
that up in the database costs a worker thread, a pooled connection and a query per
request (about a fifth of what a hotline's report costs the server). The gate
keeps what it resolved here, by the credential's hash, and reuses it only while:

- the change counters of ``users``, ``api_tokens`` and ``user_sessions`` are where
  they were when it was resolved (migration 0030 bumps them with every write that
  decides who a credential is or whether it still holds: a revocation, an expiry
  moved, a user disabled, given another role or scope, deleted). The counters are
  read for each request, after it arrived, on one async connection of the process
  that concurrent requests share (:class:`api.db.change_counters.VersionCheck`), so
  a revocation committed before a request is seen by it, in every API process, as
  without the cache;
- the credential has not expired (its expiry is kept with it);
- it is younger than ``ttl`` seconds, so that a new area below a user's, or a
  regridded layer, reaches their scope as it does through
  :class:`api.auth.principal.ScopeCache`.

When the counters cannot be read the cache is not used: the gate asks the database
as before (and fails as before when the database is down).

Examples
--------
>>> from api.auth.principal import Principal
>>> cache = CredentialCache("postgresql://unused", ttl=30.0, clock=lambda: 0.0)
>>> held = Resolved(Principal(1, "li", "admin"), 7, None, None)
>>> cache.get(("token", "h1"), {"users": 1}) is None  # not resolved yet
True
>>> cache.put(("token", "h1"), {"users": 1}, held)
>>> cache.get(("token", "h1"), {"users": 1}) == held
True
>>> cache.get(("token", "h1"), {"users": 2}) is None  # a user changed: everyone again
True
>>> cache.put(("token", "h1"), {"users": 1}, held)  # resolved before the change: dropped
>>> cache.get(("token", "h1"), {"users": 2}) is None
True
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Engine

from api.auth.principal import Resolved
from api.db.change_counters import READ_OPTIONS, VersionCheck

logger = logging.getLogger("gridgov.auth")

#: the tables whose counters a cached principal depends on
TABLES = ("api_tokens", "user_sessions", "users")

Key = tuple[str, str]  # ("token" | "session", the credential's hash)
Versions = dict[str, int]


class CredentialCache:
    """Resolved credentials by hash, valid for one set of counters (see the module)."""

    def __init__(self, conninfo: str, ttl: float = 30.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conninfo, self.ttl, self.max_entries, self.clock = conninfo, ttl, max_entries, clock
        self._entries: dict[Key, tuple[float, Resolved]] = {}  # (reused until, what)
        self._versions: Versions | None = None
        self._lock = threading.Lock()
        self._checks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VersionCheck] = (
            weakref.WeakKeyDictionary())

    @classmethod
    def for_engine(cls, engine: Engine, ttl: float) -> CredentialCache:
        """A cache reading the counters of ``engine``'s database."""
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(url, ttl)

    def __len__(self) -> int:
        """How many credentials are held."""
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (``ttl`` 0: every request asks the database)."""
        return self.ttl > 0

    async def versions(self) -> Versions | None:
        """The counters as committed after this call began; None when they cannot be read."""
        loop = asyncio.get_running_loop()
        check = self._checks.get(loop)
        if check is None:
            check = self._checks[loop] = VersionCheck(self.conninfo, READ_OPTIONS, TABLES)
        try:
            return await check.versions()
        except (psycopg.Error, OSError) as exc:
            logger.warning("credential cache: counters unreadable (%s); asking the database", exc)
            return None

    def get(self, key: Key, versions: Versions) -> Resolved | None:
        """What ``key`` resolved to, if nothing it depends on moved since."""
        with self._lock:
            if versions != self._versions:
                self._entries.clear()
                self._versions = versions
                return None
            found = self._entries.get(key)
        if found is None:
            return None
        until, held = found
        if until <= self.clock() or (held.expires_at is not None
                                     and held.expires_at <= datetime.now(UTC)):
            with self._lock:
                self._entries.pop(key, None)
            return None
        return held

    def put(self, key: Key, versions: Versions, held: Resolved) -> None:
        """Keep ``held``, resolved after ``versions`` were read; dropped if they are stale."""
        with self._lock:
            if versions != self._versions:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (self.clock() + self.ttl, held)

    def touched(self, key: Key, when: datetime) -> None:
        """Record that the credential's last use was written at ``when``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries[key] = (found[0], replace(found[1], last_used=when))
