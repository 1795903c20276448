"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

No extra package and no port: Chromium reads commands from fd 3 and writes
replies and events to fd 4, each message a JSON object ended by a NUL byte.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
         "--window-size=1280,800", "--remote-debugging-pipe")


class CDPError(RuntimeError):
    """A command failed or timed out."""


class Browser:
    """Headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.profile = tempfile.TemporaryDirectory(prefix="gridgov-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium expects the pipe on fds 3 (commands in) and 4 (messages out).
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(3, 4), preexec_fn=_dup_to(to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session_id: str | None = None

    # -- plumbing ---------------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    self.events.append(msg)
                    if msg.get("method") == "Target.attachedToTarget":
                        self._watch_child(msg["params"]["sessionId"])

    def _post(self, method: str, params: dict[str, Any], session_id: str) -> None:
        """Send a command without waiting for its reply (safe on the reader thread)."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
        msg = {"id": msg_id, "method": method, "params": params, "sessionId": session_id}
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")

    def _watch_child(self, session_id: str) -> None:
        # workers (MapLibre fetches tiles there) report their own network requests
        self._post("Network.enable", {}, session_id)
        self._post("Runtime.runIfWaitingForDebugger", {}, session_id)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = True, timeout: float = 30.0) -> dict[str, Any]:
        """Send one command and wait for its result."""
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[msg_id] = q
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session and self.session_id:
            msg["sessionId"] = self.session_id
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout)
        except queue.Empty:
            raise CDPError(f"{method}: no reply in {timeout} s") from None
        finally:
            with self._lock:
                self._replies.pop(msg_id, None)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    # -- page helpers -----------------------------------------------------------------------
    def open_page(self) -> None:
        """Attach to a fresh page target and enable the domains the tests use."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session_id = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True,
                                           "flatten": True})

    def navigate(self, url: str) -> None:
        """Load ``url``."""
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str, *, timeout: float = 30.0) -> Any:
        """Evaluate JavaScript (promises awaited) and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise CDPError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30.0, interval: float = 0.25) -> Any:
        """Evaluate ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise CDPError(f"timed out waiting for {expression!r} (last value {value!r})")

    def click(self, x: float, y: float) -> None:
        """A real mouse click at viewport coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def requested_urls(self) -> list[str]:
        """Every URL the page asked the network for so far."""
        return [e["params"]["request"]["url"] for e in list(self.events)
                if e.get("method") == "Network.requestWillBeSent"]

    def console_messages(self) -> list[str]:
        """Console and log messages of the page so far."""
        out = []
        for e in list(self.events):
            if e.get("method") == "Runtime.consoleAPICalled":
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in e["params"]["args"]))
            elif e.get("method") == "Log.entryAdded":
                entry = e["params"]["entry"]
                out.append(f"{entry['level']}: {entry['text']} {entry.get('url', '')}".strip())
            elif e.get("method") == "Runtime.exceptionThrown":
                out.append(f"exception: {e['params']['exceptionDetails']}")
        return out

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self.profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dup_to(read_fd: int, write_fd: int) -> Callable[[], None]:
    def setup() -> None:
        # move both ends above 4 first, so that neither is overwritten by the other's dup2
        high_r = fcntl.fcntl(read_fd, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(write_fd, fcntl.F_DUPFD, 10)
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)
    return setup
