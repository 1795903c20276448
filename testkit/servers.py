"""Real uvicorn servers of a checkout, on a free port.

For HTTP clients that cannot use TestClient (GDAL's OAPIF driver, headless
Chromium, a killed server), and for the benches (ours, tipg, two checkouts).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from api.db.embedded import free_port

REPO = Path(__file__).resolve().parents[1]
APP = ("api.main:app_from_env", "--factory")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - our loopback URL
            return bool(resp.status == 200)
    except OSError:
        return False


def start_uvicorn(app: Sequence[str] = APP, env: Mapping[str, str] | None = None, *,
                  health: str = "/healthz", tree: Path = REPO, cwd: Path | None = None,
                  workers: int = 1, log: Path | None = None, access_log: Path | None = None,
                  timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``uvicorn app`` of the checkout ``tree``; return it and its base URL once healthy.

    ``env`` is added to this process's environment; the server's output goes to
    ``log`` (a temporary file by default), its access log (one line per request)
    to ``access_log`` when given. The caller stops it (:func:`stop`).
    """
    port = free_port()
    if log is None:
        fd, name = tempfile.mkstemp(prefix="gridgov-uvicorn-", suffix=".log")
        os.close(fd)
        log = Path(name)
    out = open(log, "ab")  # noqa: SIM115 - the server's, closed when it is started
    access = open(access_log, "ab") if access_log else out  # noqa: SIM115 - as out
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "info" if access_log else "warning"],
        cwd=cwd or tree, env={**os.environ, "PYTHONPATH": str(tree), **(env or {})},
        stdout=access, stderr=out)
    out.close()
    access.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _healthy(base + health):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"uvicorn {app[0]} on {base} did not become healthy in "
                               f"{timeout} s: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return proc, base


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a server (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def uvicorn_server(app: Sequence[str] = APP, env: Mapping[str, str] | None = None, *,
                   health: str = "/healthz", tree: Path = REPO, cwd: Path | None = None,
                   workers: int = 1, log: Path | None = None, access_log: Path | None = None,
                   timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """:func:`start_uvicorn` for a ``with`` block: its base URL and process id; stopped after."""
    proc, base = start_uvicorn(app, env, health=health, tree=tree, cwd=cwd, workers=workers,
                               log=log, access_log=access_log, timeout=timeout)
    try:
        yield base, proc.pid
    finally:
        stop(proc)


@contextmanager
def live_server(database_url: str, env: dict[str, str] | None = None,
                timeout: float = 60.0, access_log: Path | None = None, workers: int = 1,
                tree: Path = REPO) -> Iterator[str]:
    """Run gridgov (``api.main:app_from_env``) on ``database_url``; yield its base URL.

    With ``access_log``, uvicorn's access log (one line per request) is written there;
    ``workers`` processes serve the checkout ``tree`` (the benches compare two).
    """
    with uvicorn_server(APP, {"DATABASE_URL": database_url, **(env or {})}, tree=tree,
                        workers=workers, access_log=access_log, timeout=timeout) as (base, _):
        yield base


#: a bench's server: no escalation loop, a pool for concurrent load, and the intake rate
#: limit out of the way of the one address the load comes from
BENCH_SERVER_ENV = {"GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS": "0", "GRIDGOV_POOL_SIZE": "20",
                    "GRIDGOV_API_RATE_LIMIT_INTAKE": "100000000/minute"}


@contextmanager
def bench_server(url: str, workers: int = 1, env: Mapping[str, str] | None = None,
                 tree: Path = REPO) -> Iterator[tuple[str, int]]:
    """A bench's gridgov on ``url``: its base URL and process id.

    With :data:`BENCH_SERVER_ENV` (``env`` over it) and ``workers`` processes of the
    checkout ``tree``.
    """
    with uvicorn_server(APP, {"DATABASE_URL": url, **BENCH_SERVER_ENV, **(env or {})},
                        tree=tree, workers=workers, timeout=60) as served:
        yield served


#: a test server: no escalation loop, no intake rate limit (every test client is 127.0.0.1)
TEST_SERVER_ENV = {"GRIDGOV_EVENTS_ESCALATION_INTERVAL_SECONDS": "0",
                   "GRIDGOV_API_RATE_LIMIT_INTAKE": "off"}


def start_server(url: str, tmp: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """A test's gridgov on ``url`` with its home and log in ``tmp``: it and its base URL.

    ``env`` adds settings; the test stops (or kills) the server itself.
    """
    return start_uvicorn(APP, {"DATABASE_URL": url, "GRIDGOV_HOME": str(tmp),
                               **TEST_SERVER_ENV, **env}, log=tmp / "server.log")
