"""A real uvicorn server of a checkout, on a free port.

For HTTP clients that cannot use TestClient (GDAL's OAPIF driver, headless
Chromium) and for the benches.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(database_url: str, env: dict[str, str] | None = None,
                timeout: float = 60.0, access_log: Path | None = None, workers: int = 1,
                tree: Path = REPO) -> Iterator[str]:
    """Run ``uvicorn api.main:app_from_env`` on a free port; yield its base URL; stop it.

    With ``access_log``, uvicorn's access log (one line per request) is written there;
    ``workers`` processes serve the checkout ``tree`` (the benches compare two).
    """
    port = free_port()
    proc_env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(tree),
                **(env or {})}
    log = open(access_log or os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "info" if access_log else "warning"],
        cwd=tree, env=proc_env, stdout=log, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"uvicorn exited with {proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:  # noqa: S310
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on {base} did not become healthy in {timeout} s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        if proc.stderr:
            proc.stderr.close()
        log.close()
