"""Real local counterparts of the notification channels, on 127.0.0.1, for the tests.

- :class:`SmtpServer`: an ``aiosmtpd`` SMTP server keeping what it receives;
- :class:`HttpCounterpart`: one HTTP server holding the signed-webhook receiver
  (checks the signature and the timestamp, drops a repeated ``Idempotency-Key``),
  a fake SMS gateway and a fake WeCom API, each checking its request format and
  refusing what does not fit with the status or ``errcode`` the real one would.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import Message as Mail
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

from api.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SECRET = "webhook-test-secret"  # noqa: S105 - the counterparts' own, for tests
SMS_KEY = "sms-test-key"
CORP_ID, CORP_SECRET, AGENT_ID = "ww-test-corp", "corp-secret", 1000002


class _Keep:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        mail["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.mails.append(mail)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[Mail]]]:
    """An SMTP server on 127.0.0.1: its port and the list of mails it received."""
    keep = _Keep()
    with socket.socket() as probe:  # aiosmtpd checks its port by connecting: no port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, keep.mails
    finally:
        controller.stop()


class HttpCounterpart(ThreadingHTTPServer):
    """The webhook receiver and the SMS and WeCom fakes on one loopback port."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        #: deliveries accepted, by idempotency key (each key once)
        self.webhooks: dict[str, dict[str, Any]] = {}
        #: every webhook request seen (repeats too) and those refused
        self.webhook_requests: list[str] = []
        self.refused: list[str] = []
        self.sms: list[dict[str, Any]] = []
        self.wecom: list[dict[str, Any]] = []
        self.tokens_issued = 0
        #: answer webhooks with this status (tests of retries) when set
        self.fail_with: int | None = None
        #: set to make the webhook receiver wait (a delivery in flight) until released
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: HttpCounterpart

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path != "/cgi-bin/gettoken":
            return self._answer(404, {})
        if q.get("corpid") != [CORP_ID] or q.get("corpsecret") != [CORP_SECRET]:
            return self._answer(200, {"errcode": 40013, "errmsg": "invalid corpid"})
        self.server.tokens_issued += 1
        self._answer(200, {"errcode": 0, "errmsg": "ok", "expires_in": 7200,
                           "access_token": f"token-{self.server.tokens_issued}"})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        routes = {"/hook": self._webhook, "/v1/sms/send": self._sms,
                  "/cgi-bin/message/send": self._wecom}
        handler = routes.get(url.path)
        if handler is None:
            return self._answer(404, {})
        handler(body, parse_qs(url.query))

    def _webhook(self, body: bytes, _: dict[str, list[str]]) -> None:
        srv = self.server
        key = self.headers.get("Idempotency-Key", "")
        srv.webhook_requests.append(key)
        if not verify(SECRET, self.headers.get(TIMESTAMP_HEADER, ""), body,
                      self.headers.get(SIGNATURE_HEADER, ""), now=time.time(),
                      tolerance_seconds=300):
            srv.refused.append(key)
            return self._answer(401, {"error": "bad signature or stale timestamp"})
        if srv.hold.is_set():  # a delivery in flight: the test kills the sender now
            srv.hold.clear()
            srv.webhooks.setdefault(key, json.loads(body))  # received, not yet answered
            srv.holding.set()
            srv.release.wait(60)
            return self._answer(200, {"ok": True})
        if srv.fail_with is not None:
            return self._answer(srv.fail_with, {"error": "failing on purpose"})
        srv.webhooks.setdefault(key, json.loads(body))  # a repeated key is dropped
        self._answer(200, {"ok": True})

    def _sms(self, body: bytes, _: dict[str, list[str]]) -> None:
        if self.headers.get("Authorization") != f"Bearer {SMS_KEY}":
            return self._answer(401, {"error": "bad key"})
        data = json.loads(body)
        ok = (set(data) == {"to", "text", "client_ref"}
              and re.fullmatch(r"\+?\d{6,15}", str(data["to"])) and data["text"])
        if not ok:
            return self._answer(400, {"error": "bad request"})
        self.server.sms.append(data)
        self._answer(200, {"id": len(self.server.sms)})

    def _wecom(self, body: bytes, q: dict[str, list[str]]) -> None:
        if q.get("access_token") != [f"token-{self.server.tokens_issued}"]:
            return self._answer(200, {"errcode": 40014, "errmsg": "invalid access_token"})
        data = json.loads(body)
        ok = (data.get("msgtype") == "text" and isinstance(data.get("touser"), str)
              and data.get("agentid") == AGENT_ID
              and isinstance(data.get("text", {}).get("content"), str))
        if not ok:
            return self._answer(200, {"errcode": 40008, "errmsg": "invalid message type"})
        self.server.wecom.append(data)
        self._answer(200, {"errcode": 0, "errmsg": "ok", "msgid": f"m{len(self.server.wecom)}"})


@contextmanager
def http_counterpart() -> Iterator[HttpCounterpart]:
    """The HTTP counterparts, served from a thread while the block runs."""
    server = HttpCounterpart()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
