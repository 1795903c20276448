"""Running a test's coroutine on an event loop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on a thread of its own, so on a fresh loop whatever runs here.

    In the whole suite ``asyncio.run`` in the main thread finds a loop still marked as
    running there ("cannot be called from a running event loop"): pytest-playwright's
    session-scoped ``playwright`` fixture (tests/web) pumps Playwright's loop with
    ``run_until_complete`` inside a greenlet of the main thread, and greenlet switches
    do not unwind that frame, so the loop stays "running" on the main thread until the
    session ends (microsoft/playwright-pytest#240). A thread of its own has no such state.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coro).result()
