"""The throttle of failed sign-ins: per account and per client address, in memory.

A sliding window: an account (a client address) that failed ``max_per_account``
(``max_per_address``) times within ``window`` seconds is refused until its
oldest failure in the window leaves it. A successful sign-in clears the
account's failures (not the address's: one right password does not buy an
address more guesses at other accounts).

The counts live in the memory of one worker process, held on the app state
(``app.state.sign_in_throttle``); with several workers each counts its own, so
an attacker gets at most ``workers`` times the numbers. The number of keys is
bounded: expired ones are swept, and past ``max_keys`` the oldest are dropped.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from api.settings import AuthSettings


class SignInThrottle:
    """Counts failed sign-ins and says how long a caller must wait.

    Examples
    --------
    >>> now = [0.0]
    >>> throttle = SignInThrottle(max_per_account=2, max_per_address=10, window=60,
    ...                           clock=lambda: now[0])
    >>> throttle.failed("ann", "10.0.0.1"); throttle.failed("ann", "10.0.0.1")
    >>> throttle.retry_after("ann", "10.0.0.2")
    60
    >>> now[0] = 60.0
    >>> throttle.retry_after("ann", "10.0.0.2") is None
    True
    """

    def __init__(self, *, max_per_account: int, max_per_address: int, window: float,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if max_per_account < 1 or max_per_address < 1 or window <= 0:
            raise ValueError("max_per_account and max_per_address must be >= 1, window > 0")
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._limits = {"account": max_per_account, "address": max_per_address}
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> SignInThrottle:
        """The throttle configured by ``GRIDGOV_AUTH_*``."""
        return cls(max_per_account=settings.max_failures_per_account,
                   max_per_address=settings.max_failures_per_address,
                   window=settings.failure_window_minutes * 60)

    def _keys(self, account: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("account", account.strip())]
        if address:
            keys.append(("address", address))
        return keys

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, account: str, address: str | None) -> int | None:
        """Seconds until this account and address may try again; None: they may now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(account, address):
                times = self._recent(key, now)
                if times is not None and len(times) >= self._limits[key[0]]:
                    wait = max(wait, times[-self._limits[key[0]]] + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, account: str, address: str | None) -> None:
        """Count one failed sign-in of ``account`` from ``address``."""
        now = self.clock()
        with self._lock:
            for key in self._keys(account, address):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)
                times = self._failures[key]
                while len(times) > self._limits[key[0]]:  # older ones no longer matter
                    times.popleft()
            if len(self._failures) > self.max_keys:
                self._shrink(now)

    def succeeded(self, account: str) -> None:
        """Forget the failures of ``account`` (it signed in)."""
        with self._lock:
            self._failures.pop(("account", account.strip()), None)

    def _shrink(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        excess = len(self._failures) - self.max_keys
        for key in list(self._failures)[:max(0, excess)]:  # the oldest keys first
            del self._failures[key]
