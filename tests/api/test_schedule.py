"""The one schedule of the server's background jobs (:func:`api.nodes.schedule.every`)."""

from __future__ import annotations

import asyncio
import threading

from api.nodes.schedule import every
from testkit.aio import run_coroutine


def test_a_job_runs_in_a_worker_thread_again_and_again_and_survives_its_failures() -> None:
    rounds: list[str] = []
    done = threading.Event()

    def job() -> None:
        rounds.append(threading.current_thread().name)
        if len(rounds) == 1:
            raise RuntimeError("the first round fails")
        if len(rounds) == 3:
            done.set()

    loop_thread: list[str] = []

    async def main() -> None:
        loop_thread.append(threading.current_thread().name)
        async with every("test job", 0.01, job):
            while not done.is_set():
                await asyncio.sleep(0.01)

    run_coroutine(asyncio.wait_for(main(), timeout=30))
    assert len(rounds) >= 3  # the failure of the first round did not stop the schedule
    assert loop_thread[0] not in rounds  # never on the event loop's thread


def test_an_interval_of_zero_never_runs_the_job() -> None:
    rounds: list[int] = []

    async def main() -> None:
        async with every("off", 0, lambda: rounds.append(1)):
            await asyncio.sleep(0.1)

    run_coroutine(main())
    assert rounds == []


def test_closing_the_schedule_stops_the_job() -> None:
    rounds: list[int] = []

    async def main() -> None:
        async with every("short", 0.01, lambda: rounds.append(1)):
            while not rounds:
                await asyncio.sleep(0.01)
        after = len(rounds)
        await asyncio.sleep(0.1)
        assert len(rounds) <= after + 1  # at most a round already in its thread

    run_coroutine(asyncio.wait_for(main(), timeout=30))
