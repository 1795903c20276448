"""Signed webhooks: a JSON POST signed with HMAC-SHA256 over the timestamp and the body.

Headers: ``X-Gridgov-Timestamp`` (Unix seconds), ``X-Gridgov-Signature``
(``sha256=`` + hex HMAC of ``"<timestamp>." + body`` with
``GRIDGOV_NOTIFY_WEBHOOK_SECRET``) and ``Idempotency-Key``. A receiver checks
both with :func:`verify` and refuses a timestamp older than its tolerance, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from api.egress.guard import InternalAddress, check_url
from api.notify.channels import Message, Result, http_result
from api.settings import NotifySettings

TIMESTAMP_HEADER = "X-Gridgov-Timestamp"
SIGNATURE_HEADER = "X-Gridgov-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value.

    Examples
    --------
    >>> sign("k", 1700000000, b"{}")[:15]
    'sha256=c6ef4734'
    """
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float,
           tolerance_seconds: float = 300.0) -> bool:
    """Whether a received webhook is genuine and fresh (what a receiver checks).

    Examples
    --------
    >>> verify("k", "1700000000", b"{}", sign("k", 1700000000, b"{}"), now=1700000010)
    True
    >>> verify("k", "1700000000", b"{}", sign("k", 1700000000, b"{}"), now=1700001000)
    False
    """
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class WebhookChannel:
    """POST each message as JSON to the user's webhook URL, signed."""

    name = "webhook"

    def __init__(self, settings: NotifySettings) -> None:
        if settings.webhook_secret is None:
            raise ValueError("GRIDGOV_NOTIFY_WEBHOOK_SECRET is required for webhooks")
        self.secret = settings.webhook_secret.get_secret_value()
        self.timeout = settings.timeout_seconds
        self.allow_internal = settings.allow_internal_urls
        #: one client for every message: its connections are kept alive between sends
        self.client = httpx.Client(timeout=self.timeout)

    def send(self, message: Message) -> Result:
        """POST ``{key, kind, event_id, subject, body}`` to ``message.address``.

        An address that reaches an internal network is refused without a retry
        (``api.egress.guard``).
        """
        try:
            check_url(message.address, allow_internal=self.allow_internal)
        except InternalAddress as exc:
            return Result(False, exc.message, retry=False)
        body = json.dumps({"key": message.key, "kind": message.kind,
                           "event_id": message.event_id, "subject": message.subject,
                           "body": message.body}, ensure_ascii=False).encode()
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
                   SIGNATURE_HEADER: sign(self.secret, stamp, body),
                   "Idempotency-Key": message.key}
        try:
            resp = self.client.post(message.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Result(False, f"webhook: {exc!r}")
        return http_result(resp.status_code, resp.text)
