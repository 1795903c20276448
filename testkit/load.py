"""Load over HTTP for the benches: a lean keep-alive HTTP/1.1 client and a driver.

``run_load(base, make, concurrency, warmup, seconds)`` opens ``concurrency``
keep-alive connections to ``base`` (``http://HOST:PORT``), each sending the
requests ``make(worker, i) -> (method, path, body, headers)`` one after the
other, and returns the rate, latency percentiles and status counts of the span
after ``warmup``. The client is asyncio streams and string formatting only, so
the load generator takes little of the CPU the server would otherwise have
(the benches run client, server and PostgreSQL on one 2-core machine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: makes worker ``w``'s ``i``-th request: (method, path, body, headers)
RequestMaker = Callable[[int, int], tuple[str, str, bytes, dict[str, str]]]


class Connection:
    """One keep-alive connection sending requests one at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request and read the whole response."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None  # noqa: S101 - an invariant, for the type checker
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines
                       if line.lower().startswith("content-length:")), 0)
        data = await self.reader.readexactly(length) if length else b""
        return status, data


async def _drive(base: str, make: RequestMaker, concurrency: int, warmup: float, seconds: float
                 ) -> tuple[list[float], dict[int, int], int]:
    host, port = base.split("//")[1].split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    done = [0]  # requests answered, warm-up included
    start = time.perf_counter()
    measure_from, end = start + warmup, start + warmup + seconds

    async def one(worker: int) -> None:
        conn = Connection(host, int(port))
        i = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                return
            method, path, body, headers = make(worker, i)
            i += 1
            status, _ = await conn.request(method, path, body, headers)
            t1 = time.perf_counter()
            done[0] += 1
            if t0 >= measure_from:
                latencies.append(t1 - t0)
                statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(one(w) for w in range(concurrency)))
    return latencies, statuses, done[0]


def run_load(base: str, make: RequestMaker, concurrency: int, warmup: float, seconds: float
             ) -> dict[str, Any]:
    """Drive ``make(worker, i) -> (method, path, body, headers)``; summarise.

    ``rate``, ``p50``, ``p99`` and ``statuses`` are of the span after ``warmup``;
    ``requests`` counts all answered, warm-up included.
    """
    lat, statuses, done = asyncio.run(_drive(base, make, concurrency, warmup, seconds))
    arr = np.array(lat) * 1000
    return {"rate": len(arr) / seconds, "p50": float(np.percentile(arr, 50)) if len(arr) else 0,
            "p99": float(np.percentile(arr, 99)) if len(arr) else 0, "statuses": statuses,
            "requests": done}


__all__ = ["Connection", "RequestMaker", "run_load"]
